"""The modules: the GLAI block, the baseline MLP, masks, the structure monitor, pruning."""

from glai.nn.block import GLAI
from glai.nn.losses import nt_xent
from glai.nn.mask_cache import MaskCache
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureCheck, StructureMonitor, SwitchRule, activation_patterns
from glai.nn.parameters import count_parameters, matched_width, mlp_parameters
from glai.nn.pruning import path_norms, prune

__all__ = [
    "GLAI",
    "MLP",
    "MaskCache",
    "StructureCheck",
    "StructureMonitor",
    "SwitchRule",
    "activation_patterns",
    "count_parameters",
    "matched_width",
    "mlp_parameters",
    "nt_xent",
    "path_norms",
    "prune",
]
