"""glai bench panel-defaults in quick mode: every study, every alternative, every task of
the half it runs on, and the choice made on the choosing half only."""

import dataclasses

import pytest

from glai_bench.bench_features import cache_dir
from glai_bench.panel_halves import CHOOSING, selected_tasks
from glai_bench.panel_study import choose, run_study
from glai_bench.panel_tasks import PANEL_QUICK

STUDIES = {
    "weight decay": {"0": {"weight_decay": 0.0}, "1e-3": {"weight_decay": 1e-3}},
    "tolerance": {"0": {"early_stopping_tol": 0.0}, "1%": {"early_stopping_tol": 0.01}},
}
BUDGET = dataclasses.replace(PANEL_QUICK, half=CHOOSING, small_only=True)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    return run_study(BUDGET, cache_dir(), out, None, False, STUDIES), out


def test_every_alternative_runs_on_every_task_of_the_half(study):
    result, _ = study
    names = {spec.name for spec in selected_tasks(BUDGET)}
    for name, content in result["studies"].items():
        assert set(content["tasks"]) == set(STUDIES[name])
        for tasks in content["tasks"].values():
            assert {task["task"] for task in tasks} == names
            assert all(task["half"] == CHOOSING for task in tasks)


def test_the_choice_is_made_on_the_choosing_half(study):
    result, _ = study
    for content in result["studies"].values():
        assert set(content["halves"]) == {CHOOSING}
        assert content["chosen"] == choose(content["halves"][CHOOSING])


def test_the_rule_prefers_the_floor_then_the_gap_then_the_time():
    figures = {
        "a": {"floor_met": 3, "mean_gap": -0.02, "time_ratio": 0.5},
        "b": {"floor_met": 4, "mean_gap": -0.03, "time_ratio": 0.9},
        "c": {"floor_met": 4, "mean_gap": -0.03, "time_ratio": 0.7},
    }
    assert choose(figures) == "c"


def test_the_report_shows_each_study(study):
    _, out = study
    text = (out / "panel-defaults-choosing.md").read_text()
    assert "### weight decay" in text and "### tolerance" in text
    assert "Chosen on the choosing half" in text
