"""The final phase's solver: full-batch L-BFGS on small tensor data, minibatch otherwise."""

import pytest
import torch
from torch.utils.data import Dataset

from glai import GLAI, MLP, StructureMonitor, SwitchRule, fit
from glai.training import plan as plan_module
from glai.training import run as run_module
from glai.training.lbfgs import AUTO_MAX_SAMPLES, ITERATIONS_PER_EPOCH
from problems import small_problem


class Pairs(Dataset):
    """The rows of a tensor pair as a map-style dataset (inputs that are not fixed)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


def two_phase(model, train, epochs=5, structural_epochs=2, **settings):
    torch.manual_seed(0)
    return fit(
        model,
        train,
        epochs=epochs,
        seed=0,
        validation_fraction=0,
        monitor=StructureMonitor(
            rule=SwitchRule(max_structural_epochs=structural_epochs, min_structural_steps=1)
        ),
        **settings,
    )


def test_auto_takes_lbfgs_after_a_structural_phase_on_small_tensor_data():
    history = two_phase(GLAI(6, 16, 3), small_problem())
    assert [r.lr for r in history] == [1e-3, 1e-3, 1.0, 1.0, 1.0]  # L-BFGS: unit steps
    assert history[-1].train_loss < history[1].train_loss


def test_auto_takes_minibatch_for_a_single_phase_and_for_datasets():
    single = fit(MLP(6, 8, 3), small_problem(), epochs=2, seed=0, validation_fraction=0)
    assert {r.lr for r in single} != {1.0}
    x, y = small_problem()
    dataset = two_phase(GLAI(6, 8, 3), Pairs(x, y))
    assert dataset[-1].lr != 1.0


def test_auto_takes_minibatch_above_its_size_limit(monkeypatch):
    monkeypatch.setattr(plan_module, "AUTO_MAX_SAMPLES", 100)
    assert AUTO_MAX_SAMPLES > 200
    history = two_phase(GLAI(6, 8, 3), small_problem(200))
    assert history[-1].lr != 1.0


def test_the_mlp_control_gets_the_same_solver():
    history = two_phase(MLP(6, 16, 3), small_problem())
    assert [r.lr for r in history][2:] == [1.0] * 3


def test_lbfgs_needs_tensor_data_and_one_process(monkeypatch):
    x, y = small_problem()
    with pytest.raises(ValueError, match="tensors"):
        two_phase(GLAI(6, 8, 3), Pairs(x, y), solver="lbfgs")
    monkeypatch.setattr(run_module, "world", lambda: (0, 2))  # the run reads its shard
    with pytest.raises(ValueError, match="one process"):
        two_phase(GLAI(6, 8, 3), (x, y), solver="lbfgs")


def test_an_epoch_is_a_few_iterations_on_the_whole_training_set():
    """The recorded training loss is the loss of the whole set before the epoch's
    iterations: after one epoch it is exactly what the switch's weights give."""
    x, y = small_problem(300)
    model = GLAI(6, 16, 3)
    calls = []

    def loss(output, target):
        calls.append(len(target))
        return torch.nn.functional.cross_entropy(output, target)

    history = two_phase(model, (x, y), 2, 1, loss=loss, weight_decay=0.0)
    structural_calls = calls.index(300)  # batches of 30 (auto batch size) before
    assert set(calls[:structural_calls]) == {30}
    lbfgs_calls = calls[structural_calls:]
    assert set(lbfgs_calls) == {300}  # every evaluation sees the whole set
    assert ITERATIONS_PER_EPOCH <= len(lbfgs_calls) <= 2 * ITERATIONS_PER_EPOCH + 5
    assert history[-1].train_loss < history[0].train_loss


def test_weight_decay_is_the_l2_penalty_of_the_loss():
    x, y = small_problem()
    norms = []
    for decay in (0.0, 1.0):
        model = GLAI(6, 16, 3)
        two_phase(model, (x, y), 6, 1, weight_decay=decay, solver="lbfgs")
        norms.append(sum(float(p.detach().pow(2).sum()) for p in model.paths.parameters()))
    assert norms[1] < 0.5 * norms[0]


def test_a_frozen_glai_trains_its_paths_by_lbfgs_and_leaves_the_structure():
    model = GLAI.from_mlp(MLP(6, 16, 3))
    structure = {k: v.clone() for k, v in model.structure.state_dict().items()}
    history = fit(model, small_problem(), epochs=3, seed=0, validation_fraction=0)
    assert [r.lr for r in history] == [1.0] * 3
    assert all(torch.equal(v, model.structure.state_dict()[k]) for k, v in structure.items())


def test_auto_takes_minibatch_for_a_network_around_glai_blocks():
    model = torch.nn.Sequential(torch.nn.Linear(6, 6), GLAI(6, 8, 3))
    history = two_phase(model, small_problem())
    assert history[-1].lr != 1.0


def test_row_space_paths_train_by_lbfgs_and_fold_back():
    x, y = small_problem(300, features=12)
    model = GLAI(12, 6, 3)
    history = two_phase(model, (x, y), quantitative="row_space")
    assert [r.lr for r in history][2:] == [1.0] * 3
    assert history[-1].train_loss < history[1].train_loss
    with torch.no_grad():  # the model holds the folded paths: its loss is the last epoch's
        loss = torch.nn.functional.cross_entropy(model(x), y)
    assert float(loss) < history[1].train_loss
