"""glai bench prune: every row at every share, pruning's references, the adaptive-pruning
slot, and the study end to end in quick mode."""

import dataclasses
import json

import pytest

import glai
from glai_bench import prune as prune_bench
from glai_bench.bench_features import cache_dir
from glai_bench.comparison import accuracy
from glai_bench.fashion_mnist import fashion_mnist_available
from glai_bench.prune import (
    PRUNE_FULL,
    PRUNE_QUICK,
    PruneBudget,
    adaptive_row,
    prune_task,
    run_prune,
)
from glai_bench.prune_report import (
    GLAI_MODEL,
    MLP_MODEL,
    PRUNED_BY,
    SCRATCH,
    markdown,
    row_name,
)
from glai_bench.runner import SETTINGS
from glai_bench.settings import QUICK
from glai_bench.study_tasks import StudyTask
from problems import small_problem

ROWS = [
    *(
        row_name(model, by, retrained)
        for model in PRUNED_BY
        for by in PRUNED_BY[model]
        for retrained in (False, True)
    ),
    *SCRATCH.values(),
]


def tiny_task() -> StudyTask:
    """A head on a small synthetic problem: GLAI of width 16, the MLP of width 32."""
    x, y = small_problem(240)
    test = (x[200:], y[200:])
    return StudyTask(
        name="tiny",
        family="head",
        problem="multiclass",
        train=(x[:160], y[:160]),
        val=(x[160:200], y[160:200]),
        test_inputs=test[0],
        metric="accuracy",
        fit_options={"loss": "cross_entropy"},
        glai_width=16,
        equal_parameter_width=32,
        build_mlp=lambda width: glai.MLP(6, width, 3),
        build_glai=lambda: glai.GLAI(6, 16, 3),
        score=lambda model: accuracy(model, test),
    )


TINY = PruneBudget(None, (), (0.0, 0.5, 0.75), {"epochs": 2}, 32, 1)


@pytest.fixture(scope="module")
def tiny():
    return prune_task(tiny_task(), TINY)


def test_every_row_has_a_point_at_every_share_in_order(tiny):
    assert sorted(tiny["rows"]) == sorted(ROWS)
    for points in tiny["rows"].values():
        assert [p["fraction"] for p in points] == list(TINY.fractions)


@pytest.mark.parametrize("model", [GLAI_MODEL, MLP_MODEL])
def test_pruning_nothing_keeps_the_unpruned_metric_and_size(tiny, model):
    unpruned = tiny["unpruned"][model]
    for by in PRUNED_BY[model]:
        first = tiny["rows"][row_name(model, by, False)][0]
        assert first["test"] == unpruned["test"]
        assert first["parameters"] == unpruned["parameters"]


@pytest.mark.parametrize("model", [GLAI_MODEL, MLP_MODEL])
def test_the_pruned_widths_follow_the_share_and_the_controls_share_them(tiny, model):
    width = {GLAI_MODEL: 16, MLP_MODEL: 32}[model]
    expected = [[width - round(f * width)] for f in TINY.fractions]
    for by in PRUNED_BY[model]:
        for retrained in (False, True):
            points = tiny["rows"][row_name(model, by, retrained)]
            assert [p["hidden"] for p in points] == expected
            parameters = [p["parameters"] for p in points]
            assert parameters == sorted(parameters, reverse=True)
    assert [p["hidden"] for p in tiny["rows"][SCRATCH[model]]] == expected


def test_only_trained_rows_have_seconds(tiny):
    for name, points in tiny["rows"].items():
        trained = name.endswith(", retrained") or name in SCRATCH.values()
        assert all((p["seconds"] is not None and p["seconds"] > 0) == trained for p in points)


def test_the_targets_at_half_are_read_off_the_rows(tiny):
    targets = tiny["targets"]
    assert set(targets) == {row_name(GLAI_MODEL, by, True) for by in PRUNED_BY[GLAI_MODEL]}
    for name, target in targets.items():
        half = tiny["rows"][name][1]
        assert target["test"] == half["test"]
        assert target["gap"] == pytest.approx(half["test"] - tiny["unpruned"][GLAI_MODEL]["test"])
        assert target["scratch_test"] == tiny["rows"][SCRATCH[GLAI_MODEL]][1]["test"]
        assert target["beats_scratch"] == (target["as_accurate"] and target["no_slower"])


def test_the_targets_are_left_out_without_half():
    budget = dataclasses.replace(TINY, fractions=(0.0, 0.25))
    assert prune_task(tiny_task(), budget)["targets"] is None


def test_an_adaptive_row_is_one_entry(monkeypatch):
    monkeypatch.setattr(prune_bench, "ADAPTIVE_PRUNING", {"GLAI, one epoch": {"epochs": 1}})
    summary = prune_task(tiny_task(), dataclasses.replace(TINY, fractions=(0.0, 0.5)))
    row = summary["adaptive"]["GLAI, one epoch"]
    assert row["fraction"] == 0.0  # nothing prunes it: it ends with every unit
    assert row["hidden"] == [16]
    assert "| GLAI, one epoch | 0% |" in markdown([{**summary, "figure": "tiny.png"}])


def test_the_adaptive_row_trains_with_the_settings_given():
    point = adaptive_row(tiny_task(), {"loss": "cross_entropy"}, {"epochs": 1}, 1)
    assert point.seconds > 0
    assert 0 <= point.test <= 1


def test_every_adaptive_row_turns_adaptive_pruning_on():
    assert prune_bench.ADAPTIVE_PRUNING
    for settings in prune_bench.ADAPTIVE_PRUNING.values():
        assert glai.FitConfig(**settings).prune_threshold is not None


def test_the_full_study_has_at_least_five_tasks_and_the_five_shares():
    assert len(PRUNE_FULL.tasks) >= 5
    assert PRUNE_FULL.fractions == (0.0, 0.25, 0.5, 0.75, 0.9)
    assert set(PRUNE_QUICK.tasks) <= set(PRUNE_FULL.tasks)


def test_the_runner_knows_the_setting():
    assert SETTINGS["prune"] is run_prune


needs_data = pytest.mark.skipif(
    not fashion_mnist_available(), reason="Debian's dataset-fashion-mnist is not installed"
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("prune")
    return run_prune(QUICK, cache_dir(), out, None, False), out


@needs_data
def test_the_quick_study_covers_its_tasks_with_every_row(study):
    tasks = study[0]["tasks"]
    assert [t["task"] for t in tasks] == list(PRUNE_QUICK.tasks)
    assert {"accuracy", "R²"} == {t["metric"] for t in tasks}
    for task in tasks:
        assert sorted(task["rows"]) == sorted(ROWS)
        for points in task["rows"].values():
            assert [p["fraction"] for p in points] == list(PRUNE_QUICK.fractions)


@needs_data
def test_the_quick_study_prunes_nothing_at_zero(study):
    for task in study[0]["tasks"]:
        for model in PRUNED_BY:
            for by in PRUNED_BY[model]:
                first = task["rows"][row_name(model, by, False)][0]
                assert first["test"] == task["unpruned"][model]["test"]


@needs_data
def test_the_report_has_the_targets_a_section_and_a_plot_per_task(study):
    result, out = study
    assert json.loads((out / "prune.json").read_text())["table"] == result["table"]
    text = (out / "prune.md").read_text()
    for task in result["tasks"]:
        assert f"### {task['task']}" in text
        assert (out / task["figure"]).read_bytes()[:4] == b"\x89PNG"
        assert len(task["targets"]) == len(PRUNED_BY[GLAI_MODEL])
        assert f"| {task['task']} | {task['metric']} |" in text
