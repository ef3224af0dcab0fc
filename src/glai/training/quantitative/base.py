"""The interface of a quantitative-phase strategy, and the mask caches every one uses."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from glai.io.fingerprint import fingerprint
from glai.io.masks import load_masks, save_masks
from glai.nn.block import GLAI
from glai.nn.mask_cache import MaskCache
from glai.nn.switching import unwrapped
from glai.training.distributed import gather_rows, shard_indices, world
from glai.training.fit_data import FitData

logger = logging.getLogger(__name__)


class QuantitativeStrategy:
    """How a model's GLAI paths train after the switch.

    The trainer calls :meth:`check` before training, :meth:`prepare` once at the switch
    (or when resuming), then each epoch trains the parameters of :attr:`module` on
    :attr:`data` with :attr:`train_masks`, and calls :meth:`end_epoch`. This base class
    trains the model itself on the training inputs; a strategy overrides what differs.

    Masks are cached only where a block's inputs are fixed: when the model *is* a GLAI
    (or a ``torch.compile`` wrapper of one) and the data are tensors. A block inside a
    larger model sees inputs that change as the layers before it train, so its structure
    computes its masks in every forward pass (a no-grad pass through the structure: about
    the cost of the block's forward again, and no backward).

    Args:
        model: the model (a GLAI, or a module holding GLAI blocks), frozen by the time
            :meth:`prepare` is called.
        train: the training data.
        val: the validation data, or ``None``.
    """

    name: ClassVar[str]

    def __init__(self, model: nn.Module, train: FitData, val: FitData | None) -> None:
        self.model, self.train, self.val = model, train, val
        self.train_masks: MaskCache | None = None
        self.val_masks: MaskCache | None = None

    @classmethod
    def check(cls, model: nn.Module, train: FitData) -> None:
        """Raise (or warn) before training when this strategy cannot train ``model``."""

    def prepare(self, directory: str | os.PathLike | None = None, state: dict | None = None):
        """Cache the masks of every fixed input set (kept in, or read back from,
        ``directory`` when given); ``state`` is what :meth:`state_dict` returned."""
        block = unwrapped(self.model)
        if not isinstance(block, GLAI):
            return
        if self.train.fixed:
            self.train_masks = cached_masks(
                block, self.train, directory, "train", self.first_products()
            )
        if self.val is not None and self.val.fixed:
            if self.val.inputs is self.train.inputs:  # a split: one cache serves both
                self.val_masks = self.train_masks
            else:
                self.val_masks = cached_masks(block, self.val, directory, "val")

    def first_products(self) -> torch.Tensor | None:
        """The training inputs times the structure's first weight, if already computed."""
        return None

    @property
    def module(self) -> nn.Module:
        """The module whose trainable parameters the optimiser updates, called on
        ``(x, masks=...)`` batches of :attr:`data`."""
        return self.model

    @property
    def data(self) -> FitData:
        """What the phase iterates over."""
        return self.train

    def end_epoch(self) -> None:
        """Bring the model up to date after an epoch (before validation)."""

    def state_dict(self) -> dict | None:
        """What a checkpoint must keep to continue the phase."""
        return None


def cached_masks(
    model: GLAI,
    data: FitData,
    directory: str | os.PathLike | None,
    name: str,
    first_products: torch.Tensor | None = None,
) -> MaskCache:
    """The mask cache of ``data.inputs`` (every row, also those of other parts of a split),
    built from ``first_products`` if given (see :meth:`MaskCache.build`).

    With a ``directory`` the cache is kept there as ``masks-<name>.pt`` with the
    fingerprint of the structure and the inputs it was computed from, and a cache found
    there is used only if its fingerprint is the same (else it is rebuilt and replaced).
    With several processes each builds the masks of its ``DistributedSampler`` shard and
    the shards are gathered.
    """
    count = len(data.inputs)
    if world()[1] > 1:
        indices = shard_indices(count)
        local = MaskCache.build(model, data.inputs[indices.to(data.inputs.device)])
        packed = [gather_rows(layer, indices.to(layer.device), count) for layer in local.packed]
        return MaskCache(packed, local.widths, local.sample_shape)
    if directory is None:
        return MaskCache.build(model, data.inputs, first_products=first_products)
    made_from = fingerprint("glai-masks", model.structure.state_dict(), data.inputs)
    path = Path(directory) / f"masks-{name}.pt"
    if path.is_file():
        try:
            cache = load_masks(path)
        except ValueError as error:  # damaged or of an older format: masks can be remade
            logger.info("rebuilding the mask cache: %s", error)
        else:
            if cache.fingerprint == made_from:
                return cache.to(model.structure[0].weight.device)
            logger.info("rebuilding %s: it was computed from another structure or data", path)
    cache = MaskCache.build(
        model, data.inputs, first_products=first_products, fingerprint=made_from
    )
    save_masks(cache, path)
    return cache
