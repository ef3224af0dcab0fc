"""Quantitative-phase strategies: how a frozen GLAI's paths train.

A new solver is one file with a :class:`QuantitativeStrategy` subclass and one entry in
:data:`STRATEGIES`; its name then works in :func:`glai.fit`, the estimators and the CLI.
"""

from glai.training.quantitative.base import QuantitativeStrategy, cached_masks
from glai.training.quantitative.full import FullPaths
from glai.training.quantitative.row_space import RowSpace, RowSpacePaths

STRATEGIES: dict[str, type[QuantitativeStrategy]] = {
    FullPaths.name: FullPaths,
    RowSpace.name: RowSpace,
}

__all__ = [
    "STRATEGIES",
    "FullPaths",
    "QuantitativeStrategy",
    "RowSpace",
    "RowSpacePaths",
    "cached_masks",
]
