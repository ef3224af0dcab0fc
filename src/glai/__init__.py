"""GreenLightningAI: ReLU MLP blocks whose structure is frozen once it settles."""

from glai.block import GLAI
from glai.callbacks import Callback
from glai.history import EpochRecord, History
from glai.mask_cache import MaskCache
from glai.mlp import MLP
from glai.monitor import StructureCheck, StructureMonitor, activation_patterns
from glai.parameters import count_parameters, matched_width, mlp_parameters
from glai.pruning import path_norms, prune
from glai.serialization import load, read_info, save
from glai.trainer import fit


def __getattr__(name: str):
    """Import the scikit-learn estimators only when asked for (scikit-learn is optional)."""
    if name in ("GLAIClassifier", "GLAIRegressor"):
        from glai import estimators

        return getattr(estimators, name)
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
