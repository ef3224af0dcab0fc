import pytest
import torch
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
    assert trainable == {id(p) for p in model.structure.parameters()}
    model.freeze_structure()
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.paths.parameters()}


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
