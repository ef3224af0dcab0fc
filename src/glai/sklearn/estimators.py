"""scikit-learn estimators around the GLAI block: GLAIClassifier and GLAIRegressor.

Their training parameters are the fields of :class:`glai.training.config.FitConfig` (the
switch rule's inline), with the config's defaults; :data:`ESTIMATOR_NAMES` is the one place
where an estimator parameter is named differently from its setting.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from glai.nn.block import GLAI
from glai.sklearn.objectives import (
    r2,
    weighted_cross_entropy,
    weighted_mse,
    with_weights,
    without_weights,
)
from glai.training.config import (
    DEFAULT_HIDDEN_FEATURES,
    FitConfig,
    OptimizerFactory,
    flat_defaults,
    flat_fields,
)
from glai.training.history import History
from glai.training.metrics import MetricFunction, accuracy
from glai.training.objective import LossFunction
from glai.training.trainer import fit

_PREDICT_BATCH = 8192

ESTIMATOR_NAMES: dict[str, str] = {"seed": "random_state", "progress": "verbose"}
"""Training setting -> estimator parameter, where scikit-learn convention names it otherwise."""


def estimator_params(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Training settings (flat :class:`FitConfig` names) as estimator parameters."""
    return {ESTIMATOR_NAMES.get(name, name): value for name, value in settings.items()}


DEFAULTS: dict[str, Any] = estimator_params(flat_defaults())
"""Every training parameter's default, by estimator parameter name (from the config)."""


Part = tuple[torch.Tensor, ...]
"""Inputs, targets and (for a weighted fit) weights of the training or validation split."""


class _GLAIEstimator(BaseEstimator):
    """Shared fit/forward logic; subclasses define how targets are checked, encoded, split
    and scored."""

    def __init__(
        self,
        hidden_features: int | Sequence[int] = DEFAULT_HIDDEN_FEATURES,
        *,
        validation_fraction: float = DEFAULTS["validation_fraction"],
        epochs: int = DEFAULTS["epochs"],
        batch_size: int = DEFAULTS["batch_size"],
        lr: float | None = DEFAULTS["lr"],
        structural_lr: float = DEFAULTS["structural_lr"],
        schedule: str = DEFAULTS["schedule"],
        quantitative: str = DEFAULTS["quantitative"],
        solver: str = DEFAULTS["solver"],
        output_start: str = DEFAULTS["output_start"],
        optimizer: str | OptimizerFactory = DEFAULTS["optimizer"],
        weight_decay: float = DEFAULTS["weight_decay"],
        early_stopping: int | None = DEFAULTS["early_stopping"],
        early_stopping_on: str = DEFAULTS["early_stopping_on"],
        early_stopping_tol: float = DEFAULTS["early_stopping_tol"],
        threshold: float = DEFAULTS["threshold"],
        patience: int = DEFAULTS["patience"],
        max_structural_epochs: int = DEFAULTS["max_structural_epochs"],
        relative: bool = DEFAULTS["relative"],
        probe_size: int = DEFAULTS["probe_size"],
        min_structural_steps: int = DEFAULTS["min_structural_steps"],
        switch_on_plateau: bool = DEFAULTS["switch_on_plateau"],
        measure: str = DEFAULTS["measure"],
        random_state: int | None = DEFAULTS["random_state"],
        device: str | None = DEFAULTS["device"],
        verbose: bool = DEFAULTS["verbose"],
    ) -> None:
        # scikit-learn keeps every argument as the attribute of its name, unvalidated
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    def fit_config(self) -> FitConfig:
        """The training settings that :meth:`fit` passes to :func:`glai.fit`.

        Raises:
            ValueError, TypeError: a training parameter is invalid (named by its setting).
        """
        return FitConfig().replace(
            **{
                item.name: getattr(self, ESTIMATOR_NAMES.get(item.name, item.name))
                for item in flat_fields()
            }
        )

    def fit(self, X, y, sample_weight=None):
        """Train a GLAI on ``X`` (n_samples, n_features) and ``y``; returns ``self``.

        A ``validation_fraction`` of the samples is held out for early stopping and the
        validation scores; when the samples are too few to split (one sample, or a class
        that would be missing from training) it trains on all of them without validation,
        and warns.

        Args:
            sample_weight: (n_samples,) non-negative weights, or ``None``. The training
                loss is then the weighted mean of the samples' losses (weights scaled to
                mean 1 over the training split); validation is unweighted. Equal weights
                train exactly as no weights.
        """
        X, y = self._validate_training_data(X, y)
        config = self.fit_config()
        weights = _nonuniform_weights(sample_weight, X)
        targets = self._encode_targets(y, weights)
        train, val = self._split(torch.from_numpy(X), targets, weights, config)
        # the split is made here (glai.fit's own would not see classes or weights)
        config = config.replace(validation_fraction=0)
        if val is None:
            config = config.replace(early_stopping=None)
        if weights is not None:
            train, val = _weights_as_targets(train, val)
        with torch.random.fork_rng():
            if config.seed is not None:
                torch.manual_seed(config.seed)
            self.model_ = GLAI(X.shape[1], self.hidden_features, self._out_features(targets))
        loss, metric = self._objective(weighted=weights is not None)
        self.history_ = fit(self.model_, train, val, config, loss=loss, metric=metric)
        return self

    def _validate_training_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        return validate_data(self, X, y, dtype=np.float32)

    def _split(
        self,
        x: torch.Tensor,
        targets: torch.Tensor,
        weights: np.ndarray | None,
        config: FitConfig,
    ) -> tuple[Part, Part | None]:
        """The training and validation parts of ``(x, targets[, weights])``: stratified
        where the classes allow, else at random if training keeps every class; no
        validation part if ``validation_fraction`` is 0 or no such split exists."""
        arrays = (x, targets) if weights is None else (x, targets, torch.from_numpy(weights))
        fraction = config.validation_fraction
        if fraction == 0:
            return arrays, None
        stratify = self._stratify(targets)
        for labels in [None] if stratify is None else [stratify, None]:
            try:
                parts = train_test_split(
                    *arrays, test_size=fraction, random_state=config.seed, stratify=labels
                )
            except ValueError:  # too few samples, or a class too small to stratify
                continue
            train, val = tuple(parts[0::2]), tuple(parts[1::2])
            if self._trainable(train[1]):
                return train, val
        warnings.warn(
            f"{len(x)} sample(s) are too few to hold out validation_fraction={fraction} "
            "(and train on every class): training on all of them, without validation or "
            "early stopping",
            UserWarning,
            stacklevel=3,
        )
        return arrays, None

    def _stratify(self, targets: torch.Tensor) -> np.ndarray | None:
        """Labels to stratify the validation split by (``None``: split at random)."""
        return None

    def _trainable(self, train_targets: torch.Tensor) -> bool:
        """Whether a training split with these targets is worth training on."""
        return True

    def _fitted_history(self) -> History:
        check_is_fitted(self, "history_")
        return self.history_

    @property
    def n_iter_(self) -> int:
        """Epochs trained, structural and quantitative together (``len(history_)``)."""
        return len(self._fitted_history())

    @property
    def loss_curve_(self) -> list[float]:
        """Mean training loss of every epoch (weighted for a weighted fit)."""
        return self._fitted_history().column("train_loss")

    @property
    def validation_scores_(self) -> list[float] | None:
        """Validation score of every epoch (see the class's docstring); ``None`` when
        training had no validation split."""
        scores = self._fitted_history().column("val_metric")
        return None if None in scores else scores

    @property
    def best_validation_score_(self) -> float | None:
        """Validation score of the epoch whose weights were kept (``history_.best_epoch``:
        the best by ``early_stopping_on`` from the switch on); ``None`` without a
        validation split."""
        return self._fitted_history().best_metric

    @torch.no_grad()
    def _forward(self, X) -> np.ndarray:
        """Raw outputs of the trained model, (n_samples, out_features)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        self.model_.eval()
        device = self.model_.paths[0].weight.device
        outputs = [
            self.model_(batch.to(device)).cpu()
            for batch in torch.from_numpy(X).split(_PREDICT_BATCH)
        ]
        return torch.cat(outputs).double().numpy()


def _nonuniform_weights(sample_weight, X: np.ndarray) -> np.ndarray | None:
    """``sample_weight`` checked (finite, non-negative, not all zero), or ``None`` when it
    is absent or equal for every sample: equal weights train exactly as no weights."""
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    return None if np.all(weights == weights[0]) else weights


def _weights_as_targets(train: Part, val: Part | None) -> tuple[Part, Part | None]:
    """``(x, targets, weights)`` splits as ``(x, targets with weights)``, what the weighted
    losses read: training weights scaled to mean 1, validation weights all 1."""
    x, targets, weights = train
    if not bool(weights.any()):
        raise ValueError(
            "sample_weight is zero for every sample of the training split: give some "
            "weight to more samples, or set validation_fraction=0"
        )
    train = (x, with_weights(targets, weights / weights.mean()))
    if val is not None:
        x, targets, _ = val
        val = (x, with_weights(targets, torch.ones(len(targets))))
    return train, val


class GLAIClassifier(ClassifierMixin, _GLAIEstimator):
    """Classifier with a GLAI head, trained by :func:`glai.fit` (cross-entropy).

    Args:
        hidden_features: GLAI hidden width or widths.
        validation_fraction: share of the training data held out for early stopping
            (stratified); 0 trains on everything without early stopping.
        **settings: every training setting of :class:`glai.training.config.FitConfig`
            (the switch rule's ``threshold``, ``patience``, ``max_structural_epochs``,
            ``relative``, ``probe_size``, ``min_structural_steps``, ``switch_on_plateau``,
            ``measure`` inline), with its default; ``seed`` is called
            ``random_state`` (it also seeds the weights and the split) and ``progress``
            ``verbose``, as :data:`ESTIMATOR_NAMES` says.

    Attributes:
        classes_: the class labels seen in ``fit``.
        model_: the trained :class:`glai.GLAI`.
        history_: its :class:`glai.History`.
        n_iter_: epochs trained, both phases together.
        loss_curve_: mean training cross-entropy of every epoch.
        validation_scores_: accuracy on the validation split after every epoch (unweighted),
            or ``None`` without one.
        best_validation_score_: that accuracy for the epoch whose weights were kept, or
            ``None``.
    """

    def _encode_targets(self, y: np.ndarray, weights: np.ndarray | None) -> torch.Tensor:
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        weighed = self.classes_ if weights is None else np.unique(y[weights > 0])
        if len(weighed) < 2:
            which = "" if weights is None else " with a positive sample_weight"
            raise ValueError(
                f"GLAIClassifier needs at least 2 classes in y{which}, got one class: "
                f"{weighed.tolist()[0]!r}"
            )
        return torch.from_numpy(encoded.astype(np.int64))

    def _out_features(self, targets: torch.Tensor) -> int:
        return len(self.classes_)

    def _stratify(self, targets: torch.Tensor) -> np.ndarray:
        return targets.numpy()

    def _trainable(self, train_targets: torch.Tensor) -> bool:
        return len(torch.unique(train_targets)) == len(self.classes_)

    def _objective(self, weighted: bool) -> tuple[str | LossFunction, MetricFunction]:
        if weighted:
            return weighted_cross_entropy, without_weights(accuracy, classes=True)
        return "cross_entropy", accuracy

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes), rows summing to 1."""
        return torch.softmax(torch.from_numpy(self._forward(X)), dim=1).numpy()

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy on ``(X, y)``; labels never seen in ``fit`` are an error."""
        check_is_fitted(self, "classes_")
        unseen = np.setdiff1d(np.asarray(y), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y holds labels never seen in fit: {unseen[:5].tolist()}; "
                f"known classes: {self.classes_.tolist()}"
            )
        return super().score(X, y, sample_weight)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, (n_samples,)."""
        outputs = self._forward(X)
        return self.classes_[outputs.argmax(1)]


class GLAIRegressor(RegressorMixin, _GLAIEstimator):
    """Regressor with a GLAI head, trained by :func:`glai.fit` (mean squared error).

    Targets are standardised for training (by their weighted mean and standard deviation
    when ``fit`` is given ``sample_weight``) and mapped back in :meth:`predict`. Takes the
    same arguments as :class:`GLAIClassifier`; ``y`` may be (n,) or (n, n_outputs), and a
    column (n, 1) is taken as (n,) with a ``DataConversionWarning``, as scikit-learn does.

    Attributes:
        model_: the trained :class:`glai.GLAI`.
        history_: its :class:`glai.History`.
        n_iter_: epochs trained, both phases together.
        loss_curve_: mean training squared error of every epoch, on standardised targets.
        validation_scores_: R² on the validation split after every epoch (unweighted,
            averaged over outputs as :func:`sklearn.metrics.r2_score` does; standardising
            does not change it), or ``None`` without one. Early stopping and the kept
            weights follow the validation loss unless ``early_stopping_on="metric"``.
        best_validation_score_: that R² for the epoch whose weights were kept, or ``None``.
    """

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate_training_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _encode_targets(self, y: np.ndarray, weights: np.ndarray | None) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float64)
        self.single_output_ = y.ndim == 1
        y = y.reshape(len(y), -1)
        mean = np.average(y, axis=0, weights=weights)
        scale = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=weights))
        self.y_mean_, self.y_scale_ = mean.astype(np.float32), scale.astype(np.float32)
        self.y_scale_[self.y_scale_ == 0] = 1.0
        return torch.from_numpy(((y - self.y_mean_) / self.y_scale_).astype(np.float32))

    def _out_features(self, targets: torch.Tensor) -> int:
        return targets.shape[1]

    def _objective(self, weighted: bool) -> tuple[str | LossFunction, MetricFunction]:
        if weighted:
            return weighted_mse, without_weights(r2, classes=False)
        return "mse", r2

    def predict(self, X) -> np.ndarray:
        """Predictions, (n_samples,) or (n_samples, n_outputs) like the ``y`` of ``fit``."""
        prediction = self._forward(X) * self.y_scale_ + self.y_mean_
        return prediction[:, 0] if self.single_output_ else prediction
