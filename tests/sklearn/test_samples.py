"""The weighted set of distinct samples an estimator trains on."""

import numpy as np
import pytest

from glai.sklearn.samples import Samples, positive_rows

X = np.arange(12, dtype=np.float32).reshape(6, 2)
Y = np.array([0, 1, 0, 1, 0, 1])


def same(first: Samples, second: Samples) -> bool:
    return all(
        np.array_equal(getattr(first, name), getattr(second, name))
        for name in ("inputs", "targets", "weights")
    )


def test_copies_of_a_row_are_one_row_with_their_weights_summed():
    copies = np.array([1, 3, 1, 2, 1, 1])
    samples = Samples.merge(np.repeat(X, copies, 0), np.repeat(Y, copies), np.ones(9))
    assert len(samples) == 6
    assert same(samples, Samples.merge(X, Y, copies.astype(float)))


def test_the_order_of_the_rows_does_not_matter():
    order = np.random.default_rng(0).permutation(6)
    weights = np.arange(1.0, 7.0)
    assert same(Samples.merge(X, Y, weights), Samples.merge(X[order], Y[order], weights[order]))


def test_equal_inputs_with_different_targets_stay_apart():
    samples = Samples.merge(np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]), np.ones(4))
    assert sorted(samples.targets.tolist()) == [0, 1]
    assert samples.weights.tolist() == [2.0, 2.0]
    assert not samples.weighted


@pytest.mark.parametrize(
    ("weights", "rows"), [(None, 6), (np.array([0, 1, 0, 2, 0, 3.0]), 3)], ids=["none", "zeros"]
)
def test_a_zero_weight_is_the_row_removed(weights, rows):
    inputs, labels, kept = positive_rows(X, Y, weights)
    assert len(inputs) == len(labels) == len(kept) == rows
    assert (kept > 0).all()
