import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glai
from glai import GLAIClassifier, GLAIRegressor, read_info

FAST = {
    "epochs": 10,
    "max_structural_epochs": 5,
    "structural_lr": 1e-2,
    "lr": 1e-3,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def digits_numpy():
    x, y = load_digits(return_X_y=True)
    return x[:600] / 16.0, y[:600]


@pytest.fixture(scope="module")
def fitted(digits_numpy):
    x, y = digits_numpy
    return GLAIClassifier(32, **FAST).fit(x, y)


def test_fitted_state(fitted):
    assert list(fitted.classes_) == list(range(10))
    assert fitted.n_features_in_ == 64
    assert fitted.model_.frozen
    assert fitted.history_.switch_epoch is not None


def test_proba_rows_sum_to_one_and_argmax_is_predict(fitted, digits_numpy):
    x, _ = digits_numpy
    proba = fitted.predict_proba(x)
    assert proba.shape == (600, 10)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert np.array_equal(fitted.classes_[proba.argmax(1)], fitted.predict(x))


def test_string_labels_come_back(digits_numpy):
    x, y = digits_numpy
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    model = GLAIClassifier(16, **FAST).fit(x, names[y])
    assert set(model.predict(x)) <= set(names)


def test_learns(fitted, digits_numpy):
    assert fitted.score(*digits_numpy) > 0.8


def test_learns_with_row_space_training(digits_numpy):
    model = GLAIClassifier(32, quantitative="row_space", **FAST).fit(*digits_numpy)
    assert model.score(*digits_numpy) > 0.8


def test_clone_keeps_parameters_not_state(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")


def test_pickle_round_trip(fitted, digits_numpy):
    x, _ = digits_numpy
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(x), fitted.predict_proba(x))


def test_in_a_pipeline_with_grid_search(digits_numpy):
    x, y = digits_numpy
    pipeline = make_pipeline(StandardScaler(), GLAIClassifier(16, **FAST))
    search = GridSearchCV(pipeline, {"glaiclassifier__lr": [1e-4, 1e-3]}, cv=2)
    search.fit(x, y)
    assert search.best_params_["glaiclassifier__lr"] in (1e-4, 1e-3)
    assert search.predict(x).shape == (600,)


def test_same_random_state_same_model(digits_numpy):
    x, y = digits_numpy
    first = GLAIClassifier(16, **FAST).fit(x, y).predict_proba(x)
    second = GLAIClassifier(16, **FAST).fit(x, y).predict_proba(x)
    np.testing.assert_array_equal(first, second)


def test_regressor_predicts_in_target_units():
    x, y = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), GLAIRegressor(32, random_state=0)).fit(x, y)
    prediction = model.predict(x)
    assert prediction.shape == y.shape
    assert abs(prediction.mean() - y.mean()) < 0.2 * y.std()
    assert model.score(x, y) > 0.4


def test_regressor_multi_output():
    x, y = load_diabetes(return_X_y=True)
    targets = np.stack([y, -y], axis=1)
    model = GLAIRegressor(16, **FAST).fit(x, targets)
    assert model.predict(x).shape == (len(x), 2)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.full((10, 3), np.nan), np.arange(10) % 2, "NaN"),
        (np.ones((10, 3)), np.zeros(10), "at least 2 classes"),
        (np.ones((10, 3)), np.arange(9) % 2, "inconsistent numbers of samples"),
        (np.ones((0, 3)), np.zeros(0), "0 sample"),
        (np.ones((10, 3)), np.linspace(0, 1, 10), "Unknown label type"),
    ],
    ids=["nan", "one-class", "lengths", "empty", "continuous"],
)
def test_bad_input_is_named(x, y, message):
    with pytest.raises(ValueError, match=message):
        GLAIClassifier(4, **FAST).fit(x, y)


def test_wrong_feature_count_at_predict(fitted):
    with pytest.raises(ValueError, match="64 features"):
        fitted.predict(np.ones((2, 5)))


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GLAIClassifier().predict(np.ones((2, 3)))


TODAYS_PARAMS = {  # the parameters that estimators saved before FitConfig carried
    "hidden_features": 16,
    "epochs": 3,
    "batch_size": 64,
    "lr": 1e-3,
    "structural_lr": 1e-2,
    "schedule": "cosine",
    "quantitative": "full",
    "threshold": 0.15,
    "patience": 2,
    "max_structural_epochs": 5,
    "early_stopping": 10,
    "validation_fraction": 0.1,
    "weight_decay": 0.0,
    "device": None,
    "random_state": 0,
    "verbose": False,
}


NEWER_PARAMS = sorted(set(GLAIClassifier().get_params()) - set(TODAYS_PARAMS))


@pytest.fixture(scope="module")
def restored_from_older_file(fitted, tmp_path_factory):
    """``fitted`` saved with only ``TODAYS_PARAMS`` and a retired one, then loaded."""
    from glai.io.models import save
    from glai.sklearn import load_estimator, save_estimator

    directory = tmp_path_factory.mktemp("older")
    path = directory / "current.safetensors"
    save_estimator(fitted, path)
    info = read_info(path)["info"]
    info["params"] = {**TODAYS_PARAMS, "retired_setting": 1}
    old = directory / "old.safetensors"
    save(fitted.model_, old, info=info)
    with pytest.warns(UserWarning, match="retired_setting"):
        return load_estimator(old)


def test_load_restores_a_file_with_older_parameters(restored_from_older_file, fitted, digits_numpy):
    params = restored_from_older_file.get_params()
    assert {name: params[name] for name in TODAYS_PARAMS} == TODAYS_PARAMS
    x, _ = digits_numpy
    np.testing.assert_array_equal(restored_from_older_file.predict(x), fitted.predict(x))


@pytest.mark.parametrize("name", NEWER_PARAMS)
def test_a_parameter_missing_from_an_older_file_gets_its_default(name, restored_from_older_file):
    defaults = GLAIClassifier().get_params()
    assert restored_from_older_file.get_params()[name] == defaults[name], name


def test_save_load_round_trip_keeps_every_parameter(digits_numpy, tmp_path):
    from glai.sklearn import load_estimator, save_estimator

    model = GLAIClassifier(
        8, **{**FAST, "epochs": 2}, optimizer="adamw", relative=False, probe_size=64
    ).fit(*digits_numpy)
    save_estimator(model, tmp_path / "m.safetensors")
    assert load_estimator(tmp_path / "m.safetensors").get_params() == model.get_params()


def test_a_callable_optimizer_trains_but_cannot_be_saved(digits_numpy, tmp_path):
    import torch

    from glai.sklearn import save_estimator

    def factory(params, lr, weight_decay):
        return torch.optim.SGD(params, lr, weight_decay=weight_decay)

    model = GLAIClassifier(8, **{**FAST, "epochs": 2}, optimizer=factory).fit(*digits_numpy)
    assert clone(model).get_params()["optimizer"] is factory
    with pytest.raises(TypeError, match="optimizer"):
        save_estimator(model, tmp_path / "m.safetensors")


def test_settings_are_validated_at_fit_by_the_config(digits_numpy):
    with pytest.raises(ValueError, match="schedule"):
        GLAIClassifier(4, **FAST, schedule="linear").fit(*digits_numpy)
    with pytest.raises(ValueError, match="threshold"):
        GLAIClassifier(4, **FAST, threshold=2.0).fit(*digits_numpy)


def test_no_validation_split_means_no_early_stopping(digits_numpy, monkeypatch):
    from glai.sklearn import estimators

    configs = []

    def recording_fit(model, train, val, config, **kwargs):
        configs.append((val, config))
        return glai.fit(model, train, val, config, **kwargs)

    monkeypatch.setattr(estimators, "fit", recording_fit)
    GLAIClassifier(8, **{**FAST, "epochs": 2}, validation_fraction=0).fit(*digits_numpy)
    GLAIClassifier(8, **{**FAST, "epochs": 2}, early_stopping=3).fit(*digits_numpy)
    (no_val, without), (val, with_split) = configs
    assert no_val is None and without.early_stopping is None
    assert val is not None and with_split.early_stopping == 3
    assert without.replace(early_stopping=3) == with_split


@pytest.mark.parametrize(
    "estimator_class", [GLAIClassifier, GLAIRegressor], ids=lambda c: c.__name__
)
def test_a_row_s_prediction_does_not_depend_on_the_rows_beside_it(estimator_class, digits_numpy):
    x, y = digits_numpy
    model = estimator_class(16, **FAST).fit(x, y)
    method = model.predict_proba if estimator_class is GLAIClassifier else model.predict
    together = method(x[:50])
    alone = np.concatenate([method(x[i : i + 1]) for i in range(50)])
    np.testing.assert_allclose(alone, together, rtol=1e-12, atol=1e-12)


def test_an_estimator_holding_a_pruned_model_predicts_and_round_trips(
    fitted, digits_numpy, tmp_path
):
    from glai.sklearn import load_estimator, save_estimator

    x, _ = digits_numpy
    estimator = copy.deepcopy(fitted)
    estimator.model_ = glai.prune(estimator.model_, 0.5)
    assert estimator.model_.hidden_features == [16]
    with torch.no_grad():
        expected = estimator.model_(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy()
    np.testing.assert_array_equal(estimator.predict(x), estimator.classes_[expected])
    save_estimator(estimator, tmp_path / "pruned.safetensors")
    restored = load_estimator(tmp_path / "pruned.safetensors")
    assert restored.model_.hidden_features == [16]
    np.testing.assert_array_equal(restored.predict(x), estimator.predict(x))
