"""The estimators' weighted losses and R², against torch's and scikit-learn's."""

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, r2_score

from glai.sklearn.objectives import (
    r2,
    weighted_accuracy,
    weighted_cross_entropy,
    weighted_mse,
    weighted_r2,
    with_weights,
)
from glai.training.metrics import accuracy

GENERATOR = torch.Generator().manual_seed(0)
OUTPUT = torch.randn(12, 3, generator=GENERATOR)
TARGET = torch.randn(12, 3, generator=GENERATOR)
CONSTANT = torch.ones(12, 1)


@pytest.mark.parametrize(
    ("output", "target"),
    [
        (OUTPUT[:, :1], TARGET[:, :1]),
        (OUTPUT, TARGET),
        (OUTPUT, OUTPUT + 0.1 * TARGET),
        (CONSTANT, CONSTANT),
        (CONSTANT + 1, CONSTANT),
        (torch.cat([OUTPUT[:, :1], CONSTANT], 1), torch.cat([TARGET[:, :1], CONSTANT], 1)),
    ],
    ids=["one-output", "three-outputs", "close", "constant-exact", "constant-missed", "mixed"],
)
def test_r2_is_scikit_learn_s(output, target):
    assert r2(output, target) == pytest.approx(r2_score(target.numpy(), output.numpy()), abs=1e-6)


@pytest.mark.parametrize(
    ("weighted", "plain", "target"),
    [
        (weighted_cross_entropy, F.cross_entropy, torch.arange(12) % 3),
        (weighted_mse, F.mse_loss, TARGET),
    ],
    ids=["cross-entropy", "mse"],
)
def test_unit_weights_give_the_plain_loss_and_weights_scale_each_sample(weighted, plain, target):
    ones = torch.ones(12)
    assert weighted(OUTPUT, with_weights(target, ones)) == pytest.approx(
        float(plain(OUTPUT, target))
    )
    doubled_first = ones.clone()
    doubled_first[0] = 2.0
    expected = (float(plain(OUTPUT, target)) * 12 + float(plain(OUTPUT[:1], target[:1]))) / 12
    assert weighted(OUTPUT, with_weights(target, doubled_first)) == pytest.approx(expected)


WEIGHTS = torch.arange(12.0) % 4  # zeros included


def test_weighted_accuracy_is_scikit_learn_s_with_sample_weight():
    labels = torch.arange(12) % 3
    expected = accuracy_score(labels, OUTPUT.argmax(1), sample_weight=WEIGHTS)
    assert weighted_accuracy(OUTPUT, with_weights(labels, WEIGHTS)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("output", "target"),
    [(OUTPUT, TARGET), (CONSTANT, CONSTANT), (CONSTANT + 1, CONSTANT)],
    ids=["three-outputs", "constant-exact", "constant-missed"],
)
def test_weighted_r2_is_scikit_learn_s_with_sample_weight(output, target):
    expected = r2_score(target.numpy(), output.numpy(), sample_weight=WEIGHTS.numpy())
    assert weighted_r2(output, with_weights(target, WEIGHTS)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("weighted", "plain", "target"),
    [(weighted_accuracy, accuracy, torch.arange(12) % 3), (weighted_r2, r2, TARGET)],
    ids=["accuracy", "r2"],
)
def test_a_weighted_metric_with_equal_weights_is_the_metric_and_is_recorded_by_its_name(
    weighted, plain, target
):
    equal = with_weights(target, torch.full((12,), 2.5))
    assert weighted(OUTPUT, equal) == pytest.approx(plain(OUTPUT, target))
    assert weighted.__name__ == plain.__name__
