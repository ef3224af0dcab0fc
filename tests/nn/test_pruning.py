import itertools

import pytest
import torch

from glai import GLAI, path_norms, prune
from problems import DEPTHS


def brute_force_path_norms(model: GLAI) -> list[torch.Tensor]:
    """Enumerate every path and add its |weight| to each hidden unit it passes through.

    A path starts at an input (entering hidden layer 0) or at the bias of hidden layer
    ``first``, passes one unit per hidden layer from ``first`` on, and ends at an output.
    """
    layers = list(model.paths) if model.frozen else model.structure.linears
    weights = [layer.weight.detach() for layer in layers]
    biases = [layer.bias.detach() for layer in layers]
    depth = len(weights) - 1
    norms = [torch.zeros(w.shape[0], dtype=w.dtype) for w in weights[:-1]]
    for first in range(depth):
        heads = [biases[first]]
        if first == 0:
            heads += [weights[0][:, i] for i in range(weights[0].shape[1])]
        units_per_layer = [range(weights[layer].shape[0]) for layer in range(first, depth)]
        for head in heads:
            for units in itertools.product(*units_per_layer):
                value = head[units[0]]
                for step in range(1, len(units)):
                    value = value * weights[first + step][units[step], units[step - 1]]
                for output in range(weights[-1].shape[0]):
                    size = (value * weights[-1][output, units[-1]]).abs()
                    for step, unit in enumerate(units):
                        norms[first + step][unit] += size
    return norms


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("frozen", [False, True], ids=["structure", "paths"])
def test_path_norms_equal_enumerating_every_path(hidden, frozen):
    model = GLAI(3, hidden, 2, dtype=torch.float64)
    if frozen:
        model.freeze_structure()
        with torch.no_grad():
            model.paths[0].weight.mul_(2)
    for fast, slow in zip(path_norms(model), brute_force_path_norms(model)):
        torch.testing.assert_close(fast, slow)


def test_prune_removes_the_requested_share():
    model = GLAI(5, [10, 20], 3).freeze_structure()
    pruned = prune(model, 0.3)
    assert pruned.hidden_features == [7, 14]
    assert pruned.frozen
    assert model.hidden_features == [10, 20]


def test_prune_keeps_at_least_one_unit():
    assert prune(GLAI(5, [2], 3), 0.9).hidden_features == [1]


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_pruning_zero_norm_units_of_the_last_layer_changes_nothing(hidden, inputs):
    model = GLAI(5, hidden, 3, dtype=torch.float64).freeze_structure()
    with torch.no_grad():
        model.paths[-1].weight[:, :2] = 0  # two last-layer units carry no path
    assert path_norms(model)[-1][:2].eq(0).all()
    pruned = prune(model, [0.0] * (len(hidden) - 1) + [2 / hidden[-1]])
    assert pruned.hidden_features == [*hidden[:-1], hidden[-1] - 2]
    x = inputs.double()
    torch.testing.assert_close(pruned(x), model(x), rtol=1e-12, atol=1e-12)


def test_pruning_a_deep_unit_dead_in_both_networks_changes_nothing(inputs):
    model = GLAI(5, [8, 8], 3, dtype=torch.float64).freeze_structure()
    with torch.no_grad():
        model.paths[1].weight[:, 0] = 0  # no value flows on from unit 0 ...
        model.structure[2].weight[:, 0] = 0  # ... and it drives no later gate
    assert path_norms(model)[0][0] == 0
    pruned = prune(model, [1 / 8, 0.0])
    assert pruned.hidden_features == [7, 8]
    x = inputs.double()
    torch.testing.assert_close(pruned(x), model(x), rtol=1e-12, atol=1e-12)


def test_pruning_keeps_the_highest_norm_units():
    model = GLAI(5, [6], 3).freeze_structure()
    norms = path_norms(model)[0]
    pruned = prune(model, 0.5)
    kept = torch.sort(torch.topk(norms, 3).indices).values
    assert torch.equal(pruned.paths[0].weight, model.paths[0].weight[kept])
    assert torch.equal(pruned.structure[0].weight, model.structure[0].weight[kept])


def test_per_layer_fractions_must_match_depth():
    with pytest.raises(ValueError, match="one fraction per hidden layer"):
        prune(GLAI(5, [4, 4], 3), [0.5])


@pytest.mark.parametrize("fraction", [-0.1, 1.0, "half"], ids=str)
def test_bad_fraction_is_named(fraction):
    with pytest.raises(ValueError, match="fraction must be in"):
        prune(GLAI(5, 4, 3), fraction)


def with_batch_norm(hidden):
    model = GLAI(5, hidden, 3, dtype=torch.float64, norm_layer=torch.nn.BatchNorm1d)
    with torch.no_grad():
        for norm in model.structure.norms:
            norm.weight.uniform_(0.5, 2.0)
        model(torch.randn(64, 5, dtype=torch.float64) + 1)  # running statistics
    return model.eval()


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_path_norms_with_batch_norm_are_those_the_switch_gives(hidden):
    model = with_batch_norm(hidden)
    before = path_norms(model)
    model.freeze_structure()
    for structural, switched in zip(before, path_norms(model)):
        torch.testing.assert_close(structural, switched)


@pytest.mark.parametrize("frozen", [False, True], ids=["structural", "frozen"])
@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_pruning_with_batch_norm_keeps_the_kept_units_statistics(hidden, frozen, inputs):
    model = with_batch_norm(hidden)
    if frozen:
        model.freeze_structure()
    last = model.paths[-1] if frozen else model.structure.linears[-1]
    with torch.no_grad():
        last.weight[:, :2] = 0  # two last-layer units carry no path
    pruned = prune(model, [0.0] * (len(hidden) - 1) + [2 / hidden[-1]]).eval()
    assert pruned.frozen == frozen
    assert pruned.hidden_features == [*hidden[:-1], hidden[-1] - 2]
    old, new = model.structure.norms[-1], pruned.structure.norms[-1]
    for name in ("weight", "bias", "running_mean", "running_var"):
        assert torch.equal(getattr(new, name), getattr(old, name)[2:])
    x = inputs.double()
    torch.testing.assert_close(pruned(x), model(x), rtol=1e-12, atol=1e-12)
