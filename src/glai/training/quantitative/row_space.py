"""Row-space training of GLAI's paths (``quantitative="row_space"``): the first layer
learns on cached input products.

After the switch the structure is fixed, and so is every input. The quantitative phase
can then stop reading the inputs: multiply them once by the first path layer,
``p = x B^T`` with ``B = W'_1`` at the start of the phase, and train ``W'_1 = M B`` through
a square matrix ``M`` (the identity at first) together with the other path layers. The
first layer's cost per step falls from ``in_features x width_1`` to ``width_1 x width_1``
multiplications per sample; the price is that ``W'_1`` can only move within the span of
its rows at the switch.
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import nn

from glai.nn.block import GLAI, gated
from glai.nn.switching import unwrapped
from glai.training.fit_data import FitData
from glai.training.quantitative.base import QuantitativeStrategy

PROJECTION_ROWS = 4096
"""Samples that :meth:`RowSpacePaths.project` moves to the device at a time."""


class RowSpacePaths(nn.Module):
    """The trainable part of a frozen GLAI's paths in row-space form.

    Its parameters are ``mix`` (``M`` and the first layer's bias) and the path layers
    after the first, shared with ``model``; :meth:`fold` writes ``M B`` back into the
    model's first path layer, so that the model holds the trained network.

    Args:
        model: a frozen GLAI; its first path layer's current weight becomes the basis.
    """

    def __init__(self, model: GLAI) -> None:
        super().__init__()
        if not model.frozen:
            raise ValueError("row-space training needs a frozen GLAI (call freeze_structure)")
        first = model.paths[0]
        width = first.out_features
        self.register_buffer("basis", first.weight.detach().clone())  # (width_1, in)
        self.mix = nn.Linear(
            width, width, first.bias is not None, first.weight.device, first.weight.dtype
        )
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(width, dtype=first.weight.dtype))
            if first.bias is not None:
                self.mix.bias.copy_(first.bias)
        self.rest = nn.ModuleList(model.paths[1:])

    @torch.no_grad()
    def project(self, x: torch.Tensor, rows: int = PROJECTION_ROWS) -> torch.Tensor:
        """The cached input of the phase: ``x B^T``, (n, width_1) for ``x`` (n, in), on
        the basis's device.

        Args:
            x: the inputs, on the basis's device or elsewhere (inputs too large to copy
                to the device stay where they are), then moved ``rows`` samples at a time.
            rows: samples moved and multiplied at a time when ``x`` is elsewhere.
        """
        if x.device == self.basis.device:
            return x @ self.basis.T
        out = torch.empty(len(x), len(self.basis), device=self.basis.device, dtype=x.dtype)
        for start in range(0, len(x), rows):
            part = x[start : start + rows].to(self.basis.device)
            torch.matmul(part, self.basis.T, out=out[start : start + rows])
        return out

    def forward(self, projected: torch.Tensor, masks: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The model's output for the inputs whose :meth:`project` is ``projected``."""
        return gated(projected, [self.mix, *self.rest], masks)

    @torch.no_grad()
    def fold(self, model: GLAI) -> None:
        """Write ``W'_1 = M B`` and the first bias into ``model``'s first path layer."""
        first = model.paths[0]
        first.weight.copy_(self.mix.weight @ self.basis)
        if first.bias is not None:
            first.bias.copy_(self.mix.bias)


class RowSpace(QuantitativeStrategy):
    """The quantitative phase in row-space form: at the switch the training inputs are
    multiplied once by the first path layer (the masks are computed from the same
    products), then :class:`RowSpacePaths` trains and is folded back into the model after
    every epoch, so validation, best weights and checkpoints see an ordinary GLAI."""

    name = "row_space"

    def __init__(self, model: nn.Module, train: FitData, val: FitData | None) -> None:
        super().__init__(model, train, val)
        self.block: GLAI = unwrapped(model)
        self.paths: RowSpacePaths | None = None
        self.projected: FitData | None = None

    @classmethod
    def check(cls, model: nn.Module, train: FitData) -> None:
        model = unwrapped(model)
        if not (isinstance(model, GLAI) and train.fixed):
            raise ValueError(
                "quantitative='row_space' trains a GLAI's paths on cached products of fixed "
                "inputs: it needs a GLAI and (X, y) tensors (or a TensorDataset) as train"
            )
        if model.hidden_features[0] >= model.in_features:
            warnings.warn(
                f"quantitative='row_space' is no cheaper than 'full' when the first hidden "
                f"layer ({model.hidden_features[0]} units) is as wide as the input "
                f"({model.in_features} features); it pays when it is narrower",
                stacklevel=4,
            )

    def prepare(self, directory: str | os.PathLike | None = None, state: dict | None = None):
        self.paths = RowSpacePaths(self.block)
        if state is not None:
            self.paths.load_state_dict(state)
        projected = self.paths.project(self.train.inputs)  # every row: masks come from it
        device = projected.device  # the targets follow the products
        rows = None if self.train.rows is None else self.train.rows.to(device)
        self.projected = FitData(projected, self.train.targets.to(device), rows=rows)
        super().prepare(directory, state)

    def first_products(self) -> torch.Tensor | None:
        at_switch = torch.equal(self.paths.basis, self.block.structure[0].weight)
        return self.projected.inputs if at_switch else None  # the structure's own products

    @property
    def module(self) -> nn.Module:
        return self.paths

    @property
    def data(self) -> FitData:
        return self.projected

    def end_epoch(self) -> None:
        self.paths.fold(self.block)

    def state_dict(self) -> dict | None:
        return self.paths.state_dict()
