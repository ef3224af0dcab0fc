import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from glai import GLAI, MLP
from problems import DEPTHS, DTYPES


def make(hidden, dtype=torch.float32):
    return GLAI(5, hidden, 3, dtype=dtype)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_before_switch_it_is_its_structure(hidden, inputs):
    model = make(hidden)
    assert not model.frozen
    torch.testing.assert_close(model(inputs), model.structure(inputs), rtol=0, atol=0)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_switch_is_exact_in_float64(hidden):
    model = make(hidden, torch.float64)
    x = torch.randn(64, 5, dtype=torch.float64)
    before = model(x)
    model.freeze_structure()
    assert model.frozen
    assert torch.equal(model(x), before)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_switch_is_close_in_float32(hidden, inputs):
    model = make(hidden)
    before = model(inputs)
    model.freeze_structure()
    torch.testing.assert_close(model(inputs), before)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_masks_are_boolean_per_layer(hidden, dtype):
    model = make(hidden, dtype)
    masks = model.masks(torch.randn(10, 5, dtype=dtype))
    assert [tuple(m.shape) for m in masks] == [(10, w) for w in hidden]
    assert all(m.dtype == torch.bool and not m.requires_grad for m in masks)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_no_gradient_reaches_the_frozen_structure(hidden, inputs):
    model = make(hidden).freeze_structure()
    model(inputs).square().sum().backward()
    assert all(p.grad is None for p in model.structure.parameters())
    assert all(p.grad is not None for p in model.paths.parameters())


def test_trainable_parameters_follow_the_switch():
    model = make([4, 4])
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.parameters()}  # paths too: they get no gradient
    model.freeze_structure()
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.paths.parameters()}


def test_before_the_switch_the_paths_get_no_gradient(inputs):
    model = make([6, 4])
    model(inputs).square().sum().backward()
    assert all(p.grad is not None for p in model.structure.parameters())
    assert all(p.grad is None for p in model.paths.parameters())


def test_training_paths_keeps_the_partition(inputs):
    model = make([6, 4]).freeze_structure()
    masks = model.masks(inputs)
    with torch.no_grad():
        for p in model.paths.parameters():
            p.add_(torch.randn_like(p))
    assert all(torch.equal(a, b) for a, b in zip(masks, model.masks(inputs)))


def test_precomputed_masks_give_the_same_output(inputs):
    model = make([6, 4]).freeze_structure()
    with torch.no_grad():
        model.paths[0].weight.mul_(2)
    assert torch.equal(model(inputs, masks=model.masks(inputs)), model(inputs))


def test_masks_before_switch_are_refused(inputs):
    model = make([6])
    with pytest.raises(ValueError, match="after freeze_structure"):
        model(inputs, masks=model.masks(inputs))


def test_masks_of_wrong_shape_are_named(inputs):
    model = make([6, 4]).freeze_structure()
    masks = model.masks(inputs)
    with pytest.raises(ValueError, match="expected 2 masks"):
        model(inputs, masks=masks[:1])
    with pytest.raises(ValueError, match=r"mask 1 must have shape \(32, 4\)"):
        model(inputs, masks=(masks[0], masks[1][:3]))


def test_freezing_twice_is_refused():
    model = make([4]).freeze_structure()
    with pytest.raises(RuntimeError, match="already frozen"):
        model.freeze_structure()


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_from_mlp_equals_the_mlp(hidden):
    mlp = MLP(5, hidden, 3, dtype=torch.float64)
    x = torch.randn(20, 5, dtype=torch.float64)
    model = GLAI.from_mlp(mlp)
    assert model.frozen
    assert torch.equal(model(x), mlp(x))


def test_from_mlp_ignores_dropout():
    mlp = nn.Sequential(nn.Linear(5, 6), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(6, 2))
    mlp.eval()
    x = torch.randn(8, 5)
    torch.testing.assert_close(GLAI.from_mlp(mlp)(x), mlp(x))


class Subclassed(GLAI):
    """A subclass with GLAI's constructor, as a user's own block would be."""


def test_from_mlp_builds_the_class_it_is_called_on():
    model = Subclassed.from_mlp(MLP(5, [6, 4], 3))
    assert type(model) is Subclassed
    assert model.frozen


@pytest.mark.parametrize(
    ("mlp", "error", "message"),
    [
        (
            nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 2)),
            TypeError,
            "found GELU at position 1",
        ),
        (nn.Linear(5, 2), TypeError, "got Linear"),
        (nn.Sequential(nn.Linear(5, 2)), ValueError, "at least one hidden layer"),
        (
            nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.ReLU(), nn.Linear(6, 2)),
            ValueError,
            "Linear, ReLU, ReLU, Linear",
        ),
        (
            nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(7, 2)),
            ValueError,
            "6 outputs feed 7 inputs",
        ),
        (
            nn.Sequential(nn.Linear(5, 6, bias=False), nn.ReLU(), nn.Linear(6, 2)),
            ValueError,
            "all Linear layers with a bias",
        ),
    ],
    ids=["gelu", "not-sequential", "no-hidden", "double-relu", "widths", "mixed-bias"],
)
def test_from_mlp_refuses_other_models(mlp, error, message):
    with pytest.raises(error, match=message):
        GLAI.from_mlp(mlp)


def test_wrong_feature_count_is_named():
    with pytest.raises(ValueError, match="has 4 features, the model expects 5"):
        make([4]).freeze_structure()(torch.randn(2, 4))


def test_wrong_dtype_is_named():
    with pytest.raises(TypeError, match="dtype torch.float64"):
        make([4]).freeze_structure()(torch.randn(2, 5, dtype=torch.float64))


def test_non_tensor_input_is_named():
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        make([4])([[0.0] * 5])


@pytest.mark.parametrize("norm", [None, nn.BatchNorm1d], ids=["plain", "batch-norm"])
def test_built_on_the_meta_device_then_reset_it_is_the_block_built_directly(norm, inputs):
    torch.manual_seed(0)
    direct = GLAI(5, [6, 4], 3, norm_layer=norm)
    model = GLAI(5, [6, 4], 3, device="meta", norm_layer=norm).to_empty(device="cpu")
    torch.manual_seed(0)
    model.reset_parameters()
    assert not model.frozen and not bool(model.switched)
    assert all(torch.equal(t, direct.state_dict()[name]) for name, t in model.state_dict().items())
    assert torch.equal(model(inputs), direct(inputs))


def test_reset_parameters_returns_a_switched_block_to_its_structural_phase(inputs):
    model = make([6, 4]).freeze_structure()
    model.reset_parameters()
    assert not model.frozen and not bool(model.switched)
    assert all(p.requires_grad for p in model.parameters())
    assert model.structure.training


def test_the_repr_names_the_widths_and_the_switch():
    model = make([6, 4])
    assert (
        model.extra_repr() == "in_features=5, hidden_features=[6, 4], out_features=3, frozen=False"
    )
    assert "frozen=True" in repr(model.freeze_structure())


def test_state_dict_carries_the_switch(inputs):
    model = make([6, 4]).freeze_structure()
    with torch.no_grad():
        model.paths[1].weight.mul_(3)
    fresh = make([6, 4])
    fresh.load_state_dict(model.state_dict())
    assert fresh.frozen
    assert torch.equal(fresh(inputs), model(inputs))
    assert all(not p.requires_grad for p in fresh.structure.parameters())


def test_device_and_dtype_reach_every_layer():
    model = GLAI(5, [4, 3], 2, device="cpu", dtype=torch.float64)
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    assert {p.device.type for p in model.parameters()} == {"cpu"}


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_leading_dimensions_work_like_linear(hidden):
    model = make(hidden, torch.float64)
    x = torch.randn(4, 3, 5, dtype=torch.float64)
    before = model(x)
    assert before.shape == (4, 3, 3)
    model.freeze_structure()
    assert torch.equal(model(x), before)
    assert [m.shape for m in model.masks(x)] == [(4, 3, w) for w in hidden]
    torch.testing.assert_close(model(x)[:, 1], model(x[:, 1]))


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_inference_without_gradients_equals_the_training_forward(hidden):
    model = make(hidden, torch.float64).freeze_structure()
    x = torch.randn(30, 5, dtype=torch.float64)
    with torch.no_grad():
        model.paths[0].weight.mul_(1.5)
        fused = model(x)
    torch.testing.assert_close(fused, model(x), rtol=1e-12, atol=1e-12)
    with torch.no_grad():  # an in-place update of the paths must reach the fused weights
        model.paths[0].weight.add_(1.0)
        updated = model(x)
    torch.testing.assert_close(updated, model(x), rtol=1e-12, atol=1e-12)


# Own training loops: one optimiser, built at any time, trains what should train.

OPTIMISERS = {
    "adam": lambda parameters: torch.optim.Adam(parameters, lr=1e-2),
    "adamw": lambda parameters: torch.optim.AdamW(parameters, lr=1e-2, weight_decay=0.1),
    "sgd-momentum": lambda parameters: torch.optim.SGD(parameters, lr=1e-2, momentum=0.9),
}
SELECTIONS = {
    "all": lambda model: list(model.parameters()),
    "trainable": lambda model: [p for p in model.parameters() if p.requires_grad],
}


def train_steps(model, optimizer, x, steps=3, set_to_none=True):
    target = torch.ones(len(x), model.out_features, dtype=x.dtype)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=set_to_none)
        F.mse_loss(model(x), target).backward()
        optimizer.step()


def snapshot(module):
    return {name: tensor.clone() for name, tensor in module.state_dict().items()}


def unchanged(module, before):
    return all(torch.equal(tensor, before[name]) for name, tensor in module.state_dict().items())


@pytest.mark.parametrize("norm", [None, nn.BatchNorm1d], ids=["plain", "batch-norm"])
@pytest.mark.parametrize("selection", SELECTIONS, ids=str)
@pytest.mark.parametrize("optimiser", OPTIMISERS, ids=str)
def test_an_optimiser_built_before_the_switch_trains_the_paths_after_it(
    optimiser, selection, norm, inputs
):
    model = GLAI(5, [6, 4], 3, norm_layer=norm)
    optimizer = OPTIMISERS[optimiser](SELECTIONS[selection](model))
    structure, paths = snapshot(model.structure), snapshot(model.paths)
    train_steps(model, optimizer, inputs)
    assert not torch.equal(model.structure[0].weight, structure["0.weight"])
    assert unchanged(model.paths, paths)  # before the switch the paths get no gradient
    model.freeze_structure()
    structure = snapshot(model.structure)
    train_steps(model, optimizer, inputs, set_to_none=False)  # zeroed grads stay None
    assert unchanged(model.structure, structure)  # bit-identical, running statistics too
    assert all(p.grad is None for p in model.structure.parameters())
    for path, (weight, _) in zip(model.paths, model.structure.affine_layers()):
        assert not torch.equal(path.weight, weight)


# Inference without gradients follows every change of the weights.


def ema_of_a_student(model):
    """20 steps of an EMA teacher, written the usual way: in place through ``.data``."""
    student = make([6, 4], model.paths[0].weight.dtype).freeze_structure()
    for _ in range(20):
        for teacher, learner in zip(model.parameters(), student.parameters()):
            teacher.data.mul_(0.9).add_(learner.data, alpha=0.1)


def zero_through_data(model):
    model.structure[0].weight.data.zero_()
    model.paths[0].weight.data.zero_()


def load_other_weights(model):
    other = make([6, 4]).freeze_structure()
    model.load_state_dict(other.state_dict())


def optimiser_steps(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    train_steps(model, optimizer, torch.randn(16, 5))


def copy_under_no_grad(model):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter))


def to_float64(model):
    model.to(torch.float64)


@pytest.mark.parametrize(
    "edit",
    [
        ema_of_a_student,
        zero_through_data,
        load_other_weights,
        optimiser_steps,
        copy_under_no_grad,
        to_float64,
    ],
    ids=lambda edit: edit.__name__,
)
def test_inference_follows_every_change_of_the_weights(edit, inputs):
    model = make([6, 4]).freeze_structure()
    with torch.no_grad():
        model(inputs)  # a first inference, as an evaluation between steps would make
    edit(model)
    x = inputs.to(model.paths[0].weight.dtype)
    with torch.no_grad():
        inference = model(x)
    masks = [z > 0 for z in model.structure.pre_activations(x)]
    reference = model.paths[-1](model.paths[1](model.paths[0](x) * masks[0]) * masks[1]).detach()
    torch.testing.assert_close(inference, reference, rtol=0, atol=0)
    torch.testing.assert_close(inference, model(x).detach(), rtol=0, atol=0)


# Normalisation: Linear, BatchNorm1d, ReLU, ..., Linear, folded into the paths at the switch.


def trained_norms(model, x, steps=5):
    """Non-trivial BatchNorm: random affine parameters and running statistics of ``x``."""
    with torch.no_grad():
        for norm in model.structure.norms:
            norm.weight.uniform_(0.5, 2.0)
            norm.bias.uniform_(-0.5, 0.5)
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(3 * x + 1)
    return model


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_switch_with_batch_norm_equals_the_structure_in_eval_mode(hidden, bias, inputs):
    model = trained_norms(GLAI(5, hidden, 3, bias, norm_layer=nn.BatchNorm1d), inputs)
    model.eval()
    before = model(inputs)
    model.freeze_structure()
    torch.testing.assert_close(model(inputs), before)
    torch.testing.assert_close(model(inputs, masks=model.masks(inputs)), before)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_batch_norm_statistics_are_frozen_after_the_switch(hidden, inputs):
    model = trained_norms(GLAI(5, hidden, 3, norm_layer=nn.BatchNorm1d), inputs)
    model.freeze_structure().train()
    statistics = snapshot(model.structure)
    train_output = model(2 * inputs)
    assert not model.structure.training
    assert unchanged(model.structure, statistics)
    model.eval()
    torch.testing.assert_close(model(2 * inputs), train_output, rtol=0, atol=0)


def test_batch_norm_trains_with_batch_statistics_before_the_switch(inputs):
    model = GLAI(5, [6], 3, norm_layer=nn.BatchNorm1d)
    norm = model.structure.norms[0]
    model(inputs)
    assert norm.num_batches_tracked == 1
    z = model.structure[0](inputs)
    expected = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + norm.eps)
    hidden = torch.relu(expected * norm.weight + norm.bias)
    torch.testing.assert_close(model(inputs), model.structure[-1](hidden))


def test_masks_are_taken_after_the_norm(inputs):
    model = trained_norms(GLAI(5, [6, 4], 3, norm_layer=nn.BatchNorm1d), inputs)
    read_by_relu = []
    relus = [m for m in model.structure if isinstance(m, nn.ReLU)]
    for relu in relus:
        relu.register_forward_hook(lambda module, args, output: read_by_relu.append(args[0] > 0))
    model.eval()
    model(inputs)
    assert all(torch.equal(a, b) for a, b in zip(model.masks(inputs), read_by_relu))


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_batch_norm_with_leading_dimensions(hidden):
    model = GLAI(5, hidden, 3, dtype=torch.float64, norm_layer=nn.BatchNorm1d)
    x = torch.randn(8, 2, 5, dtype=torch.float64)
    flat = GLAI(5, hidden, 3, dtype=torch.float64, norm_layer=nn.BatchNorm1d)
    flat.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(x), flat(x.reshape(16, 5)).view(8, 2, 3))
    model.eval()
    before = model(x)
    model.freeze_structure()
    torch.testing.assert_close(model(x), before)
    assert [m.shape for m in model.masks(x)] == [(8, 2, w) for w in hidden]
    torch.testing.assert_close(model(x)[:, 1], model(x[:, 1]))


def test_norm_settings_of_a_partial_reach_every_layer():
    model = GLAI(5, [6, 4], 3, norm_layer=functools.partial(nn.BatchNorm1d, eps=1e-3))
    assert [norm.eps for norm in model.structure.norms] == [1e-3, 1e-3]
    assert [type(m) for m in model.structure] == [
        nn.Linear,
        nn.BatchNorm1d,
        nn.ReLU,
        nn.Linear,
        nn.BatchNorm1d,
        nn.ReLU,
        nn.Linear,
    ]


@pytest.mark.parametrize(
    ("norm_layer", "message"),
    [
        (nn.LayerNorm, "made LayerNorm"),
        (nn.Identity, "made Identity"),
        (functools.partial(nn.BatchNorm1d, track_running_stats=False), "track_running_stats"),
        (lambda width: nn.BatchNorm1d(3), "3 features for a hidden layer of width 6"),
    ],
    ids=["layer-norm", "identity", "no-running-statistics", "wrong-width"],
)
def test_norms_that_do_not_fold_are_refused(norm_layer, message):
    with pytest.raises(ValueError, match=message):
        GLAI(5, [6, 4], 3, norm_layer=norm_layer)


def test_a_norm_layer_must_be_callable():
    with pytest.raises(TypeError, match="norm_layer must be a callable"):
        GLAI(5, [6], 3, norm_layer="batch")


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_inference_with_batch_norm_equals_the_training_forward(hidden, inputs):
    model = trained_norms(GLAI(5, hidden, 3, norm_layer=nn.BatchNorm1d), inputs)
    model.freeze_structure()
    with torch.no_grad():
        inference = model(inputs)
    torch.testing.assert_close(inference, model(inputs).detach(), rtol=0, atol=0)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_from_mlp_with_batch_norm_equals_the_mlp(hidden, inputs):
    mlp = trained_norms(GLAI(5, hidden, 3, norm_layer=nn.BatchNorm1d), inputs).structure
    mlp.eval()
    model = GLAI.from_mlp(mlp)
    assert model.frozen
    torch.testing.assert_close(model(inputs), mlp(inputs))


def test_from_mlp_takes_a_torchvision_style_sequential(inputs):
    mlp = nn.Sequential(
        nn.Linear(5, 6), nn.BatchNorm1d(6, eps=1e-3), nn.ReLU(), nn.Dropout(0.1), nn.Linear(6, 2)
    )
    mlp(inputs)  # running statistics
    mlp.eval()
    model = GLAI.from_mlp(mlp)
    assert model.structure.norms[0].eps == 1e-3
    torch.testing.assert_close(model(inputs), mlp(inputs))


@pytest.mark.parametrize(
    ("mlp", "message"),
    [
        (
            nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.BatchNorm1d(6), nn.Linear(6, 2)),
            "found Linear, ReLU, BatchNorm1d, Linear",
        ),
        (
            nn.Sequential(
                nn.Linear(5, 6),
                nn.BatchNorm1d(6),
                nn.ReLU(),
                nn.Linear(6, 4),
                nn.ReLU(),
                nn.Linear(4, 2),
            ),
            "found Linear, BatchNorm1d, ReLU, Linear, ReLU, Linear",
        ),
        (
            nn.Sequential(
                nn.Linear(5, 6),
                nn.BatchNorm1d(6, track_running_stats=False),
                nn.ReLU(),
                nn.Linear(6, 2),
            ),
            "running statistics",
        ),
        (
            nn.Sequential(
                nn.Linear(5, 6),
                nn.BatchNorm1d(6),
                nn.ReLU(),
                nn.Linear(6, 4),
                nn.BatchNorm1d(4, eps=0.1),
                nn.ReLU(),
                nn.Linear(4, 2),
            ),
            "one setting",
        ),
    ],
    ids=["norm-after-relu", "norm-in-one-layer", "no-running-statistics", "mixed-settings"],
)
def test_from_mlp_refuses_norms_that_do_not_fold(mlp, message):
    with pytest.raises(ValueError, match=message):
        GLAI.from_mlp(mlp)
