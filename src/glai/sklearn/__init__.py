"""scikit-learn estimators (needs the ``sklearn`` extra)."""

from glai.sklearn.estimators import GLAIClassifier, GLAIRegressor

__all__ = ["GLAIClassifier", "GLAIRegressor"]
