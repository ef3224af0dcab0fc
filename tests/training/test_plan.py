"""Each phase is planned once: the plan says what was chosen and why, the history keeps
it, and a setting the plan leaves unused is reported."""

import warnings

import pytest

from glai import GLAI, MLP, StructureMonitor, fit
from glai.training.history import History
from glai.training.plan import PhasePlan
from problems import small_problem


def test_the_history_keeps_one_plan_per_phase_with_its_reasons():
    history = fit(GLAI(6, 8, 3), small_problem(), epochs=4, seed=0, max_structural_epochs=2)
    assert [plan["phase"] for plan in history.plans] == ["structural", "quantitative"]
    final = PhasePlan.from_dict(history.plans[1])
    assert final.solver == "lbfgs" and final.output_start == "ridge"
    assert any("200" not in reason and "auto" in reason for reason in final.reasons)
    assert History.from_dict(history.to_dict()).plans == history.plans


def test_the_phases_summary_counts_epochs_and_solvers():
    history = fit(
        GLAI(6, 8, 3),
        small_problem(),
        epochs=5,
        seed=0,
        early_stopping=None,
        monitor=StructureMonitor.after(2),
    )
    summary = history.phases()
    assert [(s["phase"], s["epochs"], s["solver"]) for s in summary] == [
        ("structural", 2, "minibatch"),
        ("quantitative", 3, "lbfgs"),
    ]
    assert "L-BFGS" in summary[1]["plan"]


def test_epochs_is_the_budget_of_both_phases():
    history = fit(GLAI(6, 8, 3), small_problem(), epochs=5, seed=0, early_stopping=None)
    assert len(history) == 5
    assert history.switch_epoch is not None and history.switch_epoch <= 4


def test_a_single_epoch_still_switches():
    model = GLAI(6, 8, 3)
    history = fit(model, small_problem(), epochs=1, seed=0)
    assert len(history) == 1 and history.switch_epoch == 1 and model.frozen


@pytest.mark.parametrize(
    ("settings", "named"),
    [({"lr": 0.01}, "lr"), ({"schedule": "constant"}, "schedule")],
    ids=["lr", "schedule"],
)
def test_minibatch_settings_under_lbfgs_are_reported(settings, named):
    with pytest.warns(UserWarning, match=f"{named} set, but the quantitative phase trains by"):
        fit(GLAI(6, 8, 3), small_problem(), epochs=3, seed=0, **settings)


def test_the_warning_points_at_the_caller():
    with pytest.warns(UserWarning) as caught:
        fit(GLAI(6, 8, 3), small_problem(), epochs=3, seed=0, lr=0.01)
    assert caught[0].filename == __file__


def test_minibatch_settings_under_minibatch_are_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(MLP(6, 8, 3), small_problem(), epochs=2, seed=0, lr=0.01, schedule="constant")
        fit(GLAI(6, 8, 3), small_problem(), epochs=3, seed=0, lr=0.01, solver="minibatch")


def test_a_ridge_start_without_a_switch_is_reported():
    with pytest.warns(UserWarning, match="output_start='ridge' applies after a switch"):
        fit(MLP(6, 8, 3), small_problem(), epochs=2, seed=0, output_start="ridge")
