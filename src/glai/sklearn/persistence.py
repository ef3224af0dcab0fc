"""Writing and reading fitted estimators as glai model files, and telling the task."""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from glai.io.models import load, read_info, save
from glai.sklearn.estimators import GLAIClassifier, GLAIRegressor, _GLAIEstimator
from glai.training.history import History

_ESTIMATORS: dict[str, type[_GLAIEstimator]] = {
    "GLAIClassifier": GLAIClassifier,
    "GLAIRegressor": GLAIRegressor,
}


def save_estimator(estimator: _GLAIEstimator, path: str | os.PathLike) -> None:
    """Write a fitted estimator as a glai model file (see :func:`glai.save`).

    Its parameters, classes or target scaling and a summary of its training history are
    kept as JSON next to the weights; :func:`load_estimator` restores it.

    Raises:
        TypeError: not a GLAI estimator, or a parameter that JSON cannot hold (such as an
            optimizer given as a function rather than by name).
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
        "params": _json_params(estimator.get_params()),
        "state": state,
        "history": estimator.history_.to_dict(),
    }
    save(estimator.model_, path, info=info)


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as JSON values (numpy scalars as numbers); others are an error."""
    plain = {}
    for name, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(
                f"cannot save parameter {name}={value!r}: only JSON values (numbers, strings, "
                "lists, None) can be saved; give an optimizer by name"
            ) from None
        plain[name] = value
    return plain


def load_estimator(path: str | os.PathLike) -> _GLAIEstimator:
    """Restore an estimator written by :func:`save_estimator`, ready to ``predict``.

    Parameters the file lacks (it was written before they existed) take the class
    defaults; parameters this version does not know are dropped with a warning.
    """
    info = read_info(path)["info"]
    if info.get("estimator") not in _ESTIMATORS:
        raise ValueError(f"{path} holds a glai model but no fitted estimator")
    kind = _ESTIMATORS[info["estimator"]]
    known = kind().get_params()
    params = dict(info.get("params", {}))
    unknown = sorted(set(params) - set(known))
    if unknown:
        warnings.warn(
            f"{path}: ignoring parameter(s) this version of glai does not know: "
            f"{', '.join(unknown)}",
            stacklevel=2,
        )
    estimator = kind(**{name: value for name, value in params.items() if name in known})
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
