"""Reading user tables (.npz with X/y, or .csv with a label column) and writing predictions."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np


class DataFileError(ValueError):
    """A data file that cannot be used, with a one-line reason."""


def load_table(
    path: str | os.PathLike, label: str | None = "label", require_label: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Features and labels from a ``.npz`` (arrays ``X``, ``y``) or ``.csv`` file.

    Args:
        path: the file.
        label: the CSV column holding the targets (ignored for ``.npz``).
        require_label: raise if there are no labels (training); when false, labels are
            returned if present and ``None`` otherwise (prediction).

    Returns:
        ``X`` as float32 (n_samples, n_features) and ``y`` (n_samples,) or ``None``.

    Raises:
        FileNotFoundError: no file at ``path``.
        DataFileError: unknown format, missing or unknown columns, non-numeric features,
            mismatched lengths, or no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        features, labels = _read_npz(path)
    elif suffix == ".csv":
        features, labels = _read_csv(path, label, require_label)
    else:
        raise DataFileError(f"{path}: unsupported format {suffix or '(none)'}; use .npz or .csv")
    if labels is None and require_label:
        raise DataFileError(f"{path} has no labels (array y)")
    if features.ndim != 2 or len(features) == 0 or features.shape[1] == 0:
        raise DataFileError(f"{path}: X must be a non-empty 2-D table, got shape {features.shape}")
    if labels is not None and len(labels) != len(features):
        raise DataFileError(f"{path}: X has {len(features)} rows but y has {len(labels)}")
    return features, labels


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive:
                raise DataFileError(f"{path} has no array X (arrays: {', '.join(archive.files)})")
            labels = archive.get("y")
            features = archive["X"]
    except (OSError, ValueError, EOFError) as error:
        if isinstance(error, DataFileError):
            raise
        raise DataFileError(f"{path} is not a readable .npz file ({error})") from error
    try:
        return features.astype(np.float32), labels
    except (TypeError, ValueError) as error:
        raise DataFileError(f"{path}: X is not numeric ({error})") from error


def _read_csv(
    path: Path, label: str | None, require_label: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(f"{path} is not a readable text file ({error})") from error
    if len(rows) < 2:
        raise DataFileError(f"{path} needs a header row and at least one data row")
    header, body = rows[0], rows[1:]
    if label is not None and label in header:
        column = header.index(label)
    elif require_label:
        raise DataFileError(
            f"{path} has no column {label!r}; columns are: {', '.join(header)} "
            "(choose one with --label)"
        )
    else:
        column = None
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataFileError(
                f"{path} line {number} has {len(row)} fields, the header has {len(header)}"
            )
    labels = np.array([row[column] for row in body]) if column is not None else None
    feature_rows = [[v for i, v in enumerate(row) if i != column] for row in body]
    try:
        features = np.array(feature_rows, dtype=np.float32)
    except ValueError as error:
        raise DataFileError(f"{path}: a feature column is not numeric ({error})") from error
    return features, _numeric_if_possible(labels)


def _numeric_if_possible(labels: np.ndarray | None) -> np.ndarray | None:
    """CSV labels as integers or floats when they all parse, else strings."""
    if labels is None:
        return None
    for kind in (np.int64, np.float64):
        try:
            return labels.astype(kind)
        except ValueError:
            continue
    return labels


def write_predictions(predictions: np.ndarray, path: str | os.PathLike | None) -> str:
    """Write one prediction per line (CSV, header ``prediction``); returns the text.

    Args:
        predictions: (n_samples,) or (n_samples, n_outputs).
        path: destination, or ``None`` to only return the text.
    """
    predictions = np.asarray(predictions)
    columns = 1 if predictions.ndim == 1 else predictions.shape[1]
    header = ["prediction"] if columns == 1 else [f"prediction_{i}" for i in range(columns)]
    lines = [",".join(header)]
    for row in predictions.reshape(len(predictions), -1):
        lines.append(",".join(str(value) for value in row))
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text)
    return text
