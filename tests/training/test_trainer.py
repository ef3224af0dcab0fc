import math

import pytest
import torch
from torch.utils.data import Dataset

from glai import GLAI, MLP, Callback, StructureMonitor, SwitchRule, fit
from problems import small_problem


def accuracy(model, data):
    x, y = data
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


@pytest.mark.slow
def test_learns_digits(digits):
    model = GLAI(64, 64, 10)
    history = fit(model, digits["train"], digits["val"], seed=0)  # the defaults
    assert history.switch_epoch is not None
    assert accuracy(model, digits["test"]) >= 0.95


def test_history_describes_both_phases():
    train, val = small_problem(), small_problem(100)
    model = GLAI(6, 16, 3)
    history = fit(
        model,
        train,
        val,
        epochs=5,
        seed=0,
        monitor=StructureMonitor(rule=SwitchRule(threshold=1.0, patience=2, relative=False)),
    )
    phases = history.column("phase")
    assert history.switch_epoch == 2
    assert phases == ["structural"] * 2 + ["quantitative"] * (len(history) - 2)
    seconds = history.column("seconds")
    assert seconds == sorted(seconds)
    assert all(r.pattern_change is not None for r in history if r.phase == "structural")
    assert all(r.pattern_change is None for r in history if r.phase == "quantitative")
    assert history.best_epoch >= history.switch_epoch
    assert model.frozen


def test_fit_tells_the_monitor_its_steps_and_validation_losses():
    train, val = small_problem(), small_problem(100)
    monitor = StructureMonitor.after(3)
    history = fit(GLAI(6, 16, 3), train, val, epochs=4, batch_size=32, seed=0, monitor=monitor)
    structural = [r for r in history if r.phase == "structural"]
    assert [check.steps for check in monitor.checks_] == [7, 7, 7]  # 200 samples by 32
    assert [check.val_loss for check in monitor.checks_] == [r.val_loss for r in structural]


@pytest.mark.parametrize("on_plateau", [True, False])
def test_a_structure_that_only_overfits_switches_on_the_plateau(on_plateau):
    torch.manual_seed(0)
    train = torch.randn(200, 6), torch.randint(0, 3, (200,))  # labels are noise:
    val = torch.randn(100, 6), torch.randint(0, 3, (100,))  # validation never improves
    monitor = StructureMonitor(
        rule=SwitchRule(threshold=0.0, max_structural_epochs=30, switch_on_plateau=on_plateau)
    )
    history = fit(GLAI(6, 32, 3), train, val, epochs=31, seed=0, monitor=monitor)
    if on_plateau:
        assert history.switch_epoch < 30
        assert monitor.stale_checks == monitor.rule.patience
    else:
        assert history.switch_epoch == 30


def test_structure_is_unchanged_by_the_quantitative_phase():
    train = small_problem()
    model = GLAI(6, [16, 8], 3)
    structure = {}

    class Snapshot(Callback):
        def on_switch(self, model, epoch):
            structure.update({k: v.clone() for k, v in model.structure.state_dict().items()})

    fit(
        model,
        train,
        epochs=4,
        seed=0,
        callbacks=[Snapshot()],
        monitor=StructureMonitor(rule=SwitchRule(max_structural_epochs=1, min_structural_steps=1)),
    )
    assert structure
    assert all(torch.equal(v, model.structure.state_dict()[k]) for k, v in structure.items())


def test_the_same_seed_gives_the_same_run():
    train, val = small_problem(), small_problem(100)
    results = []
    for _ in range(2):
        torch.manual_seed(3)
        model = GLAI(6, [12, 8], 3)
        history = fit(model, train, val, epochs=4, seed=5)
        results.append((history.column("train_loss"), model.state_dict()))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(v, results[1][1][k]) for k, v in results[0][1].items())


def test_best_validation_weights_are_restored():
    train, val = small_problem(), small_problem(100)
    model = GLAI(6, 16, 3)
    history = fit(
        model,
        train,
        val,
        epochs=6,
        seed=0,
        lr=0.05,
        schedule="constant",
        solver="minibatch",
        early_stopping_on="metric",
    )
    best = history.records[history.best_epoch - 1].val_metric
    assert best == max(r.val_metric for r in history if r.epoch >= history.switch_epoch)
    assert accuracy(model, val) == pytest.approx(best)


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen-glai", "mlp"])
def test_retraining_never_ends_worse_on_validation_than_it_began(frozen):
    train, val = small_problem(), small_problem(100)
    torch.manual_seed(0)
    model = GLAI(6, 16, 3) if frozen else MLP(6, 16, 3)
    fit(model, train, val, epochs=6, seed=0)
    trained = {key: value.clone() for key, value in model.state_dict().items()}
    start = accuracy(model, val)
    # a rate that wrecks every epoch: the weights handed over are the best
    history = fit(model, train, val, epochs=3, seed=0, lr=50.0, solver="minibatch")
    assert history.best_epoch == 0 and history.best_metric == pytest.approx(start)
    assert all(torch.equal(value, trained[key]) for key, value in model.state_dict().items())


def test_a_model_trained_from_scratch_keeps_a_trained_epoch():
    history = fit(MLP(6, 16, 3), small_problem(), small_problem(100), epochs=4, seed=0)
    assert history.best_epoch >= 1 and history.start_metric is not None


def test_by_default_the_best_epoch_is_the_one_of_least_validation_loss():
    train, val = small_problem(), small_problem(100)
    model = GLAI(6, 16, 3)
    history = fit(model, train, val, epochs=6, seed=0, solver="minibatch", lr=0.05)
    final = [r for r in history if r.epoch >= history.switch_epoch]
    assert history.records[history.best_epoch - 1].val_loss == min(r.val_loss for r in final)
    model.eval()
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(val[0]), val[1])
    assert float(loss) == pytest.approx(min(r.val_loss for r in final), rel=1e-5)


def test_regression_with_mse():
    x = torch.randn(300, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + torch.relu(x[:, 0])
    model = GLAI(4, 32, 1)
    history = fit(model, (x[:240], y[:240]), (x[240:], y[240:]), loss="mse", seed=0, epochs=40)
    assert history.metric == "loss"
    assert not history.greater_is_better
    assert history.best_metric < 0.1 * float(y.var())


def test_custom_loss_and_metric():
    train, val = small_problem(), small_problem(100)

    def smooth(output, target):
        return torch.nn.functional.cross_entropy(output, target, label_smoothing=0.1)

    def top2(output, target):
        return float((output.topk(2, 1).indices == target[:, None]).any(1).float().mean())

    history = fit(GLAI(6, 16, 3), train, val, loss=smooth, metric=top2, epochs=3, seed=0)
    assert history.metric == "top2"
    assert 0 <= history.best_metric <= 1


class Noisy(Dataset):
    """Inputs that change every time they are read: no mask cache can hold them."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index] + 0.01 * torch.randn_like(self.x[index]), self.y[index]


def test_a_dataset_with_augmentation_trains():
    x, y = small_problem()
    model = GLAI(6, 16, 3)
    history = fit(
        model,
        Noisy(x, y),
        (x, y),
        epochs=3,
        seed=0,
        monitor=StructureMonitor(rule=SwitchRule(max_structural_epochs=2, min_structural_steps=1)),
    )
    assert history.switch_epoch == 2
    assert model.frozen


def test_a_plain_mlp_trains_in_one_phase():
    train, val = small_problem(), small_problem(100)
    history = fit(MLP(6, 16, 3), train, val, epochs=3, seed=0)
    assert history.column("phase") == ["train"] * 3
    assert history.switch_epoch is None


def test_a_plain_mlp_with_a_monitor_gets_the_two_phase_schedule():
    train, val = small_problem(), small_problem(100)
    model = MLP(6, 16, 3)
    history = fit(
        model,
        train,
        val,
        epochs=5,
        seed=0,
        structural_lr=0.01,
        lr=0.001,
        schedule="constant",
        solver="minibatch",
        monitor=StructureMonitor(rule=SwitchRule(max_structural_epochs=2, min_structural_steps=1)),
    )
    assert history.switch_epoch == 2
    assert [r.lr for r in history] == [0.01, 0.01, 0.001, 0.001, 0.001]
    assert all(p.requires_grad for p in model.parameters())


def test_a_frozen_glai_skips_the_structural_phase():
    train = small_problem()
    model = GLAI.from_mlp(MLP(6, 16, 3))
    history = fit(model, train, epochs=2, seed=0)
    assert history.column("phase") == ["quantitative"] * 2
    with pytest.raises(ValueError, match="already frozen"):
        fit(model, train, epochs=1, monitor=StructureMonitor())


def test_cosine_schedule_decays_to_zero():
    history = fit(MLP(6, 8, 3), small_problem(), epochs=3, seed=0, lr=0.1)
    assert history[-1].lr == pytest.approx(0.0, abs=1e-12)


def test_divergence_stops_with_a_clear_error():
    x, y = small_problem()
    with pytest.raises(FloatingPointError, match=r"epoch 1 \(structural phase\)"):
        fit(GLAI(6, 16, 1), (x, y.float() * 1e30), loss="mse", structural_lr=1e10, seed=0)


@pytest.mark.parametrize(
    ("train", "error", "message"),
    [
        (
            (torch.full((10, 6), math.nan), torch.zeros(10, dtype=torch.long)),
            ValueError,
            "train X contains 60 NaN",
        ),
        (
            (torch.randn(10, 5), torch.zeros(10, dtype=torch.long)),
            ValueError,
            "has 5 features, the model expects 6",
        ),
        ((torch.randn(10, 6).double(), torch.zeros(10, dtype=torch.long)), TypeError, "float64"),
        (
            (torch.randn(10, 6), torch.zeros(9, dtype=torch.long)),
            ValueError,
            "different lengths: 10 and 9",
        ),
        ((torch.randn(10, 6), torch.full((10,), 3)), ValueError, "classes 3..3"),
        ((torch.randn(10, 6), torch.zeros(10)), TypeError, "integer class indices"),
        ((torch.randn(0, 6), torch.zeros(0, dtype=torch.long)), ValueError, "train is empty"),
        ((torch.randn(10, 6),), ValueError, "an \\(X, y\\) pair"),
        ("data.csv", TypeError, "got str"),
    ],
    ids=[
        "nan",
        "features",
        "dtype",
        "lengths",
        "label-range",
        "float-labels",
        "empty",
        "single",
        "string",
    ],
)
def test_bad_training_data_is_named(train, error, message):
    with pytest.raises(error, match=message):
        fit(GLAI(6, 8, 3), train, epochs=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"schedule": "step"}, "schedule"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"loss": "hinge"}, "loss"),
        ({"metric": "f1"}, "metric"),
        ({"early_stopping": 0}, "early_stopping"),
    ],
    ids=["epochs", "schedule", "optimizer", "loss", "metric", "early-stopping"],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(GLAI(6, 8, 3), small_problem(), **kwargs)


def test_callbacks_see_every_hook():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, model):
            calls.append("begin")

        def on_epoch_end(self, model, record):
            calls.append(record.phase)

        def on_switch(self, model, epoch):
            calls.append(f"switch@{epoch}")

        def on_train_end(self, model, history):
            calls.append("end")

    fit(
        GLAI(6, 8, 3),
        small_problem(),
        epochs=2,
        seed=0,
        callbacks=[Recorder()],
        monitor=StructureMonitor(rule=SwitchRule(max_structural_epochs=1, min_structural_steps=1)),
    )
    assert calls == ["begin", "structural", "switch@1", "quantitative", "end"]


@pytest.mark.parametrize("measure", ["pattern", "path"])
def test_structural_epochs_record_the_three_changes(measure):
    rule = SwitchRule(max_structural_epochs=2, min_structural_steps=1, measure=measure)
    history = fit(
        GLAI(6, [16, 8], 3), small_problem(), epochs=4, seed=0, monitor=StructureMonitor(rule=rule)
    )
    structural = [r for r in history if r.phase == "structural"]
    assert structural
    for name in ("pattern_change", "path_distance", "weight_change"):
        assert all(getattr(r, name) is not None for r in structural), name
        assert getattr(history[-1], name) is None, name


# StructureMonitor.after(0): the switch before the first epoch (gates from untrained weights).


def test_after_zero_trains_the_paths_under_the_untrained_structure():
    model = GLAI(6, 8, 3)
    initial = {k: v.clone() for k, v in model.structure.state_dict().items()}
    calls = []

    class Recorder(Callback):
        def on_switch(self, model, epoch):
            calls.append(f"switch@{epoch}")

        def on_epoch_end(self, model, record):
            calls.append(record.phase)

    history = fit(
        model,
        small_problem(),
        epochs=2,
        seed=0,
        callbacks=[Recorder()],
        monitor=StructureMonitor.after(0),
    )
    assert calls == ["switch@0", "quantitative", "quantitative"]
    assert history.switch_epoch == 0 and model.frozen
    assert all(torch.equal(v, model.structure.state_dict()[k]) for k, v in initial.items())


def test_after_zero_gives_a_plain_mlp_only_its_final_phase():
    history = fit(
        MLP(6, 8, 3),
        small_problem(),
        epochs=2,
        seed=0,
        structural_lr=0.02,
        schedule="constant",
        solver="minibatch",
        monitor=StructureMonitor.after(0),
    )
    assert history.switch_epoch == 0
    assert history.column("phase") == ["quantitative", "quantitative"]
    assert history.column("lr") == [pytest.approx(0.002)] * 2


def test_progress_bar_is_optional(capsys):
    fit(MLP(6, 8, 3), small_problem(), epochs=2, seed=0, progress=True)
    assert "glai.fit" in capsys.readouterr().err


def test_the_progress_line_shows_each_phase_plan(capsys):
    rule = SwitchRule(max_structural_epochs=1, min_structural_steps=1)
    problem = small_problem()
    fit(GLAI(6, 8, 3), problem, epochs=3, seed=0, progress=True, switch=rule)
    bar = capsys.readouterr().err
    assert "plan=adam 1e-03 constant" in bar  # the structural phase
    assert "plan=lbfgs" in bar  # the quantitative phase on small tensor data


def test_default_lr_is_a_tenth_after_a_structural_phase():
    history = fit(
        GLAI(6, 8, 3),
        small_problem(),
        epochs=2,
        seed=0,
        structural_lr=0.02,
        schedule="constant",
        solver="minibatch",
        monitor=StructureMonitor(rule=SwitchRule(max_structural_epochs=1, min_structural_steps=1)),
    )
    assert [r.lr for r in history] == [0.02, pytest.approx(0.002)]
    history = fit(
        MLP(6, 8, 3), small_problem(), epochs=1, seed=0, structural_lr=0.02, schedule="constant"
    )
    assert [r.lr for r in history] == [0.02]


def test_a_last_batch_of_one_sample_trains_with_batch_norm():
    torch.manual_seed(0)
    model = GLAI(6, 8, 3, norm_layer=torch.nn.BatchNorm1d)
    history = fit(
        model, small_problem(301), epochs=2, batch_size=100, seed=0, validation_fraction=0
    )
    assert len(history) >= 2
