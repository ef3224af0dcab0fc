"""GreenLightningAI: ReLU MLP blocks whose structure is frozen once it settles.

``import glai`` loads the core alone (torch, numpy, safetensors, tqdm): the estimators
import scikit-learn when first asked for, and the experiment harness is the separate
package ``glai_bench``.
"""

import importlib.util

from glai.few_shot import GLAIFewShotClassifier, fit_support_set
from glai.io import load, read_info, save
from glai.nn import (
    GLAI,
    MLP,
    BYOLProjectionHead,
    MaskCache,
    SimCLRProjectionHead,
    StructureCheck,
    StructureMonitor,
    SwitchRule,
    SwitchSummary,
    activation_patterns,
    count_parameters,
    freeze_structures,
    matched_width,
    mlp_parameter_count,
    path_distance,
    path_norms,
    prune,
)
from glai.nn.transformer import (
    GLAIFeedForward,
    GLAITransformerEncoderLayer,
    MLPTransformerEncoderLayer,
)
from glai.training import Callback, EpochRecord, FitConfig, History, fit

__version__ = "0.1.0"

_ESTIMATORS = ("GLAIClassifier", "GLAIRegressor")


def __getattr__(name: str):
    """Import the scikit-learn estimators only when asked for (scikit-learn is optional)."""
    if name in _ESTIMATORS:
        try:
            from glai import sklearn
        except ImportError as error:
            raise ImportError(
                f"glai.{name} needs scikit-learn: pip install 'greenlightningai[sklearn]'"
            ) from error
        return getattr(sklearn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _has_sklearn() -> bool:
    try:
        return importlib.util.find_spec("sklearn") is not None
    except (ImportError, ValueError):
        return False


__all__ = [
    "GLAI",
    "MLP",
    "BYOLProjectionHead",
    "Callback",
    "EpochRecord",
    "FitConfig",
    "GLAIFeedForward",
    "GLAIFewShotClassifier",
    "GLAITransformerEncoderLayer",
    "History",
    "MaskCache",
    "MLPTransformerEncoderLayer",
    "SimCLRProjectionHead",
    "StructureCheck",
    "StructureMonitor",
    "SwitchRule",
    "SwitchSummary",
    "activation_patterns",
    "count_parameters",
    "fit",
    "fit_support_set",
    "freeze_structures",
    "load",
    "matched_width",
    "mlp_parameter_count",
    "path_distance",
    "path_norms",
    "prune",
    "read_info",
    "save",
    *(_ESTIMATORS if _has_sklearn() else ()),
]
