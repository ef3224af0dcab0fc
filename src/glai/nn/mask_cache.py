"""Bit-packed cache of a frozen structure's activation patterns for fixed inputs."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from glai.guards import check_features, check_positive_int
from glai.nn.block import GLAI
from glai.nn.mlp import MLP

_BITS = 8


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """Pack a boolean mask 8 units to a byte.

    Args:
        mask: (batch, width) bool.

    Returns:
        (batch, ceil(width / 8)) uint8; unit ``j`` is bit ``j % 8`` of byte ``j // 8``.
    """
    if mask.device.type == "cpu":  # numpy's packbits is one C loop, ~20x faster here
        packed = np.packbits(mask.numpy(), axis=1, bitorder="little")
        return torch.from_numpy(packed)
    batch, width = mask.shape
    padded = torch.zeros(batch, -(-width // _BITS) * _BITS, dtype=torch.uint8, device=mask.device)
    padded[:, :width] = mask
    shifts = torch.arange(_BITS, dtype=torch.uint8, device=mask.device)
    return (padded.view(batch, -1, _BITS) << shifts).sum(-1, dtype=torch.uint8)


_TABLES: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}


def _bit_table(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(256, 8) table: row ``b`` holds the bits of byte ``b``, lowest first, in ``dtype``."""
    key = (dtype, device)
    if key not in _TABLES:
        shifts = torch.arange(_BITS)
        table = (torch.arange(256).unsqueeze(1) >> shifts) & 1
        _TABLES[key] = table.to(dtype=dtype, device=device)
    return _TABLES[key]


def unpack_bits(packed: torch.Tensor, width: int, dtype: torch.dtype = torch.bool) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: (batch, bytes) uint8 -> (batch, width) of 0/1 ``dtype``.

    One table lookup per byte; asking for the model's float dtype saves the conversion
    that multiplying by a boolean mask would make.
    """
    bits = _bit_table(dtype, packed.device)[packed.int()]  # (batch, bytes, 8)
    return bits.view(packed.shape[0], -1)[:, :width]


class MaskCache(Dataset):
    """Activation patterns of a frozen structure for a fixed set of inputs, 1 bit per unit.

    Build it once with :meth:`build`; then ``cache[indices]`` returns the masks of those
    samples, ready for ``model(x, masks=...)``, and the structure never runs again.
    It is also a ``Dataset`` whose item ``i`` is sample ``i``'s masks, so
    ``torch.utils.data.StackDataset(features, cache)`` feeds a ``DataLoader``.

    Args:
        packed: one uint8 tensor per hidden layer, each (n_samples, ceil(units / 8)) where
            ``units`` is ``width`` times the number of positions in ``sample_shape``.
        widths: the hidden widths.
        sample_shape: the leading shape of one sample's masks, ``()`` for inputs
            (n, in_features), ``(views,)`` for inputs (n, views, in_features).
        fingerprint: what the masks were computed from (see
            :func:`glai.io.fingerprint.fingerprint`: the structure and the inputs), or
            ``None`` when not recorded; a cache is reused only for the same fingerprint.
    """

    def __init__(
        self,
        packed: Sequence[torch.Tensor],
        widths: Sequence[int],
        sample_shape: tuple = (),
        fingerprint: str | None = None,
    ) -> None:
        if len(packed) != len(widths):
            raise ValueError(f"got {len(packed)} packed layers for {len(widths)} widths")
        lengths = {len(layer) for layer in packed}
        if len(lengths) != 1:
            raise ValueError(f"packed layers have different lengths: {sorted(lengths)}")
        positions = math.prod(sample_shape)
        for layer, width in zip(packed, widths):
            needed = -(-width * positions // _BITS)
            if layer.dtype != torch.uint8 or layer.ndim != 2 or layer.shape[1] != needed:
                raise ValueError(
                    f"a layer of width {width} needs uint8 packing of shape (n, {needed}), "
                    f"got {layer.dtype} {tuple(layer.shape)}"
                )
        self.packed = tuple(packed)
        self.widths = tuple(widths)
        self.sample_shape = tuple(sample_shape)
        self.fingerprint = fingerprint

    @classmethod
    @torch.no_grad()
    def build(
        cls,
        model: GLAI,
        inputs: torch.Tensor | Dataset,
        batch_size: int = 4096,
        first_products: torch.Tensor | None = None,
        fingerprint: str | None = None,
    ) -> MaskCache:
        """Compute and pack the masks of ``model`` for every input, a batch at a time.

        Memory is bounded by one batch of unpacked masks plus the packed result.

        Args:
            model: a GLAI (its structure computes the masks).
            inputs: (n_samples, in_features) tensor, or a Dataset whose items are ``x`` or
                ``(x, ...)``.
            batch_size: samples per batch.
            first_products: ``inputs @ W_1^T`` for the structure's first weight ``W_1``,
                if already computed (row-space training computes it): the masks start from
                it, and that product is not computed twice.
            fingerprint: what the masks are computed from, recorded on the cache.
        """
        check_positive_int(batch_size, "batch_size")
        device = model.structure[0].weight.device
        if isinstance(inputs, torch.Tensor):
            check_features(inputs, model.in_features, model.structure[0].weight.dtype, "inputs")
            if inputs.is_meta:
                raise ValueError("inputs are meta tensors: they hold no values to compute masks")
            batches = inputs.split(batch_size)
        else:
            batches = (
                batch[0] if isinstance(batch, (tuple, list)) else batch
                for batch in DataLoader(inputs, batch_size=batch_size)
            )
        masks_of = model.masks
        if first_products is not None:
            batches = first_products.split(batch_size)
            masks_of = functools.partial(_masks_from_first_products, model.structure)
        packed: list[list[torch.Tensor]] = [[] for _ in model.hidden_features]
        sample_shape = ()
        for batch in batches:
            for layer, mask in zip(packed, masks_of(batch.to(device, non_blocking=True))):
                sample_shape = tuple(mask.shape[1:-1])
                layer.append(pack_bits(mask.reshape(len(mask), -1)))
        layers = [torch.cat(layer) for layer in packed]
        return cls(layers, model.hidden_features, sample_shape, fingerprint)

    def __len__(self) -> int:
        return len(self.packed[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed masks."""
        return sum(layer.numel() for layer in self.packed)

    @property
    def device(self) -> torch.device:
        return self.packed[0].device

    def to(self, device: torch.device | str) -> MaskCache:
        """A copy of the cache on ``device`` (``self`` if already there)."""
        if torch.device(device) == self.device:
            return self
        packed = [layer.to(device) for layer in self.packed]
        return MaskCache(packed, self.widths, self.sample_shape, self.fingerprint)

    def __getitem__(self, index: int | slice | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Boolean masks of the samples at ``index`` (see :meth:`get`).

        Returns:
            One bool tensor per hidden layer: (*sample_shape, width) for an int index, else
            (n_indexed, *sample_shape, width).
        """
        if isinstance(index, int):
            if not -len(self) <= index < len(self):
                raise IndexError(f"index {index} is out of range for {len(self)} samples")
            index %= len(self)
            return tuple(mask[0] for mask in self[index : index + 1])
        return self.get(index)

    def get(
        self, index: slice | torch.Tensor, dtype: torch.dtype = torch.bool
    ) -> tuple[torch.Tensor, ...]:
        """Masks of the samples at ``index`` as 0/1 values of ``dtype``.

        Returns:
            One tensor per hidden layer, each (n_indexed, *sample_shape, width).
        """
        positions = math.prod(self.sample_shape)
        masks = []
        for layer, width in zip(self.packed, self.widths):
            rows = layer[index]
            bits = unpack_bits(rows, width * positions, dtype)
            masks.append(bits.view(len(rows), *self.sample_shape, width))
        return tuple(masks)

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, ...]]:
        """Batched fetch for ``DataLoader``: one tuple of masks per index."""
        masks = self[torch.as_tensor(indices)]
        return list(zip(*(layer.unbind(0) for layer in masks)))


@torch.no_grad()
def _masks_from_first_products(structure: MLP, products: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The masks of inputs whose product with the structure's first weight is given."""
    bias = structure[0].bias
    first = products + bias if bias is not None else products
    return tuple(z > 0 for z in structure.pre_activations_from(first))
