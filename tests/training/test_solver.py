"""PhaseSolver: the optimiser and schedule a plan asks for; the plateau schedule."""

import pytest
import torch

from glai import GLAI, fit
from glai.training.solver import PLATEAU_FACTOR, PLATEAU_PATIENCE, PlateauDecay
from problems import small_problem


def optimizer(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def rates(values, tol=0.0):
    decay = PlateauDecay(optimizer(), tol)
    seen = []
    for value in values:
        decay.step(value)
        seen.append(decay.optimizer.param_groups[0]["lr"])
    return seen


def test_the_rate_falls_after_patience_epochs_without_a_better_loss():
    assert PLATEAU_PATIENCE == 2
    assert rates([1.0, 1.1, 1.2, 0.5, 0.6, 0.7]) == pytest.approx(
        [1.0, 1.0, PLATEAU_FACTOR, PLATEAU_FACTOR, PLATEAU_FACTOR, PLATEAU_FACTOR**2]
    )


def test_improvements_below_the_tolerance_count_as_stalls():
    assert rates([1.0, 0.999, 0.998], tol=0.01)[-1] == pytest.approx(PLATEAU_FACTOR)


def test_negative_losses_that_get_worse_count_as_stalls():
    assert rates([-5.0, -4.9, -4.8], tol=0.01)[-1] == pytest.approx(PLATEAU_FACTOR)


def test_the_state_round_trips():
    decay = PlateauDecay(optimizer(), 0.0)
    decay.step(1.0)
    decay.step(2.0)
    other = PlateauDecay(optimizer(), 0.0)
    other.load_state_dict(decay.state_dict())
    other.step(3.0)
    assert other.optimizer.param_groups[0]["lr"] == pytest.approx(PLATEAU_FACTOR)


def test_fit_with_the_plateau_schedule_continues_at_the_structural_rate():
    train, val = small_problem(), small_problem(100)
    history = fit(
        GLAI(6, 16, 3),
        train,
        val,
        epochs=12,
        seed=0,
        solver="minibatch",
        schedule="plateau",
        structural_lr=0.01,
        max_structural_epochs=2,
        min_structural_steps=1,
        early_stopping=None,
    )
    final = [r.lr for r in history if r.phase == "quantitative"]
    assert final[0] == 0.01  # the structural rate, continued
    steps = [later / earlier for earlier, later in zip(final, final[1:])]
    assert all(step == 1 or step == pytest.approx(PLATEAU_FACTOR) for step in steps)


def test_without_validation_the_plateau_schedule_is_constant():
    history = fit(
        GLAI(6, 16, 3),
        small_problem(),
        epochs=4,
        seed=0,
        solver="minibatch",
        schedule="plateau",
        validation_fraction=0,
        max_structural_epochs=1,
        min_structural_steps=1,
    )
    assert history.plans[-1]["schedule"] == "constant"
    assert "no validation data" in history.plans[-1]["reasons"][-1]
