"""output_start: the final phase starts from the output layer's ridge solution."""

import pytest
import torch
from torch import nn

import glai.training.run
from glai import GLAI, MLP, Callback, StructureMonitor, fit
from problems import small_problem

AT_RATE_ZERO = {"epochs": 3, "solver": "minibatch", "lr": 0.0, "seed": 0}


class FirstFinalEpoch(Callback):
    """The output layer's inputs on ``x`` and its weights after the first epoch of the
    final phase (trained at a learning rate of 0: the weights it started from)."""

    def __init__(self, layer_of, x):
        self.layer_of, self.x, self.seen = layer_of, x, {}

    def on_epoch_end(self, model, record):
        if record.phase != "quantitative":
            return
        layer = self.layer_of(model)
        found = []
        hook = layer.register_forward_pre_hook(lambda module, inputs: found.append(inputs[0]))
        model.eval()
        with torch.no_grad():
            model(self.x)
        model.train()
        hook.remove()
        self.seen = {"inputs": found[0].double(), "weight": layer.weight.detach().clone()}
        self.seen["bias"] = layer.bias.detach().clone()


def ridge(features, targets, alpha):
    """scikit-learn's Ridge (intercept not penalised): coefficients and intercept."""
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(features.numpy(), targets.numpy())
    return torch.from_numpy(model.coef_), torch.from_numpy(model.intercept_)


def regression(n=300):
    x = torch.randn(n, 6)
    return x, (x[:, :1] * 2 - x[:, 1:2].relu() + 0.1 * torch.randn(n, 1))


@pytest.mark.parametrize(
    ("build", "layer_of"),
    [
        (lambda: GLAI(6, [16, 8], 1), lambda m: m.paths[-1]),
        (lambda: MLP(6, 16, 1), lambda m: m[-1]),
    ],
    ids=["glai", "mlp-control"],
)
def test_the_output_layer_is_the_ridge_solution_for_mse(build, layer_of):
    train, val = regression(), regression(100)
    snapshot = FirstFinalEpoch(layer_of, train[0])
    fit(
        build(),
        train,
        val,
        loss="mse",
        weight_decay=1e-2,
        output_start="ridge",
        monitor=StructureMonitor.after(2),
        callbacks=[snapshot],
        **AT_RATE_ZERO,
    )
    weight, bias = ridge(snapshot.seen["inputs"], train[1].double(), alpha=1e-2 * len(train[1]))
    assert torch.allclose(snapshot.seen["weight"].double(), weight, atol=1e-4)
    assert torch.allclose(snapshot.seen["bias"].double(), bias, atol=1e-4)


def test_classes_are_fitted_as_centred_one_hot_rows():
    train, val = small_problem(), small_problem(100)
    snapshot = FirstFinalEpoch(lambda m: m.paths[-1], train[0])
    fit(
        GLAI(6, 16, 3),
        train,
        val,
        output_start="ridge",
        monitor=StructureMonitor.after(2),
        callbacks=[snapshot],
        **AT_RATE_ZERO,
    )
    targets = torch.nn.functional.one_hot(train[1], 3).double() - 1 / 3
    weight, bias = ridge(snapshot.seen["inputs"], targets, alpha=1e-3 * len(train[1]))
    assert torch.allclose(snapshot.seen["weight"].double(), weight, atol=1e-4)
    assert torch.allclose(snapshot.seen["bias"].double(), bias, atol=1e-4)


def test_structural_keeps_the_output_layer_the_structure_left():
    train, val = regression(), regression(100)
    structural = {}

    class Before(Callback):
        def on_epoch_end(self, model, record):
            if not model.frozen:
                structural["weight"] = model.structure[-1].weight.detach().clone()

    snapshot = FirstFinalEpoch(lambda m: m.paths[-1], train[0])
    settings = {"loss": "mse", "monitor": StructureMonitor.after(2), **AT_RATE_ZERO}
    fit(
        GLAI(6, 16, 1),
        train,
        val,
        callbacks=[Before(), snapshot],
        output_start="structural",
        **settings,
    )
    assert torch.equal(snapshot.seen["weight"], structural["weight"])


def absolute_error(output, target):
    return (output - target).abs().mean()


@pytest.mark.parametrize(
    ("build", "settings", "ridge"),
    [
        (lambda: GLAI(6, 16, 1), {}, True),  # L-BFGS after the switch
        (lambda: GLAI(6, 16, 1), {"loss": absolute_error}, False),  # a loss of one's own
        (lambda: GLAI(6, 16, 1), {"solver": "minibatch"}, False),  # Adam after the switch
        (lambda: GLAI(6, 16, 1), {"solver": "minibatch", "output_start": "ridge"}, True),
        (lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), GLAI(8, 16, 1)), {}, False),
    ],
    ids=["lbfgs", "own-loss", "adam", "adam-by-name", "network-around-a-block"],
)
def test_auto_starts_from_the_ridge_where_lbfgs_follows(build, settings, ridge, monkeypatch):
    calls = []
    monkeypatch.setattr(glai.training.run, "ridge_output", lambda *args: calls.append(args))
    train, val = regression(), regression(100)
    options = {"loss": "mse", "epochs": 3, "seed": 0, **settings}
    fit(build(), train, val, monitor=StructureMonitor.after(2), **options)
    assert len(calls) == int(ridge)


def test_a_switch_before_the_first_epoch_starts_from_the_ridge_too(monkeypatch):
    calls = []
    monkeypatch.setattr(glai.training.run, "ridge_output", lambda *args: calls.append(args))
    train, val = regression(), regression(100)
    options = {"loss": "mse", "epochs": 1, "seed": 0}
    history = fit(GLAI(6, 16, 1), train, val, monitor=StructureMonitor.after(0), **options)
    assert history.switch_epoch == 0
    assert len(calls) == 1


def test_the_switch_epoch_keeps_the_weights_its_validation_judged():
    train, val = regression(), regression(100)
    outputs = {}

    class AtSwitch(Callback):
        def on_switch(self, model, epoch):
            outputs["structure"] = model.structure[-1].weight.detach().clone()
            outputs["paths"] = model.paths[-1].weight.detach().clone()

    monitor = StructureMonitor.after(2)
    fit(
        GLAI(6, 16, 1),
        train,
        val,
        loss="mse",
        output_start="ridge",
        monitor=monitor,
        callbacks=[AtSwitch()],
        **AT_RATE_ZERO,
    )
    assert torch.equal(outputs["paths"], outputs["structure"])  # the ridge comes after


def test_a_loss_of_ones_own_is_refused():
    def loss(output, target):
        return (output[:, 0] - target).abs().mean()

    with pytest.raises(ValueError, match="output_start='ridge' fits the output layer"):
        fit(GLAI(6, 16, 1), regression(), loss=loss, output_start="ridge", epochs=1)


class TwoTokens(nn.Module):
    """A GLAI applied to two tokens per sample, their outputs summed."""

    def __init__(self):
        super().__init__()
        self.block = GLAI(3, 8, 3)

    def forward(self, x):
        return self.block(x.view(len(x), 2, 3)).sum(1)


def test_an_output_layer_with_several_rows_per_sample_is_refused():
    train, val = small_problem(), small_problem(100)
    with pytest.raises(TypeError, match="one output row per sample"):
        fit(
            TwoTokens(),
            train,
            val,
            epochs=2,
            seed=0,
            output_start="ridge",
            max_structural_epochs=1,
            min_structural_steps=1,
        )
