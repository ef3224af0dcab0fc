import copy
import itertools

import pytest
import torch

import glai
from glai import GLAI, MLP, path_norms, prune
from glai.nn.pruning import unit_scores
from problems import DEPTHS, linears, small_problem, switched_off


def brute_force_path_norms(model, x=None) -> list[torch.Tensor]:
    """Enumerate every path and add its |weight| to each hidden unit it passes through.

    A path starts at an input (entering hidden layer 0) or at the bias of hidden layer
    ``first``, passes one unit per hidden layer from ``first`` on, and ends at an output.
    With inputs ``x`` (n, in_features) a path from input ``i`` weighs ``|x_i|`` times more,
    counts only where every unit on it fires, and the sums are averaged over the inputs.
    """
    mlp = model.structure if isinstance(model, GLAI) else model
    layers = list(model.paths) if getattr(model, "frozen", False) else mlp.linears
    weights = [layer.weight.detach() for layer in layers]
    biases = [layer.bias.detach() for layer in layers]
    depth = len(weights) - 1
    samples = [None] if x is None else list(x)
    norms = [torch.zeros(w.shape[0], dtype=w.dtype) for w in weights[:-1]]
    for sample in samples:
        if sample is None:
            fires = [torch.ones(w.shape[0], dtype=torch.bool) for w in weights[:-1]]
            scale = torch.ones(weights[0].shape[1], dtype=weights[0].dtype)
        else:
            fires = [z[0] > 0 for z in mlp.pre_activations(sample[None])]
            scale = sample.abs()
        for first in range(depth):
            heads = [biases[first]]
            if first == 0:
                heads += [weights[0][:, i] * scale[i] for i in range(weights[0].shape[1])]
            units_per_layer = [range(weights[layer].shape[0]) for layer in range(first, depth)]
            for head in heads:
                for units in itertools.product(*units_per_layer):
                    if not all(fires[first + step][unit] for step, unit in enumerate(units)):
                        continue
                    value = head[units[0]]
                    for step in range(1, len(units)):
                        value = value * weights[first + step][units[step], units[step - 1]]
                    for output in range(weights[-1].shape[0]):
                        size = (value * weights[-1][output, units[-1]]).abs() / len(samples)
                        for step, unit in enumerate(units):
                            norms[first + step][unit] += size
    return norms


def build(kind, hidden):
    """A float64 model of 3 inputs and 2 outputs: an MLP, or a GLAI before or after the
    switch (paths moved away from the structure)."""
    if kind == "mlp":
        return MLP(3, hidden, 2, dtype=torch.float64)
    model = GLAI(3, hidden, 2, dtype=torch.float64)
    if kind == "frozen":
        model.freeze_structure()
        with torch.no_grad():
            model.paths[0].weight.mul_(2)
    return model


KINDS = ["mlp", "structure", "frozen"]


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_path_norms_equal_enumerating_every_path(kind, hidden):
    model = build(kind, hidden)
    for fast, slow in zip(path_norms(model), brute_force_path_norms(model)):
        torch.testing.assert_close(fast, slow)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_data_path_norms_equal_enumerating_every_active_path(kind, hidden):
    model = build(kind, hidden)
    x = torch.randn(5, 3, dtype=torch.float64)
    for fast, slow in zip(path_norms(model, x), brute_force_path_norms(model, x)):
        torch.testing.assert_close(fast, slow)


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_data_path_norms_are_the_data_free_ones_where_all_fires_on_unit_inputs(hidden):
    model = MLP(3, hidden, 2, dtype=torch.float64)
    with torch.no_grad():
        for linear in model.linears[:-1]:  # every unit fires on every input below
            linear.weight.abs_()
            linear.bias.add_(100.0)
    signs = torch.randint(0, 2, (7, 3)).double() * 2 - 1  # |x| = 1
    for data_aware, data_free in zip(path_norms(model, signs), path_norms(model)):
        torch.testing.assert_close(data_aware, data_free)


@pytest.mark.parametrize("inputs_given", [False, True], ids=["data-free", "data-aware"])
def test_an_mlp_and_the_glai_wrapping_it_have_the_same_path_norms(inputs_given, inputs):
    mlp = MLP(5, [6, 4], 3)
    x = inputs if inputs_given else None
    for of_mlp, of_glai in zip(path_norms(mlp, x), path_norms(GLAI.from_mlp(mlp), x)):
        torch.testing.assert_close(of_mlp, of_glai)


def test_a_unit_that_never_fires_has_no_data_path_norm(inputs):
    model = MLP(5, [6], 3)
    with torch.no_grad():
        model[0].bias[2] = -1e3
    assert path_norms(model, inputs)[0][2] == 0
    assert path_norms(model)[0][2] > 0


def test_data_path_norms_need_two_dimensional_inputs():
    with pytest.raises(ValueError, match=r"inputs must have shape \(n, 5\)"):
        path_norms(MLP(5, 6, 3), torch.randn(2, 4, 5))


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


def with_batch_norm(hidden, kind=GLAI):
    model = kind(5, hidden, 3, dtype=torch.float64, norm_layer=torch.nn.BatchNorm1d)
    with torch.no_grad():
        norms = model.structure.norms if kind is GLAI else model.norms
        for norm in norms:
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


# Pruning by each score, per layer or globally


MODELS = {
    "mlp": lambda: MLP(5, [8, 7, 5], 3, dtype=torch.float64),
    "mlp-batch-norm": lambda: with_batch_norm([8, 7, 5], MLP),
    "glai-structure": lambda: GLAI(5, [8, 7, 5], 3, dtype=torch.float64),
    "glai-frozen": lambda: GLAI(5, [8, 7, 5], 3, dtype=torch.float64).freeze_structure(),
    "glai-frozen-batch-norm": lambda: with_batch_norm([8, 7, 5]).freeze_structure(),
}


def kept_units(model, pruned):
    """The units of ``model`` that ``pruned`` kept, per hidden layer (random biases tell
    the units apart)."""
    originals, kept = linears(model)[0], linears(pruned)[0]
    return [
        torch.isin(old.bias, new.bias).nonzero().flatten()
        for old, new in zip(originals[:-1], kept[:-1])
    ]


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("by", ["path_norm", "data_path_norm", "weight"])
@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS)
def test_a_pruned_model_is_the_original_with_the_removed_units_off(build, by, scope):
    model = build().eval()
    x = torch.randn(32, 5, dtype=torch.float64)
    inputs = x if by == "data_path_norm" else None
    pruned = prune(model, 0.4, by=by, inputs=inputs, scope=scope).eval()
    assert type(pruned) is type(model)
    assert sum(pruned.hidden_features) < sum(model.hidden_features)
    assert getattr(pruned, "frozen", None) == getattr(model, "frozen", None)
    torch.testing.assert_close(
        pruned(x), switched_off(model, kept_units(model, pruned))(x), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("by", ["path_norm", "data_path_norm", "weight"])
@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS)
def test_pruning_nothing_is_the_identity(build, by):
    model = build()
    inputs = torch.randn(16, 5, dtype=torch.float64) if by == "data_path_norm" else None
    pruned = prune(model, 0.0, by=by, inputs=inputs)
    state = model.state_dict()
    assert pruned.state_dict().keys() == state.keys()
    assert all(torch.equal(value, state[name]) for name, value in pruned.state_dict().items())


@pytest.mark.parametrize("by", ["path_norm", "data_path_norm"])
@pytest.mark.parametrize("kind", ["mlp", "glai-frozen"])
def test_pruning_a_unit_that_sends_nothing_onwards_changes_nothing(kind, by):
    model = MODELS[kind]().eval()
    with torch.no_grad():
        for network in linears(model):
            network[1].weight[:, 3] = 0  # unit 3 of the first hidden layer
    x = torch.randn(16, 5, dtype=torch.float64)
    inputs = x if by == "data_path_norm" else None
    assert unit_scores(model, by, inputs)[0][3] == 0
    pruned = prune(model, [1 / 8, 0.0, 0.0], by=by, inputs=inputs).eval()
    assert pruned.hidden_features == [7, 7, 5]
    torch.testing.assert_close(pruned(x), model(x), rtol=1e-12, atol=1e-12)


def test_global_pruning_removes_the_share_of_all_units_where_they_score_lowest():
    model = MLP(5, [10, 10], 3)
    with torch.no_grad():
        model.linears[1].weight.mul_(1e-3)  # the second hidden layer's units score lowest
        model.linears[2].weight.mul_(1e-3)
    assert prune(model, 0.5, by="weight", scope="global").hidden_features == [9, 1]
    assert prune(model, 0.5, by="weight", scope="layer").hidden_features == [5, 5]


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.9, 0.99])
def test_global_pruning_counts(fraction):
    model = GLAI(5, [12, 6, 2], 3)
    pruned = prune(model, fraction, scope="global")
    expected = 20 - min(round(fraction * 20), 20 - 3)
    assert sum(pruned.hidden_features) == expected
    assert min(pruned.hidden_features) >= 1


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_pruning_keeps_the_mode(training):
    model = GLAI(5, [8, 4], 3).freeze_structure().train(training)
    pruned = prune(model, 0.5)
    assert pruned.training == training
    assert not pruned.structure.training  # a frozen structure stays in eval mode


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: prune(m, 1.0), ValueError, r"fraction must be in \[0, 1\)"),
        (lambda m: prune(m, -0.1), ValueError, r"fraction must be in \[0, 1\)"),
        (lambda m: prune(m, True), ValueError, r"fraction must be in \[0, 1\)"),
        (lambda m: prune(m, "half"), ValueError, r"fraction must be in \[0, 1\)"),
        (lambda m: prune(m, [0.5]), ValueError, "one fraction per hidden layer"),
        (lambda m: prune(m, [0.5, 0.5], scope="global"), ValueError, "one fraction of all"),
        (lambda m: prune(m, 0.5, scope="everywhere"), ValueError, "scope must be one of"),
        (lambda m: prune(m, 0.5, by="gradient"), ValueError, "by must be one of"),
        (lambda m: prune(m, 0.5, by="data_path_norm"), ValueError, "needs inputs"),
        (
            lambda m: prune(m, 0.5, inputs=torch.randn(4, 5)),
            ValueError,
            "inputs are read only by by='data_path_norm'",
        ),
        (
            lambda m: prune(m, 0.5, by="data_path_norm", inputs=torch.randn(4, 6)),
            ValueError,
            "has 6 features",
        ),
        (lambda m: prune(torch.nn.Linear(5, 3), 0.5), TypeError, "got Linear"),
    ],
    ids=[
        "one",
        "negative",
        "bool",
        "text",
        "count",
        "global-list",
        "scope",
        "by",
        "no-inputs",
        "inputs-unread",
        "inputs-width",
        "not-a-model",
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call(GLAI(5, [4, 4], 3))


def test_retraining_a_pruned_frozen_glai_keeps_its_structure_bit_for_bit():
    train, val = small_problem(), small_problem(100)
    model = GLAI(6, [16, 8], 3)
    glai.fit(model, train, val, epochs=2, seed=0)
    pruned = prune(model, 0.5, by="data_path_norm", inputs=train[0])
    structure = copy.deepcopy(pruned.structure.state_dict())
    paths = copy.deepcopy(pruned.paths.state_dict())
    history = glai.fit(pruned, train, val, epochs=3, seed=0)
    assert history.switch_epoch is None and {r.phase for r in history} == {"quantitative"}
    assert all(torch.equal(v, pruned.structure.state_dict()[k]) for k, v in structure.items())
    assert not all(torch.equal(v, pruned.paths.state_dict()[k]) for k, v in paths.items())


# Removing units in place (what prune and fit's adaptive pruning share)

KEEP = [torch.tensor([0, 2, 3, 6]), torch.tensor([1, 4]), torch.tensor([0, 1, 2, 4])]


@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS)
def test_removing_units_in_place_switches_them_off(build):
    model = build().eval()
    reference = switched_off(model, KEEP)
    x = torch.randn(16, 5, dtype=torch.float64)
    model.remove_units(KEEP)
    assert model.hidden_features == [4, 2, 4]
    torch.testing.assert_close(model(x), reference(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("build", MODELS.values(), ids=MODELS)
def test_removing_units_keeps_the_state_the_modes_and_what_trains(build, training):
    model = build().train(training)
    trains = {name: p.requires_grad for name, p in model.named_parameters()}
    modes = {name: m.training for name, m in model.named_modules()}
    model.remove_units(KEEP)
    assert getattr(model, "frozen", None) == getattr(build(), "frozen", None)
    assert {name: p.requires_grad for name, p in model.named_parameters()} == trains
    assert {name: m.training for name, m in model.named_modules()} == modes


def test_removing_units_copies_the_kept_weights_bit_for_bit_and_draws_nothing():
    model = with_batch_norm([8, 7, 5]).freeze_structure()
    before = copy.deepcopy(model)
    random_state = torch.get_rng_state()
    model.remove_units(KEEP)
    assert torch.equal(torch.get_rng_state(), random_state)
    for old, new in zip(linears(before), linears(model)):
        assert torch.equal(new[1].weight, old[1].weight[KEEP[1]][:, KEEP[0]])
    old, new = before.structure.norms[0], model.structure.norms[0]
    assert torch.equal(new.running_var, old.running_var[KEEP[0]])


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (KEEP[:2], "one tensor per hidden layer"),
        (torch.tensor([0, 1]), "a list of index tensors"),
        ([KEEP[0], torch.tensor([4, 1]), KEEP[2]], "distinct ascending"),
        ([KEEP[0], torch.tensor([1, 1]), KEEP[2]], "distinct ascending"),
        ([KEEP[0], torch.tensor([1, 7]), KEEP[2]], r"in \[0, 7\)"),
        ([KEEP[0], torch.tensor([], dtype=torch.long), KEEP[2]], "at least one"),
        ([KEEP[0], torch.tensor([1.0, 2.0]), KEEP[2]], "integer tensor"),
        ([KEEP[0], torch.ones(7, dtype=torch.bool), KEEP[2]], "integer tensor"),
    ],
    ids=["count", "tensor", "unsorted", "repeated", "range", "empty", "float", "bool"],
)
def test_bad_units_to_keep_are_named(keep, message):
    model = GLAI(5, [8, 7, 5], 3)
    with pytest.raises((ValueError, TypeError), match=message):
        model.remove_units(keep)
    assert model.hidden_features == [8, 7, 5]
