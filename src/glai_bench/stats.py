"""The harness's statistics: a t-based confidence interval and a median timing."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and the Student-t confidence interval around it.

    Args:
        values: at least one sample.
        confidence: coverage of the interval, e.g. ``0.95``.

    Returns:
        ``(mean, low, high)``; with a single value the interval is the value itself.
    """
    values = list(values)
    if not values:
        raise ValueError("t_interval needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    from scipy.stats import t  # scipy is slow to import: only when an interval is needed

    quantile = float(t.ppf((1 + confidence) / 2, len(values) - 1))
    half = quantile * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def median_seconds(step: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``step``.

    Args:
        step: the work to time, called without arguments.
        repeats: timed calls (at least one).
        warm_up: make one untimed call first (allocator, thread pools, first calls).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if warm_up:
        step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)
