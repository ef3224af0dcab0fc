"""Activation patterns: which units of a ReLU network fire for each input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from glai.nn.switching import glai_blocks, unwrapped


@torch.no_grad()
def activation_patterns(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Boolean activation patterns of a ReLU network on ``x``, one per ReLU layer.

    For a :class:`glai.GLAI` (any model with a ``masks`` method) these are its masks. For
    a network that holds GLAI blocks they are the blocks' masks on the inputs each block
    receives in one forward pass in eval mode (blocks in ``named_modules`` order; other
    ReLUs of the network are not recorded). For any other network they are the outputs
    of every ``nn.ReLU`` module in that pass, in call order. Every submodule is left in
    the train or eval mode it was found in.

    Args:
        model: a GLAI, a network holding GLAI blocks, or any network whose nonlinearities
            are ``nn.ReLU`` modules (``torch.compile`` wrappers are looked through).
        x: (batch, in_features).

    Returns:
        One (batch, width) bool tensor per ReLU layer (layers with leading dimensions
        ``(batch, ..., width)`` flattened to ``(batch, units)``, except for a GLAI itself).
    """
    model = unwrapped(model)
    masks = getattr(model, "masks", None)
    if callable(masks):
        return tuple(masks(x))
    blocks = list(glai_blocks(model).values())
    if blocks:
        captured: list[list[torch.Tensor]] = [[] for _ in blocks]
        handles = [
            block.register_forward_pre_hook(
                lambda block, inputs, found=found: found.extend(block.masks(inputs[0]))
            )
            for block, found in zip(blocks, captured)
        ]
    else:
        relus = [module for module in model.modules() if isinstance(module, nn.ReLU)]
        if not relus:
            raise TypeError(f"{type(model).__name__} has no nn.ReLU module to monitor")
        outputs: list[torch.Tensor] = []
        captured = [outputs]
        handles = [
            relu.register_forward_hook(lambda module, inputs, output: outputs.append(output > 0))
            for relu in relus
        ]
    try:
        with _eval_mode(model):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return tuple(mask.flatten(1) for found in captured for mask in found)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode, then give every submodule back the mode it had (a
    backbone left in eval under a head in train mode stays so)."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training
