"""Reading user tables (.npz with X/y, or .csv with a label column) and writing predictions."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DELIMITERS = ",;\t|"
"""The column delimiters that a CSV file may use; the first lines tell which."""

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}
_SNIFF_LINES = 20


class DataFileError(ValueError):
    """A data file that cannot be used, with a one-line reason."""


@dataclass(frozen=True)
class Table:
    """A data file's features, targets and feature column names.

    Attributes:
        features: float32 (n_samples, n_features).
        labels: (n_samples,) targets, or ``None``.
        columns: the names of the feature columns, in order (``None`` for ``.npz``).
        ignored: CSV columns that were neither features nor the label.
        text: CSV columns of words, read apart from ``features`` when asked for
            (``keep_text``): name -> (n_samples,) strings.
    """

    features: np.ndarray
    labels: np.ndarray | None
    columns: list[str] | None
    ignored: list[str]
    text: dict[str, np.ndarray] = field(default_factory=dict)


def load_table(
    path: str | os.PathLike,
    label: str | None = "label",
    require_label: bool = True,
    columns: Sequence[str] | None = None,
    keep_text: bool = False,
) -> Table:
    """Features, labels and feature names from a ``.npz`` (arrays ``X``, ``y``) or ``.csv``.

    A CSV's delimiter (comma, semicolon, tab or ``|``) is found from its first lines; a
    file without any of them is one column. Blank lines are skipped.

    Args:
        path: the file.
        label: the CSV column holding the targets (ignored for ``.npz``).
        require_label: raise if there are no labels (training); when false, labels are
            returned if present and ``None`` otherwise (prediction).
        columns: for a CSV, the feature columns to read by name, in this order (the
            other columns, but the label, are listed in ``Table.ignored``); by default
            every column but the label, in file order. A ``.npz`` is always positional.
        keep_text: a CSV column with a cell that is not a number is kept, as words, in
            ``Table.text`` instead of being an error; an empty cell in a column of
            numbers is then a missing value (NaN).

    Raises:
        FileNotFoundError: no file at ``path``.
        DataFileError: unknown format or delimiter, missing, repeated or unknown columns,
            non-numeric features (naming the line and column), mismatched lengths, or no
            rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        features, labels = _read_npz(path)
        table = Table(features, labels, None, [])
    elif suffix == ".csv":
        table = _read_csv(path, label, require_label, columns, keep_text)
    else:
        raise DataFileError(f"{path}: unsupported format {suffix or '(none)'}; use .npz or .csv")
    features, labels = table.features, table.labels
    if labels is None and require_label:
        raise DataFileError(f"{path} has no labels (array y)")
    if features.ndim != 2 or len(features) == 0 or features.shape[1] == 0:
        raise DataFileError(f"{path}: X must be a non-empty 2-D table, got shape {features.shape}")
    if labels is not None and len(labels) != len(features):
        raise DataFileError(f"{path}: X has {len(features)} rows but y has {len(labels)}")
    return table


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
    path: Path,
    label: str | None,
    require_label: bool,
    columns: Sequence[str] | None,
    keep_text: bool = False,
) -> Table:
    header, body = _read_rows(path)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataFileError(f"{path}: the header names column {repeated[0]!r} more than once")
    label_is_a_feature = columns is not None and label in columns
    if label is not None and label in header and not label_is_a_feature:
        label_index = header.index(label)
    elif require_label:
        raise DataFileError(
            f"{path} has no column {label!r}; columns are: {', '.join(header)} "
            "(choose one with --label)"
        )
    else:
        label_index = None
    others = [name for index, name in enumerate(header) if index != label_index]
    if columns is None:
        names, ignored = others, []
    else:
        missing = [name for name in columns if name not in header]
        if missing:
            raise DataFileError(
                f"{path} has no column {missing[0]!r}, which the model was trained on"
                + (f" ({len(missing)} columns missing)" if len(missing) > 1 else "")
            )
        names, ignored = list(columns), [name for name in others if name not in columns]
    indices = [header.index(name) for name in names]
    text = {}
    if keep_text:
        words = [
            i for i in indices if not all(_is_number(r[i]) or not r[i].strip() for _, r in body)
        ]
        text = {header[i]: np.array([row[i] for _, row in body]) for i in words}
        names = [name for name in names if name not in text]
        indices = [i for i in indices if i not in words]
    features = _numbers(path, header, body, indices, missing_ok=keep_text)
    labels = None
    if label_index is not None:
        labels = _numeric_if_possible(np.array([row[label_index] for _, row in body]))
    return Table(features, labels, names, ignored, text)


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows, each with its line number (the header's is 1)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(f"{path} is not a readable text file ({error})") from error
    delimiter = _delimiter(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as error:
        raise DataFileError(f"{path} line {reader.line_num}: {error}") from error
    if len(rows) < 2:
        raise DataFileError(f"{path} needs a header row and at least one data row")
    (_, header), body = rows[0], rows[1:]
    for number, row in body:
        if len(row) != len(header):
            raise DataFileError(
                f"{path} line {number} has {len(row)} fields, the header has {len(header)} "
                f"(columns split on {_DELIMITER_NAMES[delimiter]})"
            )
    return header, body


def _delimiter(path: Path, text: str) -> str:
    """The delimiter of the CSV ``text``: csv.Sniffer's on its first lines, else the only
    candidate in the header (so that a ragged row is reported as such)."""
    lines = text[: 1 << 16].splitlines()[:_SNIFF_LINES]
    sample = "\n".join(lines)
    if not any(delimiter in sample for delimiter in DELIMITERS):
        return ","  # a single column
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        in_header = [delimiter for delimiter in DELIMITERS if delimiter in lines[0]]
        if len(in_header) == 1:
            return in_header[0]
    tried = ", ".join(_DELIMITER_NAMES[delimiter] for delimiter in DELIMITERS)
    raise DataFileError(
        f"{path}: cannot tell which delimiter separates the columns (tried {tried})"
    )


def _numbers(
    path: Path,
    header: list[str],
    body: list[tuple[int, list[str]]],
    indices: list[int],
    missing_ok: bool = False,
) -> np.ndarray:
    """The columns ``indices`` of ``body`` as float32; a cell that is not a number is named
    by its line and column (an empty one is NaN if ``missing_ok``)."""

    def value(cell: str) -> float:
        return math.nan if missing_ok and not cell.strip() else float(cell)

    numbers = []
    for number, row in body:
        try:
            numbers.append([value(row[index]) for index in indices])
        except ValueError:
            index = next(i for i in indices if not _is_number(row[i]))
            cell = repr(row[index]) if row[index].strip() else "an empty field"
            raise DataFileError(
                f"{path} line {number}, column {header[index]!r}: {cell} is not a number"
            ) from None
    return np.array(numbers, dtype=np.float32).reshape(len(body), len(indices))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def format_predictions(columns: Sequence[str], values: np.ndarray) -> str:
    """Predictions as CSV text: a header of ``columns``, then one row per sample.

    Args:
        columns: the column names.
        values: (n_samples,) or (n_samples, len(columns)).
    """
    values = np.asarray(values)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(values.reshape(len(values), -1).tolist())
    return text.getvalue()
