"""The modules: the GLAI block, the baseline MLP, masks, activation patterns, path
distance, the structure monitor, path norms and pruning, the switch of every block in a
model, projection heads."""

from glai.nn.block import GLAI
from glai.nn.heads import BYOLProjectionHead, SimCLRProjectionHead
from glai.nn.losses import nt_xent
from glai.nn.mask_cache import MaskCache
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureCheck, StructureMonitor, SwitchRule
from glai.nn.parameters import count_parameters, matched_width, mlp_parameter_count
from glai.nn.path_distance import path_distance
from glai.nn.path_norms import path_norms
from glai.nn.patterns import activation_patterns
from glai.nn.pruning import prune
from glai.nn.switching import SwitchSummary, freeze_structures

__all__ = [
    "GLAI",
    "MLP",
    "BYOLProjectionHead",
    "MaskCache",
    "SimCLRProjectionHead",
    "StructureCheck",
    "StructureMonitor",
    "SwitchRule",
    "SwitchSummary",
    "activation_patterns",
    "count_parameters",
    "freeze_structures",
    "matched_width",
    "mlp_parameter_count",
    "nt_xent",
    "path_distance",
    "path_norms",
    "prune",
]
