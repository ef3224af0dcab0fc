"""glai bench panel in quick mode: every task, every model, the split, each half's
summary and the verdict tables."""

import json

import pytest

from glai_bench.bench_features import cache_dir
from glai_bench.fashion_mnist import fashion_mnist_available
from glai_bench.panel import panel_result, report_name, run_panel, verdict
from glai_bench.panel_halves import CHECKING, HALF_OF, HALVES
from glai_bench.panel_models import CONTROL, KERNEL, LINEAR, SKLEARN_MLP, TORCH_MODELS
from glai_bench.panel_tasks import BINARY, PANEL_QUICK, TASKS

pytestmark = pytest.mark.skipif(
    not fashion_mnist_available(), reason="Debian's dataset-fashion-mnist is not installed"
)
MODELS = [*TORCH_MODELS, SKLEARN_MLP, LINEAR, KERNEL]


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    out = tmp_path_factory.mktemp("panel")
    return run_panel(PANEL_QUICK, cache_dir(), out, None, False), out


def test_the_panel_runs_every_registered_task_in_its_half(panel):
    tasks = panel[0]["tasks"]
    assert [t["task"] for t in tasks] == [spec.name for spec in TASKS]
    assert all(t["half"] == HALF_OF[t["task"]] for t in tasks)
    kinds = {t["kind"] for t in tasks}
    assert kinds == {"classification", "regression"}
    assert min(t["features"] for t in tasks) == 4
    assert max(t["features"] for t in tasks) == 1280


@pytest.mark.parametrize("model", MODELS)
def test_every_task_scores_every_model(panel, model):
    for task in panel[0]["tasks"]:
        row = task["models"][model]
        assert row["seconds"] > 0
        assert row["test_mean"] == row["test_mean"]  # not NaN


def test_the_torch_rows_record_their_epochs_and_switches(panel):
    for task in panel[0]["tasks"]:
        models = task["models"]
        for name in TORCH_MODELS:
            assert len(models[name]["epochs"]) == len(models[name]["time_to_reference"])
        glai, mlp = models["GLAI (defaults)"], models["MLP, equal parameters"]
        assert all(1 <= s < e for s, e in zip(glai["switch_epochs"], glai["epochs"]))
        assert mlp["switch_epochs"] == [None] * len(mlp["epochs"])


def test_the_reference_reaches_its_own_best_in_every_split(panel):
    for task in panel[0]["tasks"]:
        row = task["models"]["MLP, equal parameters"]
        assert row["reached"] == len(row["time_to_reference"])
        assert row["speedup"] == pytest.approx(1.0)


def test_binary_tasks_are_scored_by_roc_auc_too(panel):
    problems = {spec.name: spec.problem for spec in TASKS}
    for task in panel[0]["tasks"]:
        binary = problems[task["task"]] == BINARY
        for name, row in task["models"].items():
            assert ("auc_mean" in row) == binary, (task["task"], name)
            if binary:
                assert 0.0 <= row["auc_mean"] <= 1.0
        assert ("auc_floor_met" in task["verdict"]) == binary


def test_the_report_has_the_halves_the_split_the_verdicts_and_one_table_per_task(panel):
    result, out = panel
    text = (out / "panel.md").read_text()
    assert "| half | model | tasks | floor met | fit no longer than the MLP's |" in text
    for spec in TASKS:
        assert f"| {spec.name} | {HALF_OF[spec.name]} | {spec.family} |" in text
    for half in HALVES:
        assert f"### The {half} half" in text
    assert "| task | n train | features | GLAI − best MLP | AUC: GLAI − best MLP |" in text
    assert "| model | test accuracy (%) | fit time (s) | epochs (switch) |" in text
    assert "| model | test accuracy (%) | test ROC AUC | fit time (s) |" in text
    for task in result["tasks"]:
        assert f"### {task['task']}" in text
    written = json.loads((out / "panel.json").read_text())
    assert written["split"]["halves"] == HALF_OF
    for half in HALVES:
        summary = written["halves"][half]
        assert summary["tasks"] == sum(t["half"] == half for t in written["tasks"])
        assert 0 <= summary["floor_met"] <= summary["tasks"]
        control = written["control_halves"][half]
        assert control["tasks"] == summary["tasks"]
        assert control["floor_met"] == sum(
            t["control_verdict"]["floor_met"] for t in written["tasks"] if t["half"] == half
        )
        assert f"| {half} | control (equal-width MLP, GLAI's two phases) | " in text


def test_the_control_is_judged_as_glai_is():
    models = {
        "GLAI (defaults)": {"test_mean": 0.90, "seconds": 1.0, "speedup": 2.0},
        "MLP, equal width, GLAI's two phases (control)": {
            "test_mean": 0.80,
            "seconds": 4.0,
            "speedup": None,
        },
        "MLP, equal parameters": {"test_mean": 0.85, "seconds": 2.0},
        "scikit-learn MLP (defaults)": {"test_mean": 0.88, "seconds": 0.5},
    }
    control = verdict("classification", models, CONTROL)
    assert control["gap_to_best_mlp"] == pytest.approx(-0.08)
    assert not control["floor_met"]
    assert control["time_ratio"] == pytest.approx(2.0)
    assert verdict("classification", models)["floor_met"]


def test_a_report_of_one_half_summarises_it_and_still_prints_the_whole_split(panel):
    checking = [t for t in panel[0]["tasks"] if t["half"] == CHECKING]
    result = panel_result(report_name("panel", CHECKING), checking)
    assert result["setting"] == "panel-checking"
    assert list(result["halves"]) == [CHECKING]
    assert all(f"| {spec.name} | {HALF_OF[spec.name]} |" in result["table"] for spec in TASKS)
    assert "### The choosing half" not in result["table"]


def test_the_control_switches_after_as_many_structural_epochs_as_glai():
    from sklearn.datasets import load_iris

    from glai_bench.panel_models import CONTROL, GLAI_DEFAULTS, Split, torch_models

    x, y = load_iris(return_X_y=True)
    x = x.astype("float32")
    split = Split("classification", x[::2], y[::2], x[1::2], y[1::2], 0)
    fitted = {r.model: r.history for r in torch_models(split, {"epochs": 3})}
    assert fitted[CONTROL].switch_epoch == fitted[GLAI_DEFAULTS].switch_epoch
    assert fitted[CONTROL].column("phase")[-1] == "quantitative"
