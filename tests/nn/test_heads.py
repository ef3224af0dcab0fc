import pytest
import torch
from torch import nn

import glai
from glai import GLAI, BYOLProjectionHead, SimCLRProjectionHead, load, save

LINEAR, NORM, RELU = nn.Linear, nn.BatchNorm1d, nn.ReLU

HEADS = {
    "simclr": (lambda: SimCLRProjectionHead(16, 12, 4), [LINEAR, NORM, RELU, LINEAR]),
    "simclr-3-layers": (
        lambda: SimCLRProjectionHead(16, 12, 4, num_layers=3),
        [LINEAR, NORM, RELU, LINEAR, NORM, RELU, LINEAR],
    ),
    "simclr-no-norm": (
        lambda: SimCLRProjectionHead(16, 12, 4, batch_norm=False),
        [LINEAR, RELU, LINEAR],
    ),
    "byol": (lambda: BYOLProjectionHead(16, 20, 4), [LINEAR, NORM, RELU, LINEAR]),
}


@pytest.mark.parametrize("name", HEADS, ids=str)
def test_layers_follow_lightly(name):
    build, layers = HEADS[name]
    head = build()
    assert isinstance(head, GLAI)
    assert [type(m) for m in head.structure] == layers
    assert head.in_features == 16
    assert head.out_features == 4


@pytest.mark.parametrize("name", HEADS, ids=str)
def test_forward_shapes_before_and_after_the_switch(name):
    head = HEADS[name][0]()
    x = torch.randn(8, 16)
    assert head(x).shape == (8, 4)
    head.eval()
    before = head(x)
    head.freeze_structure()
    torch.testing.assert_close(head(x), before)


@pytest.mark.parametrize("name", HEADS, ids=str)
def test_state_dict_keys_do_not_change_at_the_switch(name, tmp_path):
    head = HEADS[name][0]()
    head(torch.randn(8, 16))  # running statistics
    before = {name: tensor.clone() for name, tensor in head.state_dict().items()}
    head.freeze_structure()
    assert list(head.state_dict()) == list(before)
    save(head, tmp_path / "head.safetensors")
    loaded = load(tmp_path / "head.safetensors")
    assert list(loaded.state_dict()) == list(before)
    loaded.load_state_dict(before)  # a state saved before the switch loads after it
    assert not loaded.frozen
    x = torch.randn(8, 16)
    head_before = HEADS[name][0]()
    head_before.load_state_dict(before)
    torch.testing.assert_close(loaded.eval()(x), head_before.eval()(x), rtol=0, atol=0)


def test_defaults_are_lightlys():
    simclr, byol = SimCLRProjectionHead(), BYOLProjectionHead()
    assert (simclr.in_features, simclr.hidden_features, simclr.out_features) == (2048, [2048], 128)
    assert (byol.in_features, byol.hidden_features, byol.out_features) == (2048, [4096], 256)


@pytest.mark.parametrize(
    ("num_layers", "error", "message"),
    [(1, ValueError, "at least 2"), (2.0, TypeError, "num_layers must be an int")],
    ids=["one", "float"],
)
def test_too_few_layers_are_refused(num_layers, error, message):
    with pytest.raises(error, match=message):
        SimCLRProjectionHead(16, 12, 4, num_layers=num_layers)


def test_heads_are_exported():
    assert glai.nn.SimCLRProjectionHead is SimCLRProjectionHead
    assert glai.nn.BYOLProjectionHead is BYOLProjectionHead
