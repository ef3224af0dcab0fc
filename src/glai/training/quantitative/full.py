"""The default quantitative phase: every path weight trains, on the inputs."""

from __future__ import annotations

from glai.training.quantitative.base import QuantitativeStrategy


class FullPaths(QuantitativeStrategy):
    """Train every path weight of the frozen GLAI on the training inputs, with their
    masks cached once (the base behaviour)."""

    name = "full"
