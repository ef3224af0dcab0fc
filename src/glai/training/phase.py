"""The phases of a training run."""

from __future__ import annotations

from enum import Enum


class Phase(str, Enum):
    """Which part of the network an epoch trained.

    A ``str`` enum: it compares equal to its value (``Phase.STRUCTURAL == "structural"``)
    and is written as that value in histories and checkpoints.
    """

    STRUCTURAL = "structural"  # a GLAI's structure trains, as a ReLU MLP
    QUANTITATIVE = "quantitative"  # the structure is frozen, the paths train
    TRAIN = "train"  # a model without a structural phase trains in one phase

    def __str__(self) -> str:
        return self.value
