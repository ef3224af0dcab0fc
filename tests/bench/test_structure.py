"""glai bench structure: the curves and their levels, the rule replay, the switch at
convergence, and the study end to end in quick mode."""

import json

import pytest
import torch

import glai
from glai.nn.monitor import StructureCheck, StructureMonitor, SwitchRule
from glai.nn.transformer import MLPTransformerEncoderLayer
from glai_bench.bench_features import cache_dir
from glai_bench.fashion_mnist import fashion_mnist_available
from glai_bench.runner import SETTINGS
from glai_bench.sequences import missing_packages
from glai_bench.settings import QUICK
from glai_bench.structure import (
    ENDS,
    RECORDED,
    STRUCTURE_FULL,
    STRUCTURE_QUICK,
    run_structure,
    with_frozen_gates,
)
from glai_bench.structure_curves import (
    LEVELS,
    STRUCTURE_MEASURES,
    TO_FINAL,
    VALIDATION,
    Firing,
    Recording,
    StructureRecorder,
    curves,
    reach_epoch,
    reach_table,
    replay,
    switch_verdict,
)
from glai_bench.transformer import WordClassifier
from problems import small_problem

CUMULATIVE = [m for m in STRUCTURE_MEASURES if m != TO_FINAL]


@pytest.mark.parametrize(
    ("progress", "level", "epoch"),
    [
        ([0.0, 0.5, 0.95, 1.0], 0.9, 2),
        ([0.0, 0.95, 0.5, 1.0], 0.9, 3),  # dips below after reaching: not settled yet
        ([0.0, 1.2, 1.1, 1.0], 0.9, 1),  # overshoots and stays above
        ([0.0, 1.0], 0.99, 1),
        ([None, None], 0.9, None),
    ],
)
def test_reach_epoch_is_the_first_epoch_from_which_the_curve_stays_above(progress, level, epoch):
    assert reach_epoch(progress, level) == epoch


def _checks(changes, steps=10, val_losses=None):
    val_losses = val_losses or [None] * len(changes)
    return [
        StructureCheck(change, (change,), change, steps, loss, change)
        for change, loss in zip(changes, val_losses)
    ]


def test_the_replay_names_the_stable_rule_and_the_cap():
    checks = _checks([0.5, 0.4, 0.01, 0.01, 0.01])
    rule = SwitchRule(threshold=0.15, patience=2, min_structural_steps=0)
    assert replay(checks, rule) == Firing(4, "stable")
    assert replay(checks, StructureMonitor.after(3).rule) == Firing(3, "cap")
    assert replay(checks[:2], rule) == Firing(None, None)


def test_the_replay_fires_where_the_monitor_switched_in_fit():
    x, y = small_problem(300)
    rule = SwitchRule(threshold=0.5, patience=1, min_structural_steps=0, switch_on_plateau=False)
    monitor = StructureMonitor(x[:100], rule)
    history = glai.fit(glai.GLAI(6, 32, 3), (x, y), epochs=30, seed=0, monitor=monitor)
    assert 1 <= history.switch_epoch < 29  # the rule, not the budget
    assert replay(monitor.checks_, rule).epoch == history.switch_epoch


def test_the_replay_names_a_plateau():
    checks = _checks([0.5, 0.5, 0.5, 0.5], val_losses=[1.0, 0.9, 0.95, 0.95])
    rule = SwitchRule(threshold=0.0, patience=2, min_structural_steps=0)
    firing = replay(checks, rule)
    assert (firing.epoch, firing.reason) == (4, "plateau")


@pytest.mark.parametrize(
    ("switch", "verdict"), [(None, "never"), (1, "early"), (3, "in the window"), (5, "late")]
)
def test_the_switch_verdict_reads_the_structure_and_the_metric(switch, verdict):
    progress = {
        TO_FINAL: [0.0, 0.5, 0.95, 0.97, 0.99, 1.0, 1.0],
        VALIDATION: [0.0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0],
    }
    assert switch_verdict(reach_table(progress), switch) == verdict


@pytest.fixture(scope="module")
def recording():
    """An MLP trained for 6 epochs on a small problem, every epoch recorded."""
    torch.manual_seed(0)
    x, y = small_problem(300)
    model = glai.MLP(6, 32, 3)
    recorder = StructureRecorder(x[:100], steps_per_epoch=10)
    history = glai.fit(
        model, (x[:200], y[:200]), (x[200:], y[200:]), epochs=6, seed=0, callbacks=[recorder]
    )
    return Recording(history, recorder.monitor.checks_, recorder.patterns, 1 / 3)


def test_the_recorder_keeps_the_untrained_patterns_and_one_check_per_epoch(recording):
    assert len(recording.patterns) == len(recording.history) + 1 == 7
    assert len(recording.checks) == 6
    assert all(check.steps == 10 for check in recording.checks)


@pytest.mark.parametrize("curve", [*STRUCTURE_MEASURES, VALIDATION])
def test_every_curve_runs_from_0_to_1_over_the_epochs_to_convergence(recording, curve):
    progress = curves(recording)[curve]
    assert len(progress) == recording.converged + 1
    assert progress[0] == pytest.approx(0.0)
    assert progress[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("curve", CUMULATIVE)
def test_the_summed_changes_are_monotone(recording, curve):
    progress = curves(recording)[curve]
    assert all(a <= b for a, b in zip(progress, progress[1:]))


def test_levels_are_reached_in_order_within_the_run(recording):
    for cells in reach_table(curves(recording)).values():
        epochs = [cells[f"{level:.0%}"]["epoch"] for level in LEVELS]
        assert epochs == sorted(epochs)
        assert all(0 <= cells[key]["share"] <= 1 for key in cells)


def test_gates_from_a_trained_mlp_give_its_output(digits):
    mlp = glai.MLP(64, 16, 10)
    glai.fit(mlp, digits["train"], digits["val"], epochs=2, seed=0)
    switched = with_frozen_gates(mlp)
    assert switched.frozen
    x = digits["test"][0]
    torch.testing.assert_close(switched.eval()(x), mlp.eval()(x))


def test_gates_from_a_trained_transformer_replace_every_feed_forward_block():
    torch.manual_seed(0)
    encoder = WordClassifier(MLPTransformerEncoderLayer, 10, 3, 5, 8, 2, 16, 2, 0.0).eval()
    switched = with_frozen_gates(encoder).eval()
    assert len(glai.nn.switching.glai_blocks(switched)) == 2
    assert all(block.frozen for block in glai.nn.switching.glai_blocks(switched).values())
    tokens = torch.randint(2, 10, (4, 5))
    torch.testing.assert_close(switched(tokens), encoder(tokens))
    assert not glai.nn.switching.glai_blocks(encoder)  # the trained network is left as it was


def test_the_full_study_has_at_least_eight_panel_tasks_of_both_kinds():
    assert len(STRUCTURE_FULL.tasks) >= 8
    assert set(STRUCTURE_QUICK.tasks) <= set(STRUCTURE_FULL.tasks)


def test_the_runner_knows_the_setting():
    assert SETTINGS["structure"] is run_structure


needs_data = pytest.mark.skipif(
    not fashion_mnist_available() or bool(missing_packages()),
    reason="Debian's dataset-fashion-mnist or word lists are not installed",
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("structure")
    return run_structure(QUICK, cache_dir(), out, None, False), out


@needs_data
def test_the_quick_study_covers_heads_of_both_kinds_a_projection_head_and_a_transformer(study):
    tasks = study[0]["tasks"]
    assert [t["task"] for t in tasks][: len(STRUCTURE_QUICK.tasks)] == list(STRUCTURE_QUICK.tasks)
    assert {t["family"] for t in tasks} == {"head", "projection head", "Transformer feed-forward"}
    assert {"regression", "multiclass", "binary"} <= {t["problem"] for t in tasks}


@needs_data
def test_every_task_has_every_row(study):
    for task in study[0]["tasks"]:
        assert list(task["ends"]) == [*RECORDED, *ENDS]
        for row in task["ends"].values():
            assert row["seconds"] > 0
            assert row["test"] == row["test"]  # not NaN
        assert task["ends"][ENDS[0]]["switch_epoch"] == 0


@needs_data
def test_every_recorded_run_has_every_curve_and_level(study):
    for task in study[0]["tasks"]:
        for run in task["runs"].values():
            assert set(run["curves"]) == {*STRUCTURE_MEASURES, VALIDATION}
            assert len(run["val_metric"]) == run["epochs"] + 1
            assert run["distance_to_final"][-1] == 0.0
            for cells in run["reach"].values():
                for cell in cells.values():
                    assert cell["share"] is None or 0 <= cell["share"] <= 1


@needs_data
def test_the_summed_curves_of_every_run_are_monotone(study):
    for task in study[0]["tasks"]:
        for run in task["runs"].values():
            for curve in CUMULATIVE:
                progress = run["curves"][curve]
                if progress[0] is not None:
                    assert all(a <= b + 1e-12 for a, b in zip(progress, progress[1:]))


@needs_data
def test_the_report_has_a_section_a_figure_and_a_statement_per_task(study):
    result, out = study
    saved = json.loads((out / "structure.json").read_text())
    text = (out / "structure.md").read_text()
    assert saved["table"] == result["table"]
    for task in result["tasks"]:
        assert f"### {task['task']}" in text
        assert (out / task["figure"]).read_bytes()[:4] == b"\x89PNG"
        assert task["path_distance_cost"]["ratio"] > 0
    assert text.count("the structure settles earlier") + text.count("does not settle") >= len(
        result["tasks"]
    )
