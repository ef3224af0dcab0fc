"""glai bench panel-solvers in quick mode: every solver, every torch model, one table."""

import pytest

from glai_bench.bench_features import cache_dir
from glai_bench.panel import PANEL_QUICK
from glai_bench.panel_models import TORCH_MODELS
from glai_bench.panel_solvers import SOLVERS, run_solver_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("solvers")
    return run_solver_study(PANEL_QUICK, cache_dir(), out, None, False), out


def test_every_small_task_has_every_solver_and_model(study):
    rows = study[0]["rows"]
    tasks = {r["task"] for r in rows}
    assert len(tasks) == 7  # the panel's tasks of up to 5,000 samples
    for task in tasks:
        pairs = {(r["solver"], r["model"]) for r in rows if r["task"] == task}
        assert pairs == {(s, m) for s in SOLVERS for m in TORCH_MODELS}
    assert all(r["seconds"] > 0 and r["test_mean"] == r["test_mean"] for r in rows)


def test_the_report_has_one_table_per_task(study):
    result, out = study
    text = (out / "panel-solvers.md").read_text()
    for task in {r["task"] for r in result["rows"]}:
        assert f"### {task}" in text
    assert text.count("| MLP, equal width, GLAI's two phases (control) |") == 7
