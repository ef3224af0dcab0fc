"""Finding and switching the GLAI blocks inside any module tree."""

from __future__ import annotations

import logging
from typing import NamedTuple

from torch import nn

from glai.nn.block import GLAI

logger = logging.getLogger(__name__)


def unwrapped(model: nn.Module) -> nn.Module:
    """The module inside a ``torch.compile`` wrapper (``model`` itself otherwise)."""
    return getattr(model, "_orig_mod", model) if _is_compiled(model) else model


def _is_compiled(model: nn.Module) -> bool:
    return type(model).__name__ == "OptimizedModule" and hasattr(model, "_orig_mod")


def glai_blocks(model: nn.Module) -> dict[str, GLAI]:
    """Every GLAI block in ``model``'s tree (``model`` itself included, through
    ``torch.compile`` wrappers), by qualified name (``""`` for ``model`` itself)."""
    return {
        name: module
        for name, module in unwrapped(model).named_modules()
        if isinstance(module, GLAI)
    }


class SwitchSummary(NamedTuple):
    """What :func:`freeze_structures` did.

    Attributes:
        blocks: qualified names of the blocks it froze (``""`` for the model itself).
        trainable: parameters of the model that require gradients now, paths included.
    """

    blocks: tuple[str, ...]
    trainable: int


def freeze_structures(model: nn.Module) -> SwitchSummary:
    """Switch every GLAI block in ``model`` that is not frozen yet, and say what trains now.

    ``model`` may be a GLAI, or any module holding GLAI blocks (nested, several, behind
    ``torch.compile`` wrappers). Each block's structure is frozen and its paths take over
    (:meth:`glai.GLAI.freeze_structure`); an optimiser over ``model.parameters()`` goes on
    training whatever requires gradients.

    Returns:
        The names of the blocks frozen and the number of trainable parameters now.

    Raises:
        ValueError: ``model`` holds no GLAI block.
    """
    blocks = glai_blocks(model)
    if not blocks:
        raise ValueError(f"{type(unwrapped(model)).__name__} holds no GLAI block to switch")
    switched = tuple(name for name, block in blocks.items() if not block.frozen)
    for name in switched:
        blocks[name].freeze_structure()
    trainable = sum(p.numel() for p in unwrapped(model).parameters() if p.requires_grad)
    logger.info(
        "froze the structure of %s; %d parameters train now (paths included)",
        ", ".join(name or "(model)" for name in switched) or "no block (all were frozen)",
        trainable,
    )
    return SwitchSummary(switched, trainable)
