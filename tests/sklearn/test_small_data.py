"""Data too small for the validation split, and column-vector targets."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from glai import GLAIClassifier, GLAIRegressor

QUICK = {"hidden_features": 8, "epochs": 3, "max_structural_epochs": 1, "random_state": 0}
TOO_FEW = "too few to hold out validation_fraction"


def fit_without_warning(model, x, y):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*" + TOO_FEW)
        return model.fit(x, y)


def test_one_sample_trains_without_validation():
    x, y = np.ones((1, 4)), np.array([2.5])
    with pytest.warns(UserWarning, match=TOO_FEW):
        model = GLAIRegressor(**QUICK).fit(x, y)
    assert model.validation_scores_ is None
    assert model.predict(x).shape == (1,)


def test_one_sample_is_one_class_for_a_classifier():
    with pytest.raises(ValueError, match="one class"):
        GLAIClassifier(**QUICK).fit(np.ones((1, 4)), np.array([3]))


def test_a_split_that_would_leave_a_class_out_of_training_is_not_made():
    x, y = np.array([[0.0], [1.0]]), np.array([0, 1])
    with pytest.warns(UserWarning, match=TOO_FEW):
        model = GLAIClassifier(**QUICK).fit(x, y)
    assert model.validation_scores_ is None
    assert model.predict_proba(x).shape == (2, 2)


@pytest.mark.parametrize("seed", range(4))
def test_a_class_of_one_member_stays_in_training_beside_a_stratified_split(seed):
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 60 + [2])  # class 2 has one member: it keeps it for training
    x = rng.normal(size=(len(y), 3)) + y[:, None]
    model = fit_without_warning(GLAIClassifier(**{**QUICK, "random_state": seed}), x, y)
    assert model.validation_scores_ is not None
    assert list(model.classes_) == [0, 1, 2]


def test_duplicated_rows_count_once_towards_the_validation_split():
    x, y = np.arange(60.0).reshape(30, 2), np.arange(30) % 2
    with pytest.warns(UserWarning, match="30 distinct sample"):
        model = GLAIClassifier(**QUICK).fit(np.repeat(x, 5, 0), np.repeat(y, 5))
    assert model.validation_scores_ is None


def test_a_column_target_is_raveled_with_a_warning_like_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    flat = GLAIRegressor(**QUICK).fit(x, y)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = GLAIRegressor(**QUICK).fit(x, y[:, None])
    assert column.predict(x).shape == (60,)
    np.testing.assert_array_equal(column.predict(x), flat.predict(x))


def test_several_target_columns_stay_several():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    model = fit_without_warning(GLAIRegressor(**QUICK), x, np.stack([x[:, 0], x[:, 1]], 1))
    assert model.predict(x).shape == (120, 2)
    assert model.validation_scores_ is not None
