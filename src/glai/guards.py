"""Small guard functions that reject bad input early, with a message naming the problem."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch


def as_widths(hidden_features: int | Sequence[int], name: str = "hidden_features") -> list[int]:
    """Normalise an int or a sequence of ints into a non-empty list of positive widths.

    Any integer counts (``numpy.int64`` too, as a numpy parameter grid gives); bools and
    floats do not. The widths come back as Python ints.
    """
    if _is_int(hidden_features):
        widths = [hidden_features]
    elif isinstance(hidden_features, Sequence) and not isinstance(hidden_features, str):
        widths = list(hidden_features)
    else:
        raise TypeError(
            f"{name} must be an int or a list of ints, got {type(hidden_features).__name__}"
        )
    if not widths:
        raise ValueError(f"{name} must name at least one hidden layer, got an empty list")
    for width in widths:
        if not _is_int(width):
            raise TypeError(f"{name} must contain ints, got {width!r}")
        if width < 1:
            raise ValueError(f"{name} must be positive, got {widths}")
    return [int(width) for width in widths]


def check_positive_int(value: int, name: str) -> None:
    """Raise unless ``value`` is an integer >= 1 (a numpy integer counts, a bool does not)."""
    _check_int_from(value, name, 1)


def check_non_negative_int(value: int, name: str) -> None:
    """Raise unless ``value`` is an integer >= 0 (a numpy integer counts, a bool does not)."""
    _check_int_from(value, name, 0)


def _check_int_from(value: int, name: str, lowest: int) -> None:
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {value}")


def _is_int(value: object) -> bool:
    """Whether ``value`` is an integer other than a bool (Python's or numpy's)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_features(
    x: object,
    in_features: int,
    dtype: torch.dtype,
    name: str = "input",
    device: torch.device | None = None,
) -> None:
    """Raise unless ``x`` is a tensor of shape ``(batch, ..., in_features)``, of ``dtype``
    (or, under ``torch.autocast`` on ``x``'s device, of a dtype that autocast casts as it
    casts ``dtype``, which ``nn.Linear`` takes) and (if given) on ``device``.

    Cheap: reads only metadata, never the values (no device synchronisation). Skipped
    while ``torch.jit.trace`` records, which would keep each check as a constant.
    """
    if torch.jit.is_tracing():
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(
            f"{name} must have shape (batch, {in_features}), got shape {tuple(x.shape)}"
        )
    if x.shape[-1] != in_features:
        raise ValueError(f"{name} has {x.shape[-1]} features, the model expects {in_features}")
    if x.dtype != dtype and not _autocast_casts(x, dtype):
        raise TypeError(
            f"{name} has dtype {x.dtype}, the model's parameters are {dtype}"
            + _autocast_note(x.device.type)
        )
    if device is not None and x.device != device:
        raise ValueError(f"{name} is on device {x.device}, the model's parameters on {device}")


AUTOCAST_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
"""The dtypes ``torch.autocast`` casts to its own (float64 and integers it leaves alone)."""


def _autocast_enabled(device_type: str) -> bool:
    """Whether ``torch.autocast`` is on for ``device_type`` (never for the meta device)."""
    return torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(device_type)


def _autocast_casts(x: torch.Tensor, dtype: torch.dtype) -> bool:
    """Whether autocast, enabled on ``x``'s device, brings ``x`` and parameters of
    ``dtype`` to one dtype, as it does in ``nn.Linear``."""
    return (
        x.dtype in AUTOCAST_DTYPES and dtype in AUTOCAST_DTYPES and _autocast_enabled(x.device.type)
    )


def _autocast_note(device_type: str) -> str:
    """What autocast accepts, for a dtype error's message raised under autocast."""
    if _autocast_enabled(device_type):
        dtypes = ", ".join(map(str, AUTOCAST_DTYPES))
        return f" (autocast is on, but it casts only {dtypes})"
    return ""


def check_finite(x: torch.Tensor, name: str = "input", chunk: int = 4096) -> None:
    """Raise if ``x`` holds NaN or infinite values.

    Reads every value, ``chunk`` rows at a time (so a memory-mapped array is streamed, not
    copied): call it once per data set, not per batch.
    """
    if not x.is_floating_point():
        return
    bad = sum(int((~torch.isfinite(part)).sum()) for part in x.split(chunk))
    if bad:
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")


def check_same_length(x: torch.Tensor, y: torch.Tensor, names: str = "X and y") -> None:
    """Raise unless ``x`` and ``y`` have the same number of rows."""
    if len(x) != len(y):
        raise ValueError(f"{names} have different lengths: {len(x)} and {len(y)}")


def check_kept_units(keep: Sequence[torch.Tensor], widths: Sequence[int]) -> None:
    """Raise unless ``keep`` holds, for each hidden layer of ``widths``, a 1-D integer tensor
    of distinct ascending unit indices in ``[0, width)``, at least one."""
    if isinstance(keep, torch.Tensor) or not isinstance(keep, Sequence):
        raise TypeError(f"keep must be a list of index tensors, got {type(keep).__name__}")
    if len(keep) != len(widths):
        raise ValueError(f"keep needs one tensor per hidden layer ({len(widths)}), got {len(keep)}")
    for layer, (kept, width) in enumerate(zip(keep, widths)):
        valid = (
            isinstance(kept, torch.Tensor)
            and kept.ndim == 1
            and not kept.is_floating_point()
            and kept.dtype != torch.bool
            and 0 < len(kept) <= width
            and int(kept[0]) >= 0
            and int(kept[-1]) < width
            and bool((kept[1:] > kept[:-1]).all())
        )
        if not valid:
            raise ValueError(
                f"keep[{layer}] must be a 1-D integer tensor of distinct ascending unit "
                f"indices in [0, {width}), at least one, got {kept!r}"
            )
