"""glai bench panel in quick mode: every task, every model, the verdict table."""

import pytest

from glai_bench.bench_features import cache_dir
from glai_bench.fashion_mnist import fashion_mnist_available
from glai_bench.panel import PANEL_QUICK, run_panel
from glai_bench.panel_models import KERNEL, LINEAR, SKLEARN_MLP, TORCH_MODELS

pytestmark = pytest.mark.skipif(
    not fashion_mnist_available(), reason="Debian's dataset-fashion-mnist is not installed"
)
MODELS = [*TORCH_MODELS, SKLEARN_MLP, LINEAR, KERNEL]


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    out = tmp_path_factory.mktemp("panel")
    return run_panel(PANEL_QUICK, cache_dir(), out, None, False), out


def test_the_panel_spans_the_sizes_and_kinds_the_issue_asks_for(panel):
    tasks = panel[0]["tasks"]
    assert len(tasks) >= 10
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


def test_the_report_has_the_verdict_and_one_table_per_task(panel):
    result, out = panel
    text = (out / "panel.md").read_text()
    assert "| task | n train | features | GLAI − best MLP |" in text
    assert "| model | test accuracy (%) | fit time (s) | epochs (switch) |" in text
    for task in result["tasks"]:
        assert f"### {task['task']}" in text
    assert (out / "panel.json").is_file()


def test_the_control_switches_after_as_many_structural_epochs_as_glai():
    from sklearn.datasets import load_iris

    from glai_bench.panel_models import CONTROL, GLAI_DEFAULTS, Split, torch_models

    x, y = load_iris(return_X_y=True)
    x = x.astype("float32")
    split = Split("classification", x[::2], y[::2], x[1::2], y[1::2], 0)
    fitted = {r.model: r.history for r in torch_models(split, {"epochs": 3})}
    assert fitted[CONTROL].switch_epoch == fitted[GLAI_DEFAULTS].switch_epoch
    assert fitted[CONTROL].column("phase")[-1] == "quantitative"
