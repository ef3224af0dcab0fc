"""Data too small for the validation split, and column-vector targets."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import train_test_split

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


def singleton_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 20 + [2])  # class 2 has one member: no stratified split
    return rng.normal(size=(len(y), 3)) + y[:, None], y


def single_member_seeds() -> tuple[int, int]:
    """Seeds whose random 10% split of ``singleton_problem`` keeps its one-member class in
    training, and puts it in validation."""
    _, y = singleton_problem()
    rows = np.arange(len(y))
    held_out = [2 in y[train_test_split(rows, test_size=0.1, random_state=s)[1]] for s in range(50)]
    return held_out.index(False), held_out.index(True)


def test_a_class_too_small_to_stratify_falls_back_to_a_random_split():
    x, y = singleton_problem()
    keeps, holds_out = single_member_seeds()
    model = fit_without_warning(GLAIClassifier(**{**QUICK, "random_state": keeps}), x, y)
    assert model.validation_scores_ is not None
    with pytest.warns(UserWarning, match=TOO_FEW):
        model = GLAIClassifier(**{**QUICK, "random_state": holds_out}).fit(x, y)
    assert model.validation_scores_ is None
    assert list(model.classes_) == [0, 1, 2]


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
    x = rng.normal(size=(60, 3))
    model = fit_without_warning(GLAIRegressor(**QUICK), x, np.stack([x[:, 0], x[:, 1]], 1))
    assert model.predict(x).shape == (60, 2)
