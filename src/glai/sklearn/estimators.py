"""scikit-learn estimators around the GLAI block: GLAIClassifier and GLAIRegressor.

Their training parameters are the fields of :class:`glai.training.config.FitConfig` (the
switch rule's inline), with the config's defaults; :data:`ESTIMATOR_NAMES` is the one place
where an estimator parameter is named differently from its setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from glai.nn.block import GLAI
from glai.training.config import FitConfig, OptimizerFactory, flat_defaults, flat_fields
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
    """Shared fit/forward logic; subclasses define how targets are encoded and decoded."""

    _loss = "cross_entropy"

    def __init__(
        self,
        hidden_features: int | Sequence[int] = 128,
        *,
        validation_fraction: float = 0.1,
        epochs: int = DEFAULTS["epochs"],
        batch_size: int = DEFAULTS["batch_size"],
        lr: float | None = DEFAULTS["lr"],
        structural_lr: float = DEFAULTS["structural_lr"],
        schedule: str = DEFAULTS["schedule"],
        quantitative: str = DEFAULTS["quantitative"],
        optimizer: str | OptimizerFactory = DEFAULTS["optimizer"],
        weight_decay: float = DEFAULTS["weight_decay"],
        early_stopping: int | None = DEFAULTS["early_stopping"],
        threshold: float = DEFAULTS["threshold"],
        patience: int = DEFAULTS["patience"],
        max_structural_epochs: int = DEFAULTS["max_structural_epochs"],
        relative: bool = DEFAULTS["relative"],
        probe_size: int = DEFAULTS["probe_size"],
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

    def fit(self, X, y):
        """Train a GLAI on ``X`` (n_samples, n_features) and ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=self._loss == "mse")
        targets = self._encode_targets(y)
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )
        config = self.fit_config()
        x = torch.from_numpy(X)
        train, val = (x, targets), None
        if self.validation_fraction > 0:
            train, val = self._split(x, targets, config.seed)
        else:
            config = config.replace(early_stopping=None)
        with torch.random.fork_rng():
            if config.seed is not None:
                torch.manual_seed(config.seed)
            self.model_ = GLAI(X.shape[1], self.hidden_features, self._out_features(targets))
        self.history_ = fit(self.model_, train, val, config, loss=self._loss)
        return self

    def _split(self, x: torch.Tensor, targets: torch.Tensor, seed: int | None):
        stratify = targets.numpy() if self._loss == "cross_entropy" else None
        try:
            parts = train_test_split(
                x,
                targets,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=stratify,
            )
        except ValueError:  # a class too small to stratify: split at random
            parts = train_test_split(
                x, targets, test_size=self.validation_fraction, random_state=seed
            )
        x_train, x_val, y_train, y_val = parts
        return (x_train, y_train), (x_val, y_val)

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


class GLAIClassifier(ClassifierMixin, _GLAIEstimator):
    """Classifier with a GLAI head, trained by :func:`glai.fit` (cross-entropy).

    Args:
        hidden_features: GLAI hidden width or widths.
        validation_fraction: share of the training data held out for early stopping
            (stratified); 0 trains on everything without early stopping.
        **settings: every training setting of :class:`glai.training.config.FitConfig`
            (the switch rule's ``threshold``, ``patience``, ``max_structural_epochs``,
            ``relative``, ``probe_size`` inline), with its default; ``seed`` is called
            ``random_state`` (it also seeds the weights and the split) and ``progress``
            ``verbose``, as :data:`ESTIMATOR_NAMES` says.

    Attributes:
        classes_: the class labels seen in ``fit``.
        model_: the trained :class:`glai.GLAI`.
        history_: its :class:`glai.History`.
    """

    def _encode_targets(self, y: np.ndarray) -> torch.Tensor:
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"GLAIClassifier needs at least 2 classes in y, got only {self.classes_[0]!r}"
            )
        return torch.from_numpy(encoded.astype(np.int64))

    def _out_features(self, targets: torch.Tensor) -> int:
        return len(self.classes_)

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

    Targets are standardised for training and mapped back in :meth:`predict`. Takes the
    same arguments as :class:`GLAIClassifier`; ``y`` may be (n,) or (n, n_outputs).

    Attributes:
        model_: the trained :class:`glai.GLAI`.
        history_: its :class:`glai.History`.
    """

    _loss = "mse"

    def _encode_targets(self, y: np.ndarray) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float32)
        self.single_output_ = y.ndim == 1
        y = y.reshape(len(y), -1)
        self.y_mean_, self.y_scale_ = y.mean(0), y.std(0)
        self.y_scale_[self.y_scale_ == 0] = 1.0
        return torch.from_numpy((y - self.y_mean_) / self.y_scale_)

    def _out_features(self, targets: torch.Tensor) -> int:
        return targets.shape[1]

    def predict(self, X) -> np.ndarray:
        """Predictions, (n_samples,) or (n_samples, n_outputs) like the ``y`` of ``fit``."""
        prediction = self._forward(X) * self.y_scale_ + self.y_mean_
        return prediction[:, 0] if self.single_output_ else prediction
