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
