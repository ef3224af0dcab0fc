"""Adaptive pruning: units whose score stays low leave a GLAI while its paths train."""

import copy
import logging

import numpy as np
import pytest
import torch

import glai
from glai import GLAI, MLP, GLAIClassifier, GLAIRegressor
from glai.cli.main import main
from glai.nn.pruning import unit_scores
from glai.training import FitConfig, History, UnitRemoval
from glai.training.adaptive_pruning import AdaptivePruning
from glai.training.checkpoint import read_checkpoint
from kill_and_resume import trainer_of, uninterrupted_fixture
from problems import head_on_a_stem, small_problem, switched_off

# The decision and the removal


def test_units_weak_for_patience_epochs_are_removed_as_if_switched_off():
    model = GLAI(5, [8, 7, 5], 3, dtype=torch.float64).freeze_structure().eval()
    with torch.no_grad():
        model.paths[1].weight[:, 2] *= 1e-4  # unit 2 of the first hidden layer sends little
        model.paths[3].weight[:, 4] *= 1e-4  # and unit 4 of the last
    weak = [(s < 0.05 * s.max()).nonzero().flatten() for s in unit_scores(model, "path_norm")]
    assert 2 in weak[0] and 4 in weak[2]
    pruning = AdaptivePruning(0.05, patience=2, by="path_norm")
    assert pruning.check(model) is None  # weak for one epoch
    keep = pruning.check(model)
    for kept, removed, width in zip(keep, weak, model.hidden_features):
        assert set(kept.tolist()) == set(range(width)) - set(removed.tolist())
    reference = switched_off(model, keep)
    x = torch.randn(16, 5, dtype=torch.float64)
    model.remove_units(keep)
    torch.testing.assert_close(model(x), reference(x), rtol=1e-12, atol=1e-12)


def test_a_unit_that_recovers_counts_its_weak_epochs_again():
    model = GLAI(5, 8, 3, dtype=torch.float64).freeze_structure()
    with torch.no_grad():
        for layer in model.paths:
            layer.weight.fill_(1.0)  # every unit scores the same, but unit 3
    pruning = AdaptivePruning(0.5, patience=2, by="path_norm")
    for outgoing, removes in [(0.1, False), (1.0, False), (0.1, False), (0.1, True)]:
        with torch.no_grad():
            model.paths[1].weight[:, 3] = outgoing
        keep = pruning.check(model)
        assert (keep is not None) == removes
    assert keep[0].tolist() == [0, 1, 2, 4, 5, 6, 7]
    assert pruning.weak_epochs[0].tolist() == [0] * 7  # the counts follow the kept units


# In glai.fit

DEAD = {0: (2, 7), 1: (5,)}
"""Hidden units that never fire, by layer."""


def with_dead_units() -> GLAI:
    """A frozen float64 GLAI of 6 inputs, [12, 8] units and 3 outputs whose ``DEAD`` units
    never fire (their structure rows are 0, their biases -1)."""
    torch.manual_seed(0)
    mlp = MLP(6, [12, 8], 3, dtype=torch.float64)
    with torch.no_grad():
        for layer, units in DEAD.items():
            mlp.linears[layer].weight[list(units)] = 0
            mlp.linears[layer].bias[list(units)] = -1
    return GLAI.from_mlp(mlp)


@pytest.fixture
def problem():
    x, y = small_problem(300)
    return (x[:240].double(), y[:240]), (x[240:].double(), y[240:])


QUICK = {"epochs": 5, "batch_size": 40, "seed": 0, "solver": "minibatch"}


def test_units_that_never_fire_leave_and_the_others_train_as_without_pruning(problem):
    """Units silent on every training input (the probe: 1,024 inputs at most) score 0."""
    train, _ = problem
    plain, model = with_dead_units(), with_dead_units()
    structure = copy.deepcopy(model.structure)
    reference = glai.fit(plain, train, **QUICK, validation_fraction=0)
    history = glai.fit(
        model, train, **QUICK, validation_fraction=0, prune_threshold=1e-6, prune_patience=2
    )
    silent = [(~mask.any(0)).nonzero().flatten().tolist() for mask in plain.masks(train[0])]
    assert all(set(units) <= set(silent[layer]) for layer, units in DEAD.items())
    widths = [width - len(units) for width, units in zip([12, 8], silent)]
    assert history.removals == [UnitRemoval(2, tuple(map(tuple, silent)), tuple(widths))]
    assert model.hidden_features == widths
    # the optimiser's state is sliced: the kept weights move as they did with every unit
    torch.testing.assert_close(history.column("train_loss"), reference.column("train_loss"))
    torch.testing.assert_close(model(train[0]), plain(train[0]))
    structure.remove_units(history.removals[0].kept())
    kept = structure.state_dict()
    assert all(torch.equal(t, kept[k]) for k, t in model.structure.state_dict().items())


def test_nothing_is_removed_by_default(problem):
    model = GLAI(6, [12, 8], 3, dtype=torch.float64)
    history = glai.fit(model, *problem, **QUICK)
    assert history.removals == [] and model.hidden_features == [12, 8]


@pytest.mark.parametrize("by", ["path_norm", "data_path_norm", "weight"])
def test_a_run_where_no_unit_stays_weak_is_the_run_without_pruning_bit_for_bit(problem, by):
    plain, model = with_dead_units(), with_dead_units()
    reference = glai.fit(plain, *problem, **QUICK)
    history = glai.fit(
        model, *problem, **QUICK, prune_threshold=0.5, prune_patience=10, prune_by=by
    )
    assert history.removals == []
    assert history.column("val_loss") == reference.column("val_loss")
    state = plain.state_dict()
    assert all(torch.equal(t, state[k]) for k, t in model.state_dict().items())


class AtSwitch(glai.Callback):
    """Keeps a copy of the structure as the switch froze it."""

    def on_switch(self, model, epoch):
        self.structure = copy.deepcopy(model.structure)


@pytest.fixture
def pruned_run(problem):
    """A GLAI trained from scratch with adaptive pruning: (model, history, its structure
    at the switch)."""
    model, at_switch = GLAI(6, [16, 8], 3, dtype=torch.float64), AtSwitch()
    history = glai.fit(
        model,
        *problem,
        **QUICK,
        max_structural_epochs=2,
        early_stopping=None,
        prune_threshold=0.4,
        prune_patience=1,
        callbacks=[at_switch],
    )
    return model, history, at_switch.structure


def test_the_structure_keeps_its_kept_weights_bit_for_bit(pruned_run):
    model, history, structure = pruned_run
    assert history.removals and model.frozen
    for removal in history.removals:
        structure.remove_units(removal.kept())
    kept = structure.state_dict()
    assert all(torch.equal(t, kept[k]) for k, t in model.structure.state_dict().items())
    assert list(history.removals[-1].hidden_features) == model.hidden_features


def test_the_best_weights_come_from_an_epoch_after_the_last_removal(pruned_run):
    _, history, _ = pruned_run
    assert history.best_epoch >= history.removals[-1].epoch
    assert all(r.epoch > history.switch_epoch for r in history.removals)


def test_the_removals_are_recorded_and_logged(problem, caplog):
    with caplog.at_level(logging.INFO, logger="glai.training.callbacks"):
        history = glai.fit(
            GLAI(6, [16, 8], 3, dtype=torch.float64),
            *problem,
            **QUICK,
            prune_threshold=0.4,
            prune_patience=1,
        )
    assert History.from_dict(history.to_dict()) == history
    first = history.removals[0]
    assert f"epoch {first.epoch}: adaptive pruning removed" in caplog.text
    widths = [len(units) + width for units, width in zip(first.removed, first.hidden_features)]
    assert widths == [16, 8]


@pytest.mark.parametrize(
    "build", [head_on_a_stem, lambda: MLP(5, 8, 3)], ids=["network-around-a-block", "mlp"]
)
def test_a_model_other_than_a_glai_is_refused(build):
    x, y = small_problem(features=5)
    with pytest.raises(ValueError, match="glai.GLAI trained by itself"):
        glai.fit(build(), (x, y), prune_threshold=0.1, monitor=glai.StructureMonitor.after(1))


def test_pruning_settings_without_a_threshold_are_reported(problem):
    with pytest.warns(UserWarning, match="prune_patience set, but prune_threshold is None"):
        glai.fit(GLAI(6, 8, 3, dtype=torch.float64), *problem, **QUICK, prune_patience=5)


@pytest.mark.parametrize(
    ("setting", "error", "message"),
    [
        ({"prune_threshold": 0}, ValueError, r"prune_threshold must be in \(0, 1\)"),
        ({"prune_threshold": 1.0}, ValueError, r"prune_threshold must be in \(0, 1\)"),
        ({"prune_threshold": -0.1}, ValueError, r"prune_threshold must be in \(0, 1\)"),
        ({"prune_threshold": True}, TypeError, "prune_threshold must be a number"),
        ({"prune_threshold": "0.1"}, TypeError, "prune_threshold must be a number"),
        ({"prune_patience": 0}, ValueError, "prune_patience must be >= 1"),
        ({"prune_patience": 1.5}, TypeError, "prune_patience must be an int"),
        ({"prune_by": "gradient"}, ValueError, "prune_by must be one of"),
    ],
    ids=["zero", "one", "negative", "bool", "text", "patience", "patience-float", "by"],
)
def test_bad_settings_are_named(setting, error, message):
    with pytest.raises(error, match=message):
        FitConfig(**setting)


@pytest.mark.parametrize("estimator_class", [GLAIClassifier, GLAIRegressor])
def test_the_estimators_prune_as_they_train(estimator_class):
    x, y = small_problem(300)
    targets = y.numpy() if estimator_class is GLAIClassifier else x[:, 0].numpy()
    estimator = estimator_class(
        [16, 8], epochs=6, prune_threshold=0.4, prune_patience=1, random_state=0
    )
    estimator.fit(x.numpy(), targets)
    assert estimator.history_.removals
    assert estimator.model_.hidden_features == list(estimator.history_.removals[-1].hidden_features)
    assert estimator.predict(x.numpy()).shape == (300,)


def test_the_command_prunes_and_inspect_shows_it(tmp_path, capsys):
    x, y = small_problem(300)
    data, model = tmp_path / "data.npz", tmp_path / "m.safetensors"
    np.savez(data, X=x.numpy(), y=y.numpy())
    settings = ["--prune-threshold", "0.4", "--prune-patience", "1", "--prune-by", "path_norm"]
    fit = ["fit", str(data), "--out", str(model), "--epochs", "6", "--hidden", "16", "--seed", "0"]
    assert main([*fit, *settings]) == 0
    assert main(["inspect", str(model)]) == 0
    printed = capsys.readouterr().out
    widths = glai.load(model).hidden_features
    assert widths[0] < 16
    assert f"hidden features: {widths}" in printed
    assert f"widths now {widths}" in printed


# Checkpoints across a removal

SCRIPT = """
import os, signal, sys, torch, glai
out, directory, kill_at, quantitative, solver = sys.argv[1:3] + [int(sys.argv[3])] + sys.argv[4:]
torch.manual_seed(0)
x = torch.randn(400, 8)
y = (x[:, 0] + x[:, 1] > 0).long()
calls = [0]
def loss(output, target):  # 7 calls per epoch: 6 training steps (L-BFGS: 6 passes), 1 validation
    calls[0] += 1
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return torch.nn.functional.cross_entropy(output, target)
model = glai.GLAI(8, [16, 8], 2)
history = glai.fit(model, (x[:300], y[:300]), (x[300:], y[300:]), loss=loss, metric="accuracy",
         epochs=8, batch_size=50, seed=0, early_stopping=None,
         monitor=glai.StructureMonitor.after(2), checkpoint_dir=directory or None, resume=True,
         quantitative=quantitative, solver=solver, prune_threshold=0.3, prune_patience=2)
removals = [removal.to_dict() for removal in history.removals]
glai.save(model, out, info={"losses": history.column("train_loss"), "removals": removals})
"""


train = trainer_of(SCRIPT)
uninterrupted = uninterrupted_fixture(SCRIPT)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_at", "removed_before", "quantitative", "solver"),
    [
        (28, 0, "full", "minibatch"),  # validating the epoch of the first removal
        (31, 1, "full", "minibatch"),
        (45, 2, "full", "minibatch"),
        (45, 2, "row_space", "minibatch"),
        (31, 1, "full", "lbfgs"),
    ],
    ids=["at-a-removal", "after-one", "after-two", "row_space", "lbfgs"],
)
def test_sigkill_after_a_removal_then_resume_gives_identical_weights(
    kill_at, removed_before, quantitative, solver, uninterrupted, tmp_path
):
    directory = tmp_path / "checkpoints"
    code, _ = train(tmp_path, "killed", quantitative, solver, directory, kill_at)
    assert code == -9  # SIGKILL
    history = read_checkpoint(directory)["run"]["history"]
    assert len(history["records"]) == (kill_at - 1) // 7  # whole epochs only
    assert len(history["removals"]) == removed_before
    code, out = train(tmp_path, "resumed", quantitative, solver, directory)
    assert code == 0
    weights, info = uninterrupted(quantitative, solver)
    assert glai.read_info(out)["info"] == info  # losses of every epoch, and the removals
    assert len(info["removals"]) > removed_before
    resumed = glai.load(out).state_dict()
    assert resumed.keys() == weights.keys()
    assert all(torch.equal(resumed[k], v) for k, v in weights.items())
