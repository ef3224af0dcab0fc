"""glai bench panel-solvers in quick mode: every solver, every torch model, one table."""

import dataclasses

import pytest

from glai_bench.bench_features import cache_dir
from glai_bench.panel_halves import CHOOSING, selected_tasks
from glai_bench.panel_models import TORCH_MODELS
from glai_bench.panel_solvers import SOLVERS, run_solver_study
from glai_bench.panel_tasks import PANEL_QUICK

SMALL_CHOOSING = selected_tasks(dataclasses.replace(PANEL_QUICK, half=CHOOSING, small_only=True))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("solvers")
    return run_solver_study(PANEL_QUICK, cache_dir(), out, None, False), out


def test_every_small_task_of_the_choosing_half_has_every_solver_and_model(study):
    rows = study[0]["rows"]
    tasks = {r["task"] for r in rows}
    assert tasks == {spec.name for spec in SMALL_CHOOSING}
    for task in tasks:
        pairs = {(r["solver"], r["model"]) for r in rows if r["task"] == task}
        assert pairs == {(s, m) for s in SOLVERS for m in TORCH_MODELS}
    assert all(r["seconds"] > 0 and r["test_mean"] == r["test_mean"] for r in rows)


def test_the_report_has_one_table_per_task(study):
    result, out = study
    text = (out / "panel-solvers.md").read_text()
    for task in {r["task"] for r in result["rows"]}:
        assert f"### {task}" in text
    assert text.count("| MLP, equal width, GLAI's two phases (control) |") == len(SMALL_CHOOSING)
