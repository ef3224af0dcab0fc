"""Writing and reading fitted estimators as glai model files, and telling the task."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from glai.io.models import load, read_info, save
from glai.sklearn.estimators import GLAIClassifier, GLAIRegressor, _GLAIEstimator
from glai.training.history import History

_ESTIMATORS: dict[str, type[_GLAIEstimator]] = {
    "GLAIClassifier": GLAIClassifier,
    "GLAIRegressor": GLAIRegressor,
}


MAX_CLASSES = 20
"""Integer targets with more distinct values than this are read as regression targets."""

MIN_CLASS_SIZE = 2
"""Integer targets with a value seen fewer times than this are read as regression targets."""


def save_estimator(
    estimator: _GLAIEstimator | Pipeline,
    path: str | os.PathLike,
    *,
    feature_names: Sequence[str] | None = None,
) -> None:
    """Write a fitted estimator as a glai model file (see :func:`glai.save`).

    Its parameters, classes or target scaling and a summary of its training history are
    kept as JSON next to the weights; :func:`load_estimator` restores it.

    Args:
        estimator: a fitted :class:`GLAIClassifier` or :class:`GLAIRegressor`, or a
            :class:`~sklearn.pipeline.Pipeline` of a fitted
            :class:`~sklearn.preprocessing.StandardScaler` and one (the scaling is kept too).
        path: destination file.
        feature_names: the names of the input columns, in order, kept in the file's info
            as ``feature_names`` (``glai predict`` matches CSV columns by them).

    Raises:
        TypeError: not a GLAI estimator, or a parameter that JSON cannot hold (such as an
            optimizer given as a function rather than by name).
        ValueError: not as many feature names as features.
    """
    scaler, estimator = _pipeline_parts(estimator)
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
    if scaler is not None:
        check_is_fitted(scaler)
        width = estimator.n_features_in_
        info["scaler"] = {
            "mean": scaler.mean_.tolist() if scaler.with_mean else [0.0] * width,
            "scale": scaler.scale_.tolist() if scaler.with_std else [1.0] * width,
        }
    if feature_names is not None:
        if len(feature_names) != estimator.n_features_in_:
            raise ValueError(
                f"{len(feature_names)} feature names for {estimator.n_features_in_} features"
            )
        info["feature_names"] = [str(name) for name in feature_names]
    save(estimator.model_, path, info=info)


def _pipeline_parts(
    estimator: _GLAIEstimator | Pipeline,
) -> tuple[StandardScaler | None, _GLAIEstimator]:
    """(scaler or None, GLAI estimator) of what :func:`save_estimator` was given."""
    if not isinstance(estimator, Pipeline):
        return None, estimator
    steps = [step for _, step in estimator.steps]
    if len(steps) != 2 or not isinstance(steps[0], StandardScaler):
        names = " -> ".join(type(step).__name__ for step in steps)
        raise TypeError(
            f"save_estimator takes a Pipeline of a StandardScaler and a GLAI estimator, got {names}"
        )
    return steps[0], steps[1]


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as JSON values (numpy scalars as numbers); others are an error."""
    plain = {}
    for name, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, (list, tuple, np.ndarray)):
            value = [v.item() if isinstance(v, np.generic) else v for v in value]
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(
                f"cannot save parameter {name}={value!r}: only JSON values (numbers, strings, "
                "lists, None) can be saved; give an optimizer by name"
            ) from None
        plain[name] = value
    return plain


def load_estimator(path: str | os.PathLike) -> _GLAIEstimator | Pipeline:
    """Restore an estimator written by :func:`save_estimator`, ready to ``predict``.

    A file written from a pipeline with a scaler (as ``glai fit`` writes by default) gives
    that pipeline back: a fitted StandardScaler, then the estimator. Parameters the file
    lacks (it was written before they existed) take the class defaults; parameters this
    version does not know are dropped with a warning.
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
    if "scaler" in info:
        return make_pipeline(_scaler(info["scaler"]), estimator)
    return estimator


def _scaler(state: dict[str, list[float]]) -> StandardScaler:
    """A fitted StandardScaler that subtracts ``mean`` and divides by ``scale``."""
    scaler = StandardScaler()
    scaler.mean_ = np.array(state["mean"], dtype=np.float64)
    scaler.scale_ = np.array(state["scale"], dtype=np.float64)
    scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = len(scaler.mean_)
    return scaler


def task_of(labels: np.ndarray) -> str:
    """``"classification"`` or ``"regression"`` for the targets ``labels``, by the rule of
    :func:`task_and_reason`."""
    return task_and_reason(labels)[0]


def task_and_reason(labels: np.ndarray) -> tuple[str, str]:
    """The task that the targets ``labels`` call for, and why, in words.

    The rule never reads a numeric target with fractions as classes:

    - text or booleans: classification;
    - several target columns: regression (a classifier takes one label per sample);
    - numbers with fractions (or not finite): regression;
    - whole numbers: classification when there are at most :data:`MAX_CLASSES` (20)
      distinct values and each is seen at least :data:`MIN_CLASS_SIZE` (2) times, else
      regression (e.g. diabetes' 214 distinct integer targets in 442 rows).
    """
    labels = np.asarray(labels)
    if labels.dtype.kind in "USOb":
        return "classification", "the targets are " + (
            "booleans" if labels.dtype.kind == "b" else "text"
        )
    if labels.ndim > 1 and labels.shape[1] > 1:
        return "regression", f"the targets have {labels.shape[1]} columns"
    labels = labels.reshape(-1)
    if not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        return "regression", "the targets are numbers with fractions"
    values, counts = np.unique(labels, return_counts=True)
    if len(values) > MAX_CLASSES:
        return "regression", (
            f"the targets are whole numbers with {len(values)} distinct values, more than "
            f"the {MAX_CLASSES} that classes may have"
        )
    if counts.min() < MIN_CLASS_SIZE:
        rare = values[counts.argmin()].item()
        return "regression", (
            f"the targets are whole numbers and {rare} is seen only {counts.min()} time(s); "
            f"each class needs at least {MIN_CLASS_SIZE} samples"
        )
    return "classification", (
        f"the targets are {len(values)} distinct whole numbers (at most {MAX_CLASSES}), "
        f"each seen at least {MIN_CLASS_SIZE} times"
    )
