"""Finding and switching the GLAI blocks inside any module tree."""

from __future__ import annotations

import logging
from typing import NamedTuple

from torch import nn
from torch.optim import Optimizer

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
        paths: the parameters that begin to train at this switch (the paths of
            ``blocks``), for an optimiser that does not hold them yet:
            ``optimizer.add_param_group({"params": summary.paths})``.
    """

    blocks: tuple[str, ...]
    trainable: int
    paths: tuple[nn.Parameter, ...]

    def __repr__(self) -> str:
        return (
            f"SwitchSummary(blocks={self.blocks}, trainable={self.trainable}, "
            f"paths=<{len(self.paths)} tensors>)"
        )


def freeze_structures(model: nn.Module, optimizer: Optimizer | None = None) -> SwitchSummary:
    """Switch every GLAI block in ``model`` that is not frozen yet, and say what trains now.

    ``model`` may be a GLAI, or any module holding GLAI blocks (nested, several, behind
    ``torch.compile`` wrappers). Each block's structure is frozen and its paths take over
    (:meth:`glai.GLAI.freeze_structure`); an optimiser over ``model.parameters()`` goes on
    training whatever requires gradients.

    Nothing is installed to watch optimisers (no process-wide hook): hand yours over as
    ``optimizer`` to have it checked before anything is switched, or add the returned
    ``paths`` to an optimiser that holds part of the model.

    Args:
        model: the module whose blocks switch.
        optimizer: an optimiser of the caller's loop, checked first: one that holds some
            block's structure but none of its paths (it would train nothing of that block
            after the switch) is refused.

    Returns:
        The names of the blocks frozen, the number of trainable parameters now, and the
        paths that begin to train.

    Raises:
        ValueError: ``model`` holds no GLAI block, or ``optimizer`` holds a block's
            structure but none of its paths (then no block is switched).
    """
    blocks = glai_blocks(model)
    if not blocks:
        raise ValueError(f"{type(unwrapped(model)).__name__} holds no GLAI block to switch")
    switched = tuple(name for name, block in blocks.items() if not block.frozen)
    if optimizer is not None:
        _check_optimizer_holds_paths(optimizer, {name: blocks[name] for name in switched})
    for name in switched:
        blocks[name].freeze_structure()
    trainable = sum(p.numel() for p in unwrapped(model).parameters() if p.requires_grad)
    logger.info(
        "froze the structure of %s; %d parameters train now (paths included)",
        ", ".join(name or "(model)" for name in switched) or "no block (all were frozen)",
        trainable,
    )
    paths = tuple(p for name in switched for p in blocks[name].paths.parameters())
    return SwitchSummary(switched, trainable, paths)


def _check_optimizer_holds_paths(optimizer: Optimizer, blocks: dict[str, GLAI]) -> None:
    """Raise if ``optimizer`` holds a block's structure but none of its paths."""
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for name, block in blocks.items():
        holds_structure = any(id(p) in held for p in block.structure.parameters())
        if holds_structure and not any(id(p) in held for p in block.paths.parameters()):
            where = f"block {name!r}" if name else "the model"
            raise ValueError(
                f"{type(optimizer).__name__} holds the structure of {where}, GLAI("
                f"{block.in_features}, {block.hidden_features}, {block.out_features}), but "
                f"none of its paths, so after the switch it would train nothing of that "
                f"block: build the optimiser over model.parameters(), or add the paths "
                f"(optimizer.add_param_group({{'params': block.paths.parameters()}})) first"
            )
