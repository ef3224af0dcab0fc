"""Train and eval modes as the user left them: read every submodule's, put them back.

``module.train()`` and ``module.eval()`` set the mode of a whole tree. A user who froze a
backbone by putting it in eval mode (so that its BatchNorm statistics stay as they are)
expects a trainer or a measurement to leave it there; these helpers record the mode of
every submodule and restore each one (PyTorch Lightning 2.2 and later do the same).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from glai.nn.block import GLAI

Modes = tuple[tuple[nn.Module, bool], ...]
"""Every submodule of a tree with its ``training`` flag, in ``modules()`` order."""


def training_modes(model: nn.Module) -> Modes:
    """The ``training`` flag of ``model`` and of each of its submodules."""
    return tuple((module, module.training) for module in model.modules())


def restore_modes(modes: Modes) -> None:
    """Set each module's ``training`` flag back to what :func:`training_modes` read.

    A GLAI block whose structure is frozen keeps that structure in eval mode whatever was
    recorded (its masks must stay a function of the input alone).
    """
    for module, training in modes:
        module.training = training
    for module, _ in modes:
        if isinstance(module, GLAI) and module.frozen:
            module.structure.eval()


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the ``with`` block; every submodule's mode restored
    after it."""
    modes = training_modes(model)
    model.eval()
    try:
        yield model
    finally:
        restore_modes(modes)
