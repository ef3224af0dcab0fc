"""scikit-learn estimators around the GLAI block: GLAIClassifier and GLAIRegressor.

Their training parameters are the fields of :class:`glai.training.config.FitConfig` (the
switch rule's inline), with the config's defaults; :data:`ESTIMATOR_NAMES` is the one place
where an estimator parameter is named differently from its setting.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
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
    weighted_accuracy,
    weighted_cross_entropy,
    weighted_mse,
    weighted_r2,
)
from glai.sklearn.samples import Samples, positive_rows
from glai.training.config import (
    DEFAULT_HIDDEN_FEATURES,
    FitConfig,
    OptimizerFactory,
    flat_defaults,
    flat_fields,
)
from glai.training.fit_data import MIN_VALIDATION
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


class _GLAIEstimator(BaseEstimator):
    """Shared fit/forward logic; subclasses define how targets are checked, encoded,
    stratified and scored."""

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
        prune_threshold: float | None = DEFAULTS["prune_threshold"],
        prune_patience: int = DEFAULTS["prune_patience"],
        prune_by: str = DEFAULTS["prune_by"],
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

        The data are taken as a weighted set of distinct samples (see
        :mod:`glai.sklearn.samples`): a row's weight counts as copies of it, so integer
        weights train exactly as repeated rows, and the order of the rows does not matter.
        A ``validation_fraction`` of the distinct samples is held out for early stopping
        and the validation scores by the split of :func:`glai.fit` (stratified by class
        for a classifier, every class keeping training samples); with too few samples for
        that (fewer than :data:`~glai.training.fit_data.MIN_VALIDATION` to hold out) it
        trains on all of them without validation, and warns.

        Args:
            sample_weight: (n_samples,) non-negative weights, or ``None`` (weight 1 each).
                The training loss and the validation scores are then weighted means over
                the samples; equal weights train exactly as no weights.
        """
        X, y = self._validate_training_data(X, y)
        config = self.fit_config()
        X, y, weights = positive_rows(X, y, _checked_weights(sample_weight, X))
        samples = Samples.merge(X, self._encode_targets(y), weights)
        targets = self._training_targets(samples)
        fraction = config.validation_fraction
        train, val = samples.split(targets, fraction, self._classes(), config.seed)
        # the split is made here (glai.fit's own would not see the weights)
        config = config.replace(validation_fraction=0)
        if val is None:
            config = config.replace(early_stopping=None)
            if fraction > 0:
                _warn_too_few(len(samples), fraction)
        with torch.random.fork_rng():
            if config.seed is not None:
                torch.manual_seed(config.seed)
            self.model_ = GLAI(X.shape[1], self.hidden_features, self._out_features(targets))
        loss, metric = self._objective(weighted=samples.weighted)
        self.history_ = fit(self.model_, train, val, config, loss=loss, metric=metric)
        return self

    def _validate_training_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        return validate_data(self, X, y, dtype=np.float32)

    def _classes(self) -> int | None:
        """Number of classes to stratify the validation split by (``None``: at random)."""
        return None

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
        """Raw outputs of the trained model, (n_samples, out_features), computed in float64
        on the CPU by a float64 copy of the model, as MLPClassifier computes: in float32,
        matrix products are blocked by the batch size, so a row's outputs would depend on
        the rows predicted with it (by about 1e-6); in float64 by about 1e-15."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        model = copy.deepcopy(self.model_).to("cpu", torch.float64).eval()
        batches = torch.from_numpy(X).double().split(_PREDICT_BATCH)
        return torch.cat([model(batch) for batch in batches]).numpy()


def _warn_too_few(samples: int, fraction: float) -> None:
    warnings.warn(
        f"{samples} distinct sample(s) are too few to hold out validation_fraction="
        f"{fraction} (at least {MIN_VALIDATION} validation samples, every class keeping some "
        "for training): training on all of them, without validation or early stopping",
        UserWarning,
        stacklevel=3,
    )


def _checked_weights(sample_weight, X: np.ndarray) -> np.ndarray | None:
    """``sample_weight`` checked (finite, non-negative, not all zero) as float64, or
    ``None`` without one."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


class GLAIClassifier(ClassifierMixin, _GLAIEstimator):
    """Classifier with a GLAI head, trained by :func:`glai.fit` (cross-entropy).

    Args:
        hidden_features: GLAI hidden width or widths.
        validation_fraction: share of the distinct training samples held out for early
            stopping (stratified, by :func:`glai.fit`'s split); 0 trains on everything
            without early stopping.
        **settings: every training setting of :class:`glai.training.config.FitConfig`
            (the switch rule's ``threshold``, ``patience``, ``max_structural_epochs``,
            ``relative``, ``probe_size``, ``min_structural_steps``, ``switch_on_plateau``,
            ``measure`` inline), with its default; ``seed`` is called
            ``random_state`` (it also seeds the weights and the split) and ``progress``
            ``verbose``, as :data:`ESTIMATOR_NAMES` says.

    Attributes:
        classes_: the class labels seen in ``fit`` (on rows of positive weight).
        model_: the trained :class:`glai.GLAI` (narrower than ``hidden_features`` where
            adaptive pruning, ``prune_threshold``, removed units).
        history_: its :class:`glai.History`.
        n_iter_: epochs trained, both phases together.
        loss_curve_: mean training cross-entropy of every epoch.
        validation_scores_: accuracy on the validation split after every epoch (weighted
            by ``sample_weight`` and copies of rows), or ``None`` without one.
        best_validation_score_: that accuracy for the epoch whose weights were kept, or
            ``None``.
    """

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        """Class indices (n,) int64 of the labels ``y`` (rows of positive weight), which
        make ``classes_``."""
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"GLAIClassifier needs at least 2 classes in y with a positive sample_weight "
                f"(or none given), got one class: {self.classes_.tolist()[0]!r}"
            )
        return encoded.astype(np.int64)

    def _training_targets(self, samples: Samples) -> torch.Tensor:
        return torch.from_numpy(samples.targets)

    def _out_features(self, targets: torch.Tensor) -> int:
        return len(self.classes_)

    def _classes(self) -> int:
        return len(self.classes_)

    def _objective(self, weighted: bool) -> tuple[str | LossFunction, MetricFunction]:
        if weighted:
            return weighted_cross_entropy, weighted_accuracy
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

    Targets are standardised for training (by their mean and standard deviation, weighted
    by ``sample_weight`` and copies of rows) and mapped back in :meth:`predict`. Takes the
    same arguments as :class:`GLAIClassifier`; ``y`` may be (n,) or (n, n_outputs), and a
    column (n, 1) is taken as (n,) with a ``DataConversionWarning``, as scikit-learn does.

    Attributes:
        model_: the trained :class:`glai.GLAI` (narrower than ``hidden_features`` where
            adaptive pruning, ``prune_threshold``, removed units).
        history_: its :class:`glai.History`.
        n_iter_: epochs trained, both phases together.
        loss_curve_: mean training squared error of every epoch, on standardised targets.
        validation_scores_: R² on the validation split after every epoch (weighted by
            ``sample_weight`` and copies of rows, averaged over outputs as
            :func:`sklearn.metrics.r2_score` does; standardising does not change it), or
            ``None`` without one. Early stopping and the kept
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

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        """Targets as (n, n_outputs) float64."""
        y = np.asarray(y, dtype=np.float64)
        self.single_output_ = y.ndim == 1
        return y.reshape(len(y), -1)

    def _training_targets(self, samples: Samples) -> torch.Tensor:
        """The targets standardised by their weighted mean and standard deviation."""
        y, weights = samples.targets, samples.weights
        mean = np.average(y, axis=0, weights=weights)
        scale = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=weights))
        self.y_mean_, self.y_scale_ = mean.astype(np.float32), scale.astype(np.float32)
        self.y_scale_[self.y_scale_ == 0] = 1.0
        return torch.from_numpy(((y - self.y_mean_) / self.y_scale_).astype(np.float32))

    def _out_features(self, targets: torch.Tensor) -> int:
        return targets.shape[1]

    def _objective(self, weighted: bool) -> tuple[str | LossFunction, MetricFunction]:
        if weighted:
            return weighted_mse, weighted_r2
        return "mse", r2

    def predict(self, X) -> np.ndarray:
        """Predictions, (n_samples,) or (n_samples, n_outputs) like the ``y`` of ``fit``."""
        prediction = self._forward(X) * self.y_scale_ + self.y_mean_
        return prediction[:, 0] if self.single_output_ else prediction
