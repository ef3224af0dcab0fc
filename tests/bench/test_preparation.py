"""Features prepared on the training part only: scaling, and one-hot categorical columns."""

import numpy as np
import pandas as pd
import pytest

from glai_bench.preparation import categorical_columns, prepare


@pytest.fixture
def frames():
    train = pd.DataFrame(
        {
            "colour": ["red", "blue", "red", None],
            "size": [1.0, 2.0, 3.0, np.nan],
            "ok": [1, 0, 1, 1],
        }
    )
    test = pd.DataFrame({"colour": ["green", "blue"], "size": [5.0, 2.0], "ok": [0, 1]})
    return train, test


def test_the_words_are_the_categorical_columns(frames):
    train, _ = frames
    assert categorical_columns(train) == ["colour"]
    assert categorical_columns(train.assign(flag=[True, False, True, True])) == ["colour", "flag"]


def test_categories_are_one_hot_and_numbers_scaled_on_the_training_part(frames):
    train, test = frames
    x_train, x_test = prepare(train, test, ["colour"])
    assert x_train.dtype == x_test.dtype == np.float32
    assert x_train.shape == (4, 3 + 2)  # blue, red, missing; size, ok
    np.testing.assert_array_equal(x_train[:, :3].sum(1), 1.0)
    np.testing.assert_array_equal(x_test[0, :3], 0.0)  # a colour never seen in training
    np.testing.assert_allclose(x_train[:, 3:].mean(0), 0.0, atol=1e-6)
    size = x_test[0, 3]  # 5.0 scaled by the training part's median-filled sizes 1, 2, 3, 2
    np.testing.assert_allclose(size, (5.0 - 2.0) / np.std([1.0, 2.0, 3.0, 2.0]), rtol=1e-6)


def test_numbers_alone_are_standardised_with_the_training_statistics():
    train = np.array([[0.0, 5.0], [2.0, 5.0]], np.float32)
    x_train, x_test = prepare(train, np.array([[4.0, 6.0]], np.float32))
    np.testing.assert_allclose(x_train, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(x_test, [[3.0, 1.0]])  # a constant column's scale counts as 1
