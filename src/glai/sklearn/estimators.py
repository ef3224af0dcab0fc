"""scikit-learn estimators around the GLAI block: GLAIClassifier and GLAIRegressor."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from glai.io.models import load, read_info, save
from glai.nn.block import GLAI
from glai.nn.monitor import StructureMonitor
from glai.training.history import History
from glai.training.trainer import fit

_PREDICT_BATCH = 8192


class _GLAIEstimator(BaseEstimator):
    """Shared fit/forward logic; subclasses define how targets are encoded and decoded."""

    _loss = "cross_entropy"

    def __init__(
        self,
        hidden_features: int | Sequence[int] = 128,
        *,
        epochs: int = 100,
        batch_size: int = 128,
        lr: float | None = None,
        structural_lr: float = 1e-3,
        schedule: str = "cosine",
        quantitative: str = "full",
        threshold: float = 0.15,
        patience: int = 2,
        max_structural_epochs: int = 20,
        early_stopping: int | None = 10,
        validation_fraction: float = 0.1,
        weight_decay: float = 0.0,
        device: str | None = None,
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_features = hidden_features
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.structural_lr = structural_lr
        self.schedule = schedule
        self.quantitative = quantitative
        self.threshold = threshold
        self.patience = patience
        self.max_structural_epochs = max_structural_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Train a GLAI on ``X`` (n_samples, n_features) and ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=self._loss == "mse")
        targets = self._encode_targets(y)
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )
        x = torch.from_numpy(X)
        train, val = (x, targets), None
        if self.validation_fraction > 0:
            train, val = self._split(x, targets)
        with torch.random.fork_rng():
            if self.random_state is not None:
                torch.manual_seed(self.random_state)
            self.model_ = GLAI(X.shape[1], self.hidden_features, self._out_features(targets))
        self.history_ = fit(
            self.model_,
            train,
            val,
            loss=self._loss,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            structural_lr=self.structural_lr,
            schedule=self.schedule,
            quantitative=self.quantitative,
            weight_decay=self.weight_decay,
            monitor=StructureMonitor(
                threshold=self.threshold,
                patience=self.patience,
                max_structural_epochs=self.max_structural_epochs,
            ),
            early_stopping=self.early_stopping if val is not None else None,
            seed=self.random_state,
            device=self.device,
            progress=self.verbose,
        )
        return self

    def _split(self, x: torch.Tensor, targets: torch.Tensor):
        stratify = targets.numpy() if self._loss == "cross_entropy" else None
        try:
            parts = train_test_split(
                x,
                targets,
                test_size=self.validation_fraction,
                random_state=self.random_state,
                stratify=stratify,
            )
        except ValueError:  # a class too small to stratify: split at random
            parts = train_test_split(
                x, targets, test_size=self.validation_fraction, random_state=self.random_state
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
        epochs: maximum epochs of the quantitative phase.
        batch_size: training batch size.
        lr: learning rate of the quantitative phase (``None``: ``structural_lr / 10``).
        structural_lr: learning rate of the structural phase.
        schedule: quantitative-phase schedule, ``"cosine"`` or ``"constant"``.
        quantitative: ``"full"`` or ``"rowspace"`` (see :func:`glai.fit`).
        threshold, patience, max_structural_epochs: the switch rule of
            :class:`glai.StructureMonitor`.
        early_stopping: epochs without validation improvement before stopping.
        validation_fraction: share of the training data held out for early stopping
            (stratified); 0 trains on everything without early stopping.
        weight_decay: optimiser weight decay.
        device: torch device to train on (default CPU).
        random_state: seed of the weights, the split and the shuffling.
        verbose: show a progress bar.

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


_ESTIMATORS = {"GLAIClassifier": GLAIClassifier, "GLAIRegressor": GLAIRegressor}


def save_estimator(estimator: _GLAIEstimator, path: str | os.PathLike) -> None:
    """Write a fitted estimator as a glai model file (see :func:`glai.save`).

    Its parameters, classes or target scaling and a summary of its training history are
    kept as JSON next to the weights; :func:`load_estimator` restores it.
    """
    check_is_fitted(estimator, "model_")
    kind = type(estimator).__name__
    if kind not in _ESTIMATORS:
        raise TypeError(f"save_estimator expects GLAIClassifier or GLAIRegressor, got {kind}")
    state = {"n_features_in_": int(estimator.n_features_in_)}
    if isinstance(estimator, GLAIClassifier):
        state["classes_"] = estimator.classes_.tolist()
    else:
        state.update(
            y_mean_=estimator.y_mean_.tolist(),
            y_scale_=estimator.y_scale_.tolist(),
            single_output_=estimator.single_output_,
        )
    info = {
        "estimator": kind,
        "params": estimator.get_params(),
        "state": state,
        "history": estimator.history_.to_dict(),
    }
    save(estimator.model_, path, info=info)


def load_estimator(path: str | os.PathLike) -> _GLAIEstimator:
    """Restore an estimator written by :func:`save_estimator`, ready to ``predict``."""
    info = read_info(path)["info"]
    if info.get("estimator") not in _ESTIMATORS:
        raise ValueError(f"{path} holds a glai model but no fitted estimator")
    estimator = _ESTIMATORS[info["estimator"]](**info["params"])
    estimator.model_ = load(path)
    state = info["state"]
    estimator.n_features_in_ = state["n_features_in_"]
    if "classes_" in state:
        estimator.classes_ = np.array(state["classes_"])
    else:
        estimator.y_mean_ = np.array(state["y_mean_"], dtype=np.float32)
        estimator.y_scale_ = np.array(state["y_scale_"], dtype=np.float32)
        estimator.single_output_ = state["single_output_"]
    estimator.history_ = History.from_dict(info["history"])
    return estimator


def task_of(labels: np.ndarray) -> str:
    """``"regression"`` for float targets with non-integer values, else ``"classification"``."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        return "regression"
    return "classification"
