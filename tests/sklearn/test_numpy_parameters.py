"""Numpy numbers as hyperparameters, as numpy parameter grids (``np.arange``) give them."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from glai import GLAIClassifier
from glai.guards import as_widths, check_positive_int

QUICK = {"epochs": 2, "max_structural_epochs": 1, "random_state": 0}


@pytest.fixture(scope="module")
def problem():
    return make_classification(n_samples=80, n_features=6, random_state=0)


@pytest.mark.parametrize(
    ("value", "widths"),
    [
        (np.int64(64), [64]),
        (np.uint8(3), [3]),
        ([np.int64(8), np.int32(4)], [8, 4]),
        ((np.int16(5), 2), [5, 2]),
    ],
    ids=["int64", "uint8", "list-of-numpy", "tuple-mixed"],
)
def test_numpy_integers_are_widths_as_python_ints(value, widths):
    assert as_widths(value) == widths
    assert all(type(width) is int for width in as_widths(value))


@pytest.mark.parametrize(
    "value",
    [True, np.bool_(True), 2.0, np.float64(2.0), [4, True], [np.float32(4.0)], "4"],
    ids=["bool", "numpy-bool", "float", "numpy-float", "bool-in-list", "float-in-list", "str"],
)
def test_bools_and_floats_are_still_not_widths(value):
    with pytest.raises(TypeError, match="hidden_features"):
        as_widths(value)


@pytest.mark.parametrize(
    ("value", "error"),
    [(np.int64(3), None), (np.uint16(1), None), (np.bool_(True), TypeError), (True, TypeError),
     (np.float64(3.0), TypeError), (np.int64(0), ValueError)],
    ids=["int64", "uint16", "numpy-bool", "bool", "numpy-float", "numpy-zero"],
)  # fmt: skip
def test_check_positive_int_takes_numpy_integers(value, error):
    if error is None:
        check_positive_int(value, "epochs")
    else:
        with pytest.raises(error, match="epochs"):
            check_positive_int(value, "epochs")


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_features": np.int64(8)},
        {"hidden_features": [np.int64(8), np.int64(4)]},
        {"epochs": np.int64(2), "batch_size": np.int32(16), "patience": np.int64(1)},
        {"lr": np.float32(1e-3), "structural_lr": np.float64(1e-2), "threshold": np.float32(0.2)},
        {"validation_fraction": np.float64(0.2), "weight_decay": np.float32(0.0)},
    ],
    ids=["width", "widths", "integer-settings", "float-settings", "fractions"],
)
def test_an_estimator_trains_with_numpy_numbers(params, problem):
    model = GLAIClassifier(**{"hidden_features": 8, **QUICK, **params}).fit(*problem)
    assert model.predict(problem[0]).shape == (80,)


def test_grid_search_over_numpy_arrays(problem):
    grid = {"hidden_features": np.array([16, 32]), "lr": np.array([1e-3, 1e-2])}
    search = GridSearchCV(GLAIClassifier(**QUICK), grid, cv=2).fit(*problem)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["hidden_features"] in (16, 32)
    assert search.best_estimator_.model_.hidden_features in ([16], [32])


def test_numpy_widths_in_a_list_are_saved_as_numbers(tmp_path):
    from sklearn.datasets import load_iris

    from glai.sklearn.persistence import load_estimator, save_estimator

    x, y = load_iris(return_X_y=True)
    estimator = GLAIClassifier([np.int64(8)], epochs=1, random_state=0).fit(x, y)
    save_estimator(estimator, tmp_path / "m.safetensors")
    assert load_estimator(tmp_path / "m.safetensors").get_params()["hidden_features"] == [8]
