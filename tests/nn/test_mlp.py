import pytest
import torch
from torch import nn

from glai import MLP
from problems import DEPTHS, DTYPES


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_shapes_and_dtype(hidden, dtype):
    mlp = MLP(5, hidden, 3, dtype=dtype)
    output = mlp(torch.randn(4, 5, dtype=dtype))
    assert output.shape == (4, 3)
    assert output.dtype == dtype
    assert mlp.hidden_features == hidden
    assert len(mlp.linears) == len(hidden) + 1


def test_int_width_is_one_hidden_layer():
    assert MLP(5, 11, 2).hidden_features == [11]


def test_bias_false_reaches_every_layer():
    mlp = MLP(5, [4, 4], 2, bias=False)
    assert all(linear.bias is None for linear in mlp.linears)
    assert mlp.bias is False


def test_is_a_plain_relu_sequential():
    mlp = MLP(5, [4, 3], 2)
    assert [type(m) for m in mlp] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


def test_pre_activations_match_forward(inputs):
    mlp = MLP(5, [6, 4], 2)
    pre = list(mlp.pre_activations(inputs))
    assert [z.shape[1] for z in pre] == [6, 4]
    torch.testing.assert_close(mlp[-1](torch.relu(pre[-1])), mlp(inputs))


@pytest.mark.parametrize(
    ("hidden", "error", "message"),
    [
        ([], ValueError, "at least one"),
        ([4, 0], ValueError, "positive"),
        ("8", TypeError, "int or a list"),
        ([4.0], TypeError, "contain ints"),
    ],
    ids=["empty", "zero", "string", "float"],
)
def test_bad_widths_are_named(hidden, error, message):
    with pytest.raises(error, match=message):
        MLP(5, hidden, 2)


def test_wrong_feature_count_is_named():
    with pytest.raises(ValueError, match="has 4 features, the model expects 5"):
        MLP(5, 3, 2)(torch.randn(2, 4))


def test_wrong_dtype_is_named():
    with pytest.raises(TypeError, match="float64"):
        MLP(5, 3, 2)(torch.randn(2, 5, dtype=torch.float64))


def test_norm_layer_goes_between_linear_and_relu():
    mlp = MLP(5, [4, 3], 2, norm_layer=nn.BatchNorm1d)
    assert [type(m) for m in mlp] == [
        nn.Linear,
        nn.BatchNorm1d,
        nn.ReLU,
        nn.Linear,
        nn.BatchNorm1d,
        nn.ReLU,
        nn.Linear,
    ]
    assert [norm.num_features for norm in mlp.norms] == [4, 3]
    assert MLP(5, [4, 3], 2).norms == [None, None]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_norm_layers_take_the_dtype(dtype):
    mlp = MLP(5, [4], 2, dtype=dtype, norm_layer=nn.BatchNorm1d)
    assert {t.dtype for t in mlp.state_dict().values() if t.is_floating_point()} == {dtype}


def test_pre_activations_read_the_running_statistics(inputs):
    mlp = MLP(5, [6, 4], 2, norm_layer=nn.BatchNorm1d)
    mlp(inputs + 1)  # train mode: batch statistics, running ones updated
    statistics = {name: t.clone() for name, t in mlp.state_dict().items()}
    pre = list(mlp.pre_activations(inputs))  # in train mode still: running statistics
    assert all(torch.equal(t, statistics[name]) for name, t in mlp.state_dict().items())
    mlp.eval()
    torch.testing.assert_close(mlp[-1](torch.relu(pre[-1])), mlp(inputs))


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("norm", [None, nn.BatchNorm1d], ids=["plain", "batch-norm"])
def test_affine_layers_are_the_eval_mode_network(hidden, norm, inputs):
    mlp = MLP(5, hidden, 2, dtype=torch.float64, norm_layer=norm)
    x = inputs.double()
    mlp(x + 0.5)  # running statistics away from 0 and 1
    mlp.eval()
    hidden_output = x
    layers = mlp.affine_layers()
    for weight, bias in layers[:-1]:
        hidden_output = torch.relu(hidden_output @ weight.T + bias)
    weight, bias = layers[-1]
    torch.testing.assert_close(hidden_output @ weight.T + bias, mlp(x))


def test_norm_with_leading_dimensions_flattens_them(inputs):
    mlp = MLP(5, [6], 2, norm_layer=nn.BatchNorm1d)
    x = torch.randn(8, 3, 5)
    twin = MLP(5, [6], 2, norm_layer=nn.BatchNorm1d)
    twin.load_state_dict(mlp.state_dict())
    torch.testing.assert_close(mlp(x), twin(x.reshape(24, 5)).view(8, 3, 2))
    assert mlp.norms[0].num_batches_tracked == 1


@pytest.mark.parametrize("norm", [None, nn.BatchNorm1d], ids=["plain", "batch-norm"])
def test_built_on_the_meta_device_then_reset_it_is_the_mlp_built_directly(norm, inputs):
    torch.manual_seed(0)
    direct = MLP(5, [6, 4], 3, norm_layer=norm)
    model = MLP(5, [6, 4], 3, device="meta", norm_layer=norm).to_empty(device="cpu")
    torch.manual_seed(0)
    model.reset_parameters()
    assert all(torch.equal(t, direct.state_dict()[name]) for name, t in model.state_dict().items())
    assert torch.equal(model(inputs), direct(inputs))


def test_the_repr_names_the_widths():
    assert MLP(4, [8, 6], 3).extra_repr() == "in_features=4, hidden_features=[8, 6], out_features=3"
