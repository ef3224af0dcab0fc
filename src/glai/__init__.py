"""GreenLightningAI: ReLU MLP blocks whose structure is frozen once it settles."""

from glai.io import load, read_info, save
from glai.nn import (
    GLAI,
    MLP,
    MaskCache,
    StructureCheck,
    StructureMonitor,
    activation_patterns,
    count_parameters,
    matched_width,
    mlp_parameters,
    path_norms,
    prune,
)
from glai.training import Callback, EpochRecord, History, fit


def __getattr__(name: str):
    """Import the scikit-learn estimators only when asked for (scikit-learn is optional)."""
    if name in ("GLAIClassifier", "GLAIRegressor"):
        from glai import sklearn

        return getattr(sklearn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "GLAI",
    "MLP",
    "Callback",
    "EpochRecord",
    "GLAIClassifier",
    "GLAIRegressor",
    "History",
    "MaskCache",
    "StructureCheck",
    "StructureMonitor",
    "activation_patterns",
    "count_parameters",
    "fit",
    "load",
    "matched_width",
    "mlp_parameters",
    "path_norms",
    "prune",
    "read_info",
    "save",
]
