"""The panel's split into a choosing and a checking half: fixed, disjoint, complete,
balanced by problem, input family and size."""

import dataclasses
import math
import random
from collections import Counter

import pytest

from glai_bench.panel_halves import (
    BOTH,
    CHECKING,
    CHOOSING,
    HALF_OF,
    HALVES,
    geometric_mean,
    half_summary,
    selected_tasks,
    split_halves,
)
from glai_bench.panel_tasks import PANEL_FULL, SMALL_SIZE, TASKS

# Pinned: adding or changing a task moves others between halves; make that change here on
# purpose (a task that helped choose a default must not silently become a checking task).
CHOOSING_TASKS = {
    "digits 5-way 5-shot",
    "wine",
    "diabetes",
    "attrition",
    "digits EfficientNet-Lite0",
    "ames",
    "hpc jobs",
    "caravan",
    "lending club",
    "tweets",
    "crashes",
    "fashion pixels 60k",
}


def names(half: str) -> set[str]:
    return {name for name, value in HALF_OF.items() if value == half}


def test_the_split_is_the_pinned_one():
    assert names(CHOOSING) == CHOOSING_TASKS


def test_the_split_does_not_depend_on_the_order_of_the_list():
    shuffled = list(TASKS)
    random.Random(0).shuffle(shuffled)
    assert split_halves(shuffled) == split_halves(TASKS) == HALF_OF


def test_the_halves_are_disjoint_and_cover_every_task():
    assert set(HALF_OF) == {spec.name for spec in TASKS}
    assert set(HALF_OF.values()) == set(HALVES)
    assert len(HALF_OF) == len(TASKS)  # no name registered twice


@pytest.mark.parametrize("attribute", ["problem", "family"])
def test_each_problem_and_family_is_shared_within_one_task(attribute):
    counts = {half: Counter() for half in HALVES}
    for spec in TASKS:
        counts[HALF_OF[spec.name]][getattr(spec, attribute)] += 1
    for value in {getattr(spec, attribute) for spec in TASKS}:
        assert abs(counts[CHOOSING][value] - counts[CHECKING][value]) <= 1, value


def test_both_halves_span_the_sizes():
    sizes = {half: [spec.size for spec in TASKS if HALF_OF[spec.name] == half] for half in HALVES}
    assert abs(len(sizes[CHOOSING]) - len(sizes[CHECKING])) <= 1
    for half in HALVES:
        assert min(sizes[half]) <= 200 and max(sizes[half]) >= 40_000, half
    ratio = geometric_mean(sizes[CHECKING]) / geometric_mean(sizes[CHOOSING])
    assert 0.5 <= ratio <= 2


@pytest.mark.parametrize("half", HALVES)
def test_a_run_of_one_half_selects_its_tasks_only(half):
    selected = selected_tasks(dataclasses.replace(PANEL_FULL, half=half))
    assert {spec.name for spec in selected} == names(half)


def test_small_only_keeps_the_small_tasks_of_the_half():
    budget = dataclasses.replace(PANEL_FULL, half=CHOOSING, small_only=True)
    selected = selected_tasks(budget)
    assert selected and all(spec.size <= SMALL_SIZE for spec in selected)
    assert {spec.name for spec in selected} <= names(CHOOSING)


def test_both_selects_every_task_smallest_first():
    selected = selected_tasks(dataclasses.replace(PANEL_FULL, half=BOTH))
    assert selected == list(TASKS)
    assert [spec.size for spec in selected] == sorted(spec.size for spec in selected)


def test_an_unknown_half_is_refused():
    with pytest.raises(ValueError, match="unknown half 'tuning'"):
        selected_tasks(dataclasses.replace(PANEL_FULL, half="tuning"))


def verdict(floor_met, time_ratio, reference_seconds, speedup):
    return {
        "floor_met": floor_met,
        "time_ratio": time_ratio,
        "reference_seconds": reference_seconds,
        "speedup": speedup,
    }


def test_a_half_summary_counts_the_targets_over_its_tasks():
    summary = half_summary(
        [
            verdict(True, 0.5, 0.2, 0.3),  # the MLP's fit is under a second: no speedup count
            verdict(True, 1.0, 2.0, 4.0),
            verdict(False, 2.0, 3.0, 1.0),
            verdict(True, 1.0, 5.0, None),  # never reached the MLP's best
        ]
    )
    assert summary == {
        "tasks": 4,
        "floor_met": 3,
        "fit_no_longer": 3,
        "time_ratio": pytest.approx(1.0),
        "slow_tasks": 3,
        "speedup": pytest.approx(2.0),
        "never": 1,
    }


def test_the_geometric_mean_of_nothing_is_none():
    assert geometric_mean([]) is None
    assert geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert math.isclose(geometric_mean([3.0]), 3.0)
