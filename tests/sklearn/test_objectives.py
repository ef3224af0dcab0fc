"""The estimators' weighted losses and R², against torch's and scikit-learn's."""

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score

from glai.sklearn.objectives import (
    r2,
    weighted_cross_entropy,
    weighted_mse,
    with_weights,
    without_weights,
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


@pytest.mark.parametrize(
    ("metric", "target", "classes"),
    [(accuracy, torch.arange(12) % 3, True), (r2, TARGET, False)],
    ids=["accuracy", "r2"],
)
def test_a_metric_without_weights_ignores_them(metric, target, classes):
    unweighted = without_weights(metric, classes=classes)
    weights = torch.arange(12.0)
    assert unweighted(OUTPUT, with_weights(target, weights)) == metric(OUTPUT, target)
    assert unweighted.__name__ == metric.__name__
