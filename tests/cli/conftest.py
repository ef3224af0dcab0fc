"""Fixtures of the command's tests: tables written as CSV on the spot."""

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]], delimiter: str = ",") -> str:
    """A CSV file's text: the header, then one line per row."""
    lines = [delimiter.join(header)] + [delimiter.join(map(str, row)) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write ``csv_text(header, rows, delimiter)`` to ``tmp_path / name``; returns the path."""

    def write(name: str, header: Sequence[str], rows, delimiter: str = ",") -> Path:
        path = tmp_path / name
        path.write_text(csv_text(header, rows, delimiter))
        return path

    return write


@pytest.fixture
def features_table(write_csv) -> tuple[Path, np.ndarray]:
    """120 rows of four numeric columns a-d and a text label ``answer``, and the features."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype(np.float32)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    rows = [[*row, label] for row, label in zip(x.tolist(), labels)]
    return write_csv("data.csv", ["a", "b", "c", "d", "answer"], rows), x
