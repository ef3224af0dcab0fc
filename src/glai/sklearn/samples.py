"""What an estimator trains on: a weighted set of distinct samples, split for validation.

A sample weight counts as a number of copies of its row: an estimator's fit depends on
its data only through the distinct ``(x, y)`` rows and the total weight of each. Rows
equal bit for bit (inputs and target) are merged into one whose weight is the sum of
theirs (1 each without ``sample_weight``), rows of weight 0 are dropped, and the rows are
put in an order fixed by their content. So fitting with an integer weight and fitting with
the row repeated that many times see the same data and train the same model, bit for bit
(scikit-learn's sample-weight equivalence), whatever the order of the rows; and copies of
a row never straddle the validation split, which is drawn over distinct rows by
:func:`glai.training.fit_data.split_validation`, the split of :func:`glai.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from glai.sklearn.objectives import with_weights
from glai.training.fit_data import FitData, split_validation

Part = tuple[torch.Tensor, torch.Tensor]
"""Inputs and targets of the training or validation split (targets carry the weights, as
:func:`glai.sklearn.objectives.with_weights` packs them, when the samples are weighted)."""


@dataclass(frozen=True)
class Samples:
    """Distinct samples and their total weights, in an order fixed by their content.

    Attributes:
        inputs: (n, features) float32.
        targets: (n,) int64 class indices or (n, outputs) values.
        weights: (n,) float64, all positive.
    """

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray

    @classmethod
    def merge(cls, inputs: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> Samples:
        """The distinct rows of ``(inputs, targets)`` with the summed ``weights`` (n,) of
        their copies (rows of weight 0 are the caller's to drop: :func:`positive_rows`)."""
        keys = _row_keys(inputs, targets)
        _, first, copies = np.unique(keys, return_index=True, return_inverse=True)
        summed = np.bincount(copies.ravel(), weights=weights, minlength=len(first))
        return cls(inputs[first], targets[first], summed)

    def __len__(self) -> int:
        return len(self.weights)

    @property
    def weighted(self) -> bool:
        """Whether the weights differ (equal weights train exactly as no weights)."""
        return bool(np.any(self.weights != self.weights[0]))

    def split(
        self, targets: torch.Tensor, fraction: float, classes: int | None, seed: int | None
    ) -> tuple[Part, Part | None]:
        """Training and validation parts of ``(inputs, targets)``, ``targets`` being the
        rows' training targets (n, ...): ``fraction`` held out by :func:`split_validation`
        (stratified over ``classes`` if given), drawn with ``seed``; no validation part
        if ``fraction`` is 0 or the samples are too few.

        Weights, when they differ, ride in the targets, scaled to mean 1 within each part
        (a part's mean loss is then its weighted mean loss).
        """
        if fraction == 0:
            return self._part(targets, None), None
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        data = FitData(torch.from_numpy(self.inputs), targets)
        train, val = split_validation(data, fraction, classes, generator)
        if val is None:
            return self._part(targets, None), None
        return self._part(targets, train.rows), self._part(targets, val.rows)

    def _part(self, targets: torch.Tensor, rows: torch.Tensor | None) -> Part:
        inputs, weights = torch.from_numpy(self.inputs), torch.from_numpy(self.weights)
        if rows is not None:
            inputs, targets, weights = inputs[rows], targets[rows], weights[rows]
        if not self.weighted:
            return inputs, targets
        return inputs, with_weights(targets, weights / weights.mean())


def positive_rows(
    inputs: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs, labels, weights)`` without the rows of weight 0 (a weight of 0 is the
    row removed); ``weights`` (n,) float64, ones without ``sample_weight``."""
    if sample_weight is None:
        return inputs, labels, np.ones(len(inputs))
    kept = sample_weight > 0
    return inputs[kept], labels[kept], sample_weight[kept]


def _row_keys(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """One opaque key per row, equal exactly when the rows' bytes are: (n,) of void."""
    rows = np.concatenate(
        [
            np.ascontiguousarray(inputs).view(np.uint8).reshape(len(inputs), -1),
            np.ascontiguousarray(targets).view(np.uint8).reshape(len(targets), -1),
        ],
        axis=1,
    )
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
