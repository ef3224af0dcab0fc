"""Training data for :func:`glai.fit`: tensor pairs or datasets, checked and batched."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from glai.guards import check_features, check_finite, check_same_length
from glai.nn.mask_cache import MaskCache

Data = tuple[torch.Tensor, torch.Tensor] | Dataset

DEVICE_COPY_LIMIT = 1 << 30
"""Bytes of training inputs up to which :func:`glai.fit` copies them to the device at once;
larger inputs stay where they are (memory-mapped ones on disk) and move batch by batch."""
Batch = tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...] | None]


@dataclass
class FitData:
    """Inputs and targets in the form the trainer iterates over.

    Tensor pairs (and ``TensorDataset``) are kept as tensors: their inputs are fixed, so
    their masks can be cached. Other datasets are read through a ``DataLoader``.

    Attributes:
        rows: the samples of ``inputs``/``targets`` this data holds, when it is a part of
            them (a validation split): the tensors are shared, never copied, so a
            memory-mapped array stays on disk, and one mask cache serves every part.
    """

    inputs: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    dataset: Dataset | None = None
    rows: torch.Tensor | None = None

    @property
    def fixed(self) -> bool:
        """Whether the inputs are fixed tensors (masks can be cached)."""
        return self.inputs is not None

    def __len__(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        return len(self.inputs) if self.fixed else len(self.dataset)

    def to(self, device: torch.device) -> FitData:
        """The data on ``device``, copied there at once when the inputs take at most
        :data:`DEVICE_COPY_LIMIT` bytes; larger ones (a memory-mapped array, say) stay
        where they are, and :meth:`batches` moves each batch as it is used."""
        if not self.fixed or self.inputs.nbytes > DEVICE_COPY_LIMIT:
            return self
        rows = self.rows.to(device) if self.rows is not None else None
        return FitData(self.inputs.to(device), self.targets.to(device), rows=rows)

    def subset(self, index: torch.Tensor) -> FitData:
        """The samples ``index`` of this data (sharing its tensors or dataset)."""
        if self.fixed:
            return FitData(self.inputs, self.targets, rows=self._rows(index))
        return FitData(dataset=Subset(self.dataset, index.tolist()))

    def _rows(self, index: torch.Tensor) -> torch.Tensor:
        """Positions in ``inputs`` of this data's samples ``index``."""
        index = index.to(self.inputs.device)
        return self.rows[index] if self.rows is not None else index

    def batches(
        self,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None = None,
        device: torch.device | None = None,
        masks: MaskCache | None = None,
        mask_dtype: torch.dtype = torch.bool,
        shard: tuple[int, int] = (0, 1),
    ) -> Iterator[Batch]:
        """Yield ``(x, y, masks or None)`` batches, shuffled with ``generator`` if asked;
        cached masks come as 0/1 values of ``mask_dtype``.

        A last batch of a single sample joins the batch before it.

        Args:
            shard: ``(rank, processes)``: each global batch of ``batch_size`` is split in
                ``processes`` contiguous parts and this process gets part ``rank``.
        """
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        rank, processes = shard
        global_batches = list(order.split(batch_size))
        if len(global_batches) > 1 and len(global_batches[-1]) == 1:
            # a batch of one sample: BatchNorm cannot train on it, so it joins the one before
            global_batches[-2:] = [torch.cat(global_batches[-2:])]
        if processes > 1:
            global_batches = [batch.tensor_split(processes)[rank] for batch in global_batches]
        if not self.fixed:
            loader = DataLoader(self.dataset, batch_sampler=[b.tolist() for b in global_batches])
            for x, y in loader:
                yield x.to(device), y.to(device), None
            return
        for index in global_batches:
            rows = self._rows(index)
            batch_masks = None
            if masks is not None:
                batch_masks = masks.get(rows.to(masks.device), mask_dtype)
                batch_masks = tuple(mask.to(device) for mask in batch_masks)
            yield self.inputs[rows].to(device), self.targets[rows].to(device), batch_masks

    def sample_inputs(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """``count`` inputs drawn at random without replacement (e.g. a probe set)."""
        index = torch.randperm(len(self), generator=generator)[:count]
        if self.fixed:
            return self.inputs[self._rows(index)]
        return torch.stack([torch.as_tensor(self.dataset[int(i)][0]) for i in index])


def as_fit_data(data: Data, name: str) -> FitData:
    """Wrap ``(X, y)`` or a Dataset; reject anything else with a clear error."""
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:
        data = data.tensors
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{name} must be an (X, y) pair, got {len(data)} items")
        inputs, targets = data
        for tensor, part in ((inputs, "X"), (targets, "y")):
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(
                    f"{name} {part} must be a torch.Tensor, got {type(tensor).__name__}"
                )
        check_same_length(inputs, targets, f"{name} X and y")
        if len(inputs) == 0:
            raise ValueError(f"{name} is empty")
        return FitData(inputs, targets)
    if isinstance(data, Dataset):
        if len(data) == 0:
            raise ValueError(f"{name} is empty")
        return FitData(dataset=data)
    raise TypeError(
        f"{name} must be an (X, y) pair of tensors or a Dataset, got {type(data).__name__}"
    )


def check_fit_data(
    data: FitData, name: str, in_features: int | None, dtype: torch.dtype, classes: int | None
) -> None:
    """Check fixed tensors once: input shape, dtype and values; targets for the task.

    Args:
        in_features: the model's input size, or ``None`` when the model does not say
            (then the input's shape and dtype are the model's business).
        classes: number of classes for a classification loss, ``None`` otherwise.
    """
    if not data.fixed:
        return
    if in_features is not None:
        check_features(data.inputs, in_features, dtype, f"{name} X")
    elif data.inputs.is_floating_point() and data.inputs.dtype != dtype:
        raise TypeError(
            f"{name} X is {data.inputs.dtype} but the model's weights are {dtype}: convert "
            f"one of them (X.to({dtype}) or model.to({data.inputs.dtype}))"
        )
    check_finite(data.inputs, f"{name} X")
    targets = data.targets
    if classes is None:
        check_finite(targets, f"{name} y")
        return
    if targets.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
        raise TypeError(f"{name} y must hold integer class indices, got dtype {targets.dtype}")
    if targets.ndim != 1:
        raise ValueError(f"{name} y must be 1-D class indices, got shape {tuple(targets.shape)}")
    low, high = int(targets.min()), int(targets.max())
    if low < 0 or high >= classes:
        raise ValueError(
            f"{name} y holds classes {low}..{high}; the model has {classes} outputs "
            f"(classes 0..{classes - 1})"
        )


def prepare_data(
    data: Data,
    name: str,
    in_features: int | None,
    dtype: torch.dtype,
    classes: int | None,
    device: torch.device,
) -> FitData:
    """``data`` wrapped, checked (see :func:`check_fit_data`) and moved to ``device``;
    class targets of fixed tensors become int64."""
    prepared = as_fit_data(data, name)
    check_fit_data(prepared, name, in_features, dtype, classes)
    if prepared.fixed and classes is not None:
        prepared.targets = prepared.targets.long()
    return prepared.to(device)


MIN_VALIDATION = 10
"""Fewest validation samples a split may hold; smaller data train without one."""


def split_validation(
    data: FitData, fraction: float, classes: int | None, generator: torch.Generator
) -> tuple[FitData, FitData | None]:
    """Hold out ``fraction`` of ``data`` for validation: ``(train, val)``.

    ``round(fraction * len(data))`` samples are held out, drawn with ``generator``. Class
    targets of fixed tensors are split per class (stratified): that count is shared among
    the classes in proportion to their sizes (largest remainders; a tie goes to the larger
    class, then to the class met first in the random order), and every class keeps at
    least one training sample. Other data are split at random. The parts share the tensors
    (see :attr:`FitData.rows`). Returns ``(data, None)`` when the split would hold fewer
    than :data:`MIN_VALIDATION` samples.

    This one split serves :func:`glai.fit` and the scikit-learn estimators.
    """
    count = round(fraction * len(data))
    if count < MIN_VALIDATION:
        return data, None
    order = torch.randperm(len(data), generator=generator)
    if data.fixed and classes is not None:
        labels = data.targets.cpu()[order]
        shares = _class_shares(labels, classes, count)
        val_rows = torch.cat([order[labels == c][:share] for c, share in enumerate(shares)])
        if len(val_rows) < MIN_VALIDATION:  # classes too small to give their shares
            return data, None
    else:
        val_rows = order[:count]
    keep = torch.ones(len(data), dtype=torch.bool)
    keep[val_rows] = False
    train_rows, val_rows = keep.nonzero().flatten(), val_rows.sort().values
    if not data.fixed:
        return FitData(dataset=Subset(data.dataset, train_rows.tolist())), FitData(
            dataset=Subset(data.dataset, val_rows.tolist())
        )
    device = data.inputs.device
    return (
        FitData(data.inputs, data.targets, rows=train_rows.to(device)),
        FitData(data.inputs, data.targets, rows=val_rows.to(device)),
    )


def _class_shares(labels: torch.Tensor, classes: int, count: int) -> list[int]:
    """How many samples of each class to hold out of ``labels`` (n,), in a random order:
    ``count`` apportioned to the class sizes by largest remainders, each class keeping one
    sample or more for training."""
    sizes = torch.bincount(labels, minlength=classes)
    quotas = sizes.double() * count / len(labels)
    shares = quotas.floor().long()
    first_met = torch.full((classes,), len(labels)).scatter_reduce(
        0, labels, torch.arange(len(labels)), reduce="amin"
    )
    ties = sorted(
        range(classes),
        key=lambda c: (-float(quotas[c] - shares[c]), -int(sizes[c]), int(first_met[c])),
    )
    for c in ties[: count - int(shares.sum())]:
        shares[c] += 1
    return torch.minimum(shares, (sizes - 1).clamp(min=0)).tolist()
