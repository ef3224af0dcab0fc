"""The harness's statistics: the t-interval and the median timing."""

import math

import pytest

from glai_bench.stats import median_seconds, t_interval


def test_t_interval_uses_the_student_quantile():
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    # t(0.975, 2 degrees of freedom) = 4.3027; standard error 1 / sqrt(3)
    assert high - mean == pytest.approx(4.3027 / math.sqrt(3), rel=1e-4)
    assert mean - low == pytest.approx(high - mean)
    wider = t_interval([1.0, 2.0, 3.0], confidence=0.99)
    assert wider[1] < low and wider[2] > high
    assert t_interval([5.0]) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError):
        t_interval([])


def test_median_seconds_warms_up_once_then_times_every_repeat():
    calls = []
    assert median_seconds(lambda: calls.append(1), 3) >= 0.0
    assert len(calls) == 4
    calls.clear()
    median_seconds(lambda: calls.append(1), 3, warm_up=False)
    assert len(calls) == 3
