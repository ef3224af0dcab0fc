import pytest
import torch

from glai import GLAI, MLP, count_parameters, matched_width, mlp_parameter_count
from problems import DEPTHS


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_mlp_parameter_count_matches_a_built_mlp(hidden):
    assert mlp_parameter_count(5, hidden, 3) == count_parameters(MLP(5, hidden, 3))
    assert mlp_parameter_count(5, hidden, 3, bias=False) == count_parameters(
        MLP(5, hidden, 3, bias=False)
    )


def test_glai_counts_structure_and_paths():
    model = GLAI(5, [6, 4], 3)
    assert count_parameters(model) == 2 * count_parameters(MLP(5, [6, 4], 3))


def test_trainable_only_follows_the_switch():
    model = GLAI(5, [6, 4], 3)
    half = count_parameters(MLP(5, [6, 4], 3))
    # before the switch the paths require gradients too (they get none until the switch)
    assert count_parameters(model, trainable_only=True) == 2 * half
    model.freeze_structure()
    assert count_parameters(model, trainable_only=True) == half


@pytest.mark.parametrize(
    ("in_features", "hidden", "out_features"),
    [
        (1280, 1024, 10),
        (1280, [1024, 1024], 128),
        (784, [256, 128, 64], 10),
        (64, 128, 10),
        (2048, [2048], 128),
        (512, [300, 200], 5),
    ],
    ids=str,
)
def test_matched_width_is_within_one_percent(in_features, hidden, out_features):
    widths = matched_width(in_features, hidden, out_features)
    assert type(widths) is type(hidden)
    glai_total = count_parameters(GLAI(in_features, widths, out_features))
    mlp_total = mlp_parameter_count(in_features, hidden, out_features)
    assert abs(glai_total - mlp_total) <= 0.01 * mlp_total


def test_matched_width_is_about_half_for_wide_inputs():
    assert matched_width(1280, 1024, 10) == pytest.approx(512, abs=2)


@pytest.mark.parametrize("step", [-1, 1], ids=["narrower", "wider"])
def test_matched_width_cannot_beat_a_one_unit_step(step):
    widths = matched_width(1280, 1024, 10)
    target = mlp_parameter_count(1280, 1024, 10)
    gap = abs(2 * mlp_parameter_count(1280, widths, 10) - target)
    assert gap <= abs(2 * mlp_parameter_count(1280, widths + step, 10) - target)


def test_count_parameters_of_any_module():
    assert count_parameters(torch.nn.Linear(3, 2)) == 8
