"""Shared test helpers: small synthetic problems, model shapes, and hand-made histories.

Test modules in every subdirectory import them as ``from problems import ...`` (``tests``
is on ``pythonpath`` in pyproject.toml).
"""

import copy

import torch

from glai import GLAI, EpochRecord, History

DEPTHS = [[7], [9, 6], [8, 7, 5]]
DTYPES = [torch.float32, torch.float64]


def small_problem(n=200, features=6, classes=3):
    """``(x, y)``: Gaussian inputs, the class is the largest of the first features."""
    x = torch.randn(n, features)
    y = (x[:, :classes] + 0.1 * torch.randn(n, classes)).argmax(1)
    return x, y


def history(values, greater=True, switch=None):
    """A ``History`` whose epoch ``i`` (from 1) ends at ``i`` s with metric ``values[i - 1]``."""
    records = [
        EpochRecord(
            epoch=i + 1,
            phase="train",
            seconds=float(i + 1),
            train_loss=1.0,
            val_metric=v,
            val_loss=1.0,
            lr=0.1,
        )
        for i, v in enumerate(values)
    ]
    return History("accuracy" if greater else "loss", greater, records, switch, None)


class CountingBackbone(torch.nn.Module):
    """A linear backbone that counts the samples it has seen, and can fail on demand."""

    def __init__(self, fail_after: int | None = None):
        super().__init__()
        self.linear = torch.nn.Linear(6, 3)
        self.seen = 0
        self.fail_after = fail_after

    def forward(self, x):
        if self.fail_after is not None and self.seen >= self.fail_after:
            raise KeyboardInterrupt("interrupted")
        self.seen += len(x)
        return self.linear(x)


def head_on_a_stem():
    """A GLAI head (hidden widths 6 and 4) on a ReLU layer, for 5 input features."""
    return torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.ReLU(), GLAI(12, [6, 4], 3))


def linears(model):
    """Every network of ``model`` as its list of linear layers (a GLAI has two)."""
    if isinstance(model, GLAI):
        return [model.structure.linears, list(model.paths)]
    return [model.linears]


def switched_off(model, keep):
    """A copy of ``model`` (a GLAI or MLP) whose hidden units not in ``keep`` (one index
    tensor per hidden layer) send nothing onwards, in every network it holds."""
    reference = copy.deepcopy(model)
    for layer, kept in enumerate(keep):
        removed = torch.ones(model.hidden_features[layer], dtype=torch.bool)
        removed[kept] = False
        with torch.no_grad():
            for network in linears(reference):
                network[layer + 1].weight[:, removed] = 0
    return reference
