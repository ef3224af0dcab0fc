"""Finding and switching the GLAI blocks inside any module tree."""

from __future__ import annotations

import logging

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


def freeze_structures(model: nn.Module) -> list[str]:
    """Switch every GLAI block in ``model`` that is not frozen yet; returns their names.

    Raises:
        ValueError: ``model`` holds no GLAI block.
    """
    blocks = glai_blocks(model)
    if not blocks:
        raise ValueError(f"{type(unwrapped(model)).__name__} holds no GLAI block to switch")
    switched = [name for name, block in blocks.items() if not block.frozen]
    for name in switched:
        blocks[name].freeze_structure()
    logger.info("froze the structure of %s", ", ".join(name or "(model)" for name in switched))
    return switched
