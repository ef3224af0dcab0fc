import itertools
import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from glai import GLAI, MLP, path_distance
from problems import DEPTHS

IN_FEATURES, OUT_FEATURES = 3, 2


def active_paths(patterns, sample, in_features=IN_FEATURES, out_features=OUT_FEATURES):
    """Every active input-to-output path of one input, enumerated: (i, j_1, ..., j_L, k)."""
    units = [p[sample].nonzero().flatten().tolist() for p in patterns]
    return set(itertools.product(range(in_features), *units, range(out_features)))


def brute_force(patterns_a, patterns_b):
    """1 - |P & P'| / |P | P'| per input, from the enumerated path sets (0 if both empty)."""
    distances = []
    for sample in range(len(patterns_a[0])):
        a, b = active_paths(patterns_a, sample), active_paths(patterns_b, sample)
        union = a | b
        distances.append(1 - len(a & b) / len(union) if union else 0.0)
    return torch.tensor(distances, dtype=torch.float64)


@st.composite
def pattern_pairs(draw):
    """Two sets of random masks of one batch and the same hidden widths."""
    batch = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    density = draw(st.sampled_from([0.1, 0.5, 0.9]))

    def masks():
        seed = draw(st.integers(0, 2**31 - 1))
        generator = torch.Generator().manual_seed(seed)
        return tuple(torch.rand(batch, w, generator=generator) < density for w in widths)

    return masks(), masks()


@settings(max_examples=200, deadline=None)
@given(pattern_pairs())
def test_masks_match_enumerating_the_paths(pair):
    patterns_a, patterns_b = pair
    fast = path_distance(patterns_a, patterns_b, reduction="none")
    torch.testing.assert_close(fast, brute_force(patterns_a, patterns_b), rtol=0, atol=1e-9)


def structure_patterns(model, x):
    """The hidden patterns of an MLP (or of a GLAI's structure) from its pre-activations."""
    mlp = model.structure if isinstance(model, GLAI) else model
    return tuple(z > 0 for z in mlp.pre_activations(x))


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("kind", [MLP, GLAI], ids=["mlp", "glai"])
def test_networks_match_enumerating_the_paths(kind, hidden):
    a = kind(IN_FEATURES, hidden, OUT_FEATURES, dtype=torch.float64)
    b = kind(IN_FEATURES, hidden, OUT_FEATURES, dtype=torch.float64)
    x = torch.randn(6, IN_FEATURES, dtype=torch.float64)
    expected = brute_force(structure_patterns(a, x), structure_patterns(b, x))
    fast = path_distance(a, b, x, reduction="none")
    torch.testing.assert_close(fast, expected, rtol=0, atol=1e-9)


def test_a_glai_is_compared_by_its_structure(inputs):
    model = GLAI(5, [6, 4], 3).freeze_structure()
    with torch.no_grad():
        model.paths[0].weight.neg_()  # the paths move, the structure does not
    assert path_distance(model, model.structure, inputs) == 0
    assert path_distance(model, MLP(5, [6, 4], 3), inputs) > 0


def test_a_network_and_masks_can_be_compared(inputs):
    model = MLP(5, [6, 4], 3)
    patterns = structure_patterns(model, inputs)
    assert path_distance(model, patterns, inputs) == 0


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([[1, 1, 0]], [[1, 1, 0]], 0.0),
        ([[1, 1, 0]], [[1, 0, 0]], 0.5),
        ([[1, 0, 0]], [[0, 1, 0]], 1.0),
        ([[1, 0, 0]], [[0, 0, 0]], 1.0),
        ([[0, 0, 0]], [[0, 0, 0]], 0.0),
    ],
    ids=["same", "half", "disjoint", "one-empty", "both-empty"],
)
def test_simple_cases(a, b, expected):
    masks_a, masks_b = (torch.tensor(a, dtype=torch.bool),), (torch.tensor(b, dtype=torch.bool),)
    assert float(path_distance(masks_a, masks_b)) == expected


def test_flips_compound_across_layers():
    """5% of the units of each of 3 layers switched off move 1 - 0.95^3 of the paths."""
    on = tuple(torch.ones(1, 100, dtype=torch.bool) for _ in range(3))
    flipped = tuple(mask.clone() for mask in on)
    for mask in flipped:
        mask[0, :5] = False
    assert float(path_distance(on, flipped)) == pytest.approx(1 - 0.95**3, abs=1e-12)


def exact_distance(patterns_a, patterns_b, sample):
    """The closed form in exact rational arithmetic (Python integers do not overflow)."""
    shared_patterns = [a & b for a, b in zip(patterns_a, patterns_b)]
    a, b, shared = (
        math.prod(int(pattern[sample].sum()) for pattern in patterns)
        for patterns in (patterns_a, patterns_b, shared_patterns)
    )
    return 1 - Fraction(shared, a + b - shared)


def test_deep_wide_networks_do_not_overflow():
    generator = torch.Generator().manual_seed(0)
    patterns_a = tuple(torch.rand(4, 1000, generator=generator) < 0.5 for _ in range(20))
    flips = tuple(torch.rand(4, 1000, generator=generator) < 0.01 for _ in range(20))
    patterns_b = tuple(a ^ flip for a, flip in zip(patterns_a, flips))
    fast = path_distance(patterns_a, patterns_b, reduction="none")
    assert torch.isfinite(fast).all()
    expected = [float(exact_distance(patterns_a, patterns_b, i)) for i in range(4)]
    torch.testing.assert_close(fast, torch.tensor(expected, dtype=torch.float64), rtol=1e-9, atol=0)


def test_patterns_with_leading_dimensions_give_one_distance_per_row():
    generator = torch.Generator().manual_seed(0)
    patterns_a = (torch.rand(2, 5, 6, generator=generator) < 0.5,)  # (batch, tokens, width)
    patterns_b = (torch.rand(2, 5, 6, generator=generator) < 0.5,)
    per_token = path_distance(patterns_a, patterns_b, reduction="none")
    assert per_token.shape == (2, 5)
    flat = path_distance(
        (patterns_a[0].flatten(0, 1),), (patterns_b[0].flatten(0, 1),), None, "none"
    )
    torch.testing.assert_close(per_token.flatten(), flat)


@pytest.mark.parametrize(
    ("reduction", "reduce"),
    [("mean", torch.mean), ("sum", torch.sum), ("none", lambda t: t)],
    ids=["mean", "sum", "none"],
)
def test_reductions(reduction, reduce):
    a, b = MLP(5, [6, 4], 3), MLP(5, [6, 4], 3)
    x = torch.randn(16, 5)
    per_input = path_distance(a, b, x, reduction="none")
    assert per_input.shape == (16,) and per_input.dtype == torch.float64
    torch.testing.assert_close(path_distance(a, b, x, reduction=reduction), reduce(per_input))


def masks(*widths, batch=4):
    return tuple(torch.ones(batch, w, dtype=torch.bool) for w in widths)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: path_distance(masks(3), masks(4)), ValueError, "3 units in a and 4 in b"),
        (lambda: path_distance(masks(3, 2), masks(3)), ValueError, "got 2 and 1 layers"),
        (lambda: path_distance((), ()), ValueError, "at least one"),
        (lambda: path_distance(masks(3), masks(3, batch=5)), ValueError, "covers inputs"),
        (lambda: path_distance(masks(3, batch=0), masks(3, batch=0)), ValueError, "one input"),
        (lambda: path_distance(masks(3), masks(3), reduction="max"), ValueError, "reduction"),
        (
            lambda: path_distance(masks(3), (torch.ones(4, 3),)),
            TypeError,
            "layer 0 of b must be a bool tensor",
        ),
        (lambda: path_distance(masks(3), "masks"), TypeError, "b must be a ReLU network"),
        (lambda: path_distance(MLP(5, 3, 2), MLP(5, 3, 2)), ValueError, "x is needed"),
        (
            lambda: path_distance(masks(3), masks(3), torch.randn(4, 5)),
            ValueError,
            "x is read only",
        ),
        (
            lambda: path_distance(MLP(5, 3, 2), MLP(5, 4, 2), torch.randn(4, 5)),
            ValueError,
            "same hidden widths",
        ),
    ],
    ids=[
        "widths",
        "depths",
        "no-layer",
        "batches",
        "no-input",
        "reduction",
        "float-mask",
        "not-masks",
        "no-x",
        "x-with-masks",
        "network-widths",
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
