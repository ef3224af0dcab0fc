import pytest
import torch
from torch import nn

from glai import GLAI, activation_patterns
from problems import head_on_a_stem


def test_any_relu_sequential_is_monitored(inputs):
    network = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    patterns = activation_patterns(network, inputs)
    assert [p.shape for p in patterns] == [(32, 6), (32, 4)]
    reference = GLAI.from_mlp(network).masks(inputs)
    assert all(torch.equal(a, b) for a, b in zip(patterns, reference))


def test_a_network_without_relu_is_refused(inputs):
    with pytest.raises(TypeError, match="no nn.ReLU"):
        activation_patterns(nn.Sequential(nn.Linear(5, 2), nn.Tanh()), inputs)


@pytest.mark.parametrize("frozen", [False, True], ids=["structural", "frozen"])
def test_only_the_blocks_patterns_are_recorded(frozen, inputs):
    model = head_on_a_stem()
    if frozen:
        model[2].freeze_structure()
    patterns = activation_patterns(model, inputs)
    expected = model[2].masks(model[1](model[0](inputs)))
    assert [p.shape for p in patterns] == [(32, 6), (32, 4)]
    assert all(torch.equal(a, b) for a, b in zip(patterns, expected))


class CalledInReverse(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = GLAI(5, [6], 5)
        self.second = GLAI(5, [7], 5)

    def forward(self, x):
        return self.first(self.second(x))


def test_blocks_come_in_module_order_not_call_order(inputs):
    model = CalledInReverse()
    patterns = activation_patterns(model, inputs)
    expected = (*model.first.masks(model.second(inputs)), *model.second.masks(inputs))
    assert [p.shape for p in patterns] == [(32, 6), (32, 7)]
    assert all(torch.equal(a, b) for a, b in zip(patterns, expected))


def test_blocks_behind_torch_compile_are_found(inputs):
    model = head_on_a_stem()
    compiled = torch.compile(model, backend="eager")
    patterns = activation_patterns(compiled, inputs)
    assert all(torch.equal(a, b) for a, b in zip(patterns, activation_patterns(model, inputs)))
    assert len(patterns) == 2


class BackboneWithBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(5, 8)
        self.norm = nn.BatchNorm1d(8)

    def forward(self, x):
        return self.norm(self.linear(x))


def frozen_backbone_and_head():
    """A backbone left in eval mode (frozen by its user) under a ReLU head in train mode."""
    backbone = BackboneWithBatchNorm().eval()
    head = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    model = nn.Sequential(backbone, head)
    backbone.eval()  # Sequential's constructor leaves modes alone; say it plainly
    return model


@pytest.mark.parametrize(
    "build",
    [frozen_backbone_and_head, lambda: head_on_a_stem().train(), lambda: head_on_a_stem().eval()],
    ids=["eval-backbone-train-head", "train", "eval"],
)
def test_every_submodule_keeps_its_mode(build, inputs):
    model = build()
    before = {name: module.training for name, module in model.named_modules()}
    activation_patterns(model, inputs)
    assert {name: module.training for name, module in model.named_modules()} == before


def test_batch_norm_statistics_are_not_updated(inputs):
    model = frozen_backbone_and_head()
    model.train()  # even in train mode, the patterns come from one pass in eval mode
    running = model[0].norm.running_mean.clone()
    activation_patterns(model, inputs)
    assert torch.equal(model[0].norm.running_mean, running)
