"""scikit-learn estimators (needs the ``sklearn`` extra)."""

from glai.sklearn.estimators import ESTIMATOR_NAMES, GLAIClassifier, GLAIRegressor
from glai.sklearn.persistence import load_estimator, save_estimator, task_of

__all__ = [
    "ESTIMATOR_NAMES",
    "GLAIClassifier",
    "GLAIRegressor",
    "load_estimator",
    "save_estimator",
    "task_of",
]
