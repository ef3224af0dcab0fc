"""What ``glai predict`` runs: the estimator in a model file, or a bare model's outputs."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from glai.io.models import load, read_info
from glai.sklearn.persistence import load_estimator

_BATCH = 8192


class Predictor:
    """A glai model file, ready to predict.

    A file written by ``glai fit`` or :func:`glai.sklearn.save_estimator` holds an
    estimator (with its input scaling, if any): it predicts labels or values. A file
    written by :func:`glai.save` is a bare model: it gives its raw outputs, arg-max class
    indices (task ``classification``) or softmax probabilities (``proba``).

    Attributes:
        path: the model file.
        kind: ``GLAIClassifier``, ``GLAIRegressor``, or the bare model's class name.
        task: ``classification`` or ``regression``; ``None`` for a bare model.
        in_features: the number of input features.
        feature_names: the input column names saved with the model, or ``None``.
    """

    def __init__(self, path: str) -> None:
        info = read_info(path)["info"]
        self.path = path
        self.feature_names: list[str] | None = info.get("feature_names")
        self._estimator = None if info.get("estimator") is None else load_estimator(path)
        if self._estimator is None:
            self._model = load(path)
            self.kind, self.task = type(self._model).__name__, None
            self.in_features = self._model.in_features
            return
        estimator = self._estimator
        final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        self.kind = type(final).__name__
        self.task = "classification" if is_classifier(final) else "regression"
        self.in_features = final.n_features_in_

    def outputs(self, features: np.ndarray, task: str, proba: bool) -> tuple[list[str], np.ndarray]:
        """Column names and values to write for ``features``.

        Args:
            features: float32 (n_samples, in_features).
            task: ``auto`` (the file's own), ``classification`` or ``regression``; only a
                bare model may be told a task.
            proba: class probabilities (``proba_<class>``) rather than predictions.

        Raises:
            ValueError: a task that contradicts the file's estimator, or ``proba`` for a
                regression.
        """
        if task != "auto" and self.task not in (None, task):
            raise ValueError(
                f"{self.path} holds a {self.kind}, a {self.task} model; --task {task} is "
                "only for model files without estimator info"
            )
        task = self.task or task
        if proba and task == "regression":
            why = f"{self.path} holds a {self.kind}" if self.task else "--task regression says so"
            raise ValueError(
                f"--proba needs a classifier, but {why}: a regression predicts values, "
                "not class probabilities"
            )
        if self._estimator is not None:
            return self._estimator_outputs(features, proba)
        outputs = self._forward(features)
        if proba:
            probabilities = torch.softmax(torch.from_numpy(outputs), dim=1).numpy()
            return [f"proba_{i}" for i in range(outputs.shape[1])], probabilities
        if task == "classification":
            return ["prediction"], outputs.argmax(1)
        return [f"output_{i}" for i in range(outputs.shape[1])], outputs

    def _estimator_outputs(self, features: np.ndarray, proba: bool) -> tuple[list[str], np.ndarray]:
        if proba:
            classes = self._estimator.classes_.tolist()
            return [f"proba_{c}" for c in classes], self._estimator.predict_proba(features)
        predictions = np.asarray(self._estimator.predict(features))
        if predictions.ndim == 1:
            return ["prediction"], predictions
        return [f"prediction_{i}" for i in range(predictions.shape[1])], predictions

    @torch.no_grad()
    def _forward(self, features: np.ndarray) -> np.ndarray:
        """The bare model's raw outputs, (n_samples, out_features), in batches."""
        self._model.eval()
        weight = next(self._model.parameters())
        x = torch.from_numpy(features).to(weight.device, weight.dtype)
        outputs = [self._model(batch).cpu() for batch in x.split(_BATCH)]
        return torch.cat(outputs).double().numpy()
