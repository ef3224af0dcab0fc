"""``sample_weight`` in ``fit``: a weight counts as copies of its row, in the training loss
and in the validation scores."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score
from sklearn.utils import shuffle

import glai
from glai import GLAIClassifier, GLAIRegressor

QUICK = {
    "hidden_features": 16,
    "epochs": 5,
    "max_structural_epochs": 2,
    "min_structural_steps": 1,
    "random_state": 0,
}
ESTIMATORS = [GLAIClassifier, GLAIRegressor]
OUTPUT = {GLAIClassifier: "predict_proba", GLAIRegressor: "predict"}


@pytest.fixture(scope="module")
def problem():
    """Two overlapping classes: where the boundary goes is a trade-off between them."""
    return make_classification(
        n_samples=200, n_features=5, n_informative=2, class_sep=0.5, flip_y=0.2, random_state=0
    )


def outputs(estimator):
    return getattr(estimator, OUTPUT[type(estimator)])


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("weight", [1.0, 3.5], ids=["ones", "threes"])
def test_equal_weights_train_exactly_as_no_weights(estimator_class, weight, problem):
    x, y = problem
    plain = estimator_class(**QUICK).fit(x, y)
    weighted = estimator_class(**QUICK).fit(x, y, sample_weight=np.full(len(y), weight))
    np.testing.assert_array_equal(outputs(weighted)(x), outputs(plain)(x))
    assert weighted.loss_curve_ == plain.loss_curve_


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_only_unequal_weights_leave_the_fast_loss(estimator_class, problem, monkeypatch):
    from glai.sklearn import estimators

    losses = []

    def recording_fit(model, train, val, config, **kwargs):
        losses.append(kwargs["loss"])
        return glai.fit(model, train, val, config, **kwargs)

    monkeypatch.setattr(estimators, "fit", recording_fit)
    x, y = problem
    for weights in (None, np.ones(len(y)), np.arange(len(y)) % 3):
        estimator_class(**{**QUICK, "epochs": 1}).fit(x, y, sample_weight=weights)
    plain, equal, unequal = losses
    assert plain == equal == ("cross_entropy" if estimator_class is GLAIClassifier else "mse")
    assert callable(unequal)


def test_weighting_a_class_up_draws_predictions_to_it(problem):
    x, y = problem
    settings = {**QUICK, "epochs": 20, "structural_lr": 1e-2}
    plain = GLAIClassifier(**settings).fit(x, y)
    weights = np.where(y == 1, 10.0, 1.0)
    weighted = GLAIClassifier(**settings).fit(x, y, sample_weight=weights)
    assert weighted.predict_proba(x)[:, 1].mean() > plain.predict_proba(x)[:, 1].mean() + 0.05
    assert (weighted.predict(x) == 1).mean() > (plain.predict(x) == 1).mean() + 0.15


def test_weighted_regression_moves_to_the_weighted_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = np.where(np.arange(200) % 2 == 0, 0.0, 10.0)  # the same inputs for both values
    weights = np.where(y == 10.0, 9.0, 1.0)  # weighted mean 9, mean 5
    settings = {**QUICK, "epochs": 30, "structural_lr": 1e-2}
    model = GLAIRegressor(**settings).fit(x, y, sample_weight=weights)
    assert model.y_mean_ == pytest.approx(9.0)
    assert abs(model.predict(x).mean() - 9.0) < 1.0
    assert abs(GLAIRegressor(**settings).fit(x, y).predict(x).mean() - 5.0) < 1.0


def recorded_fits(monkeypatch):
    """The ``(train, val)`` data each estimator fit hands to ``glai.fit``, as they come."""
    from glai.sklearn import estimators

    calls = []

    def recording_fit(model, train, val, config, **kwargs):
        calls.append((train, val))
        return glai.fit(model, train, val, config, **kwargs)

    monkeypatch.setattr(estimators, "fit", recording_fit)
    return calls


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_integer_weights_train_exactly_as_repeated_rows(estimator_class, problem):
    """What scikit-learn's check_sample_weight_equivalence asks (zero weights included), bit
    for bit, with the default validation split and solvers."""
    x, y = problem
    weights = np.random.RandomState(0).randint(0, 4, size=len(y))
    repeated = estimator_class(**QUICK).fit(x.repeat(weights, 0), y.repeat(weights))
    x_shuffled, y_shuffled, w_shuffled = shuffle(x, y, weights, random_state=0)
    weighted = estimator_class(**QUICK).fit(x_shuffled, y_shuffled, sample_weight=w_shuffled)
    assert weighted.validation_scores_ is not None
    assert weighted.validation_scores_ == repeated.validation_scores_
    assert weighted.loss_curve_ == repeated.loss_curve_
    np.testing.assert_array_equal(outputs(weighted)(x), outputs(repeated)(x))


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_a_zero_weight_is_the_row_removed(estimator_class, problem):
    x, y = problem
    weights = (np.arange(len(y)) % 5 != 0).astype(float)
    removed = estimator_class(**QUICK).fit(x[weights > 0], y[weights > 0])
    weighted = estimator_class(**QUICK).fit(x, y, sample_weight=weights)
    np.testing.assert_array_equal(outputs(weighted)(x), outputs(removed)(x))


def test_copies_of_a_row_never_straddle_the_validation_split(problem, monkeypatch):
    calls = recorded_fits(monkeypatch)
    x, y = problem
    copies = np.arange(len(y)) % 3 + 1
    GLAIClassifier(**{**QUICK, "epochs": 1}).fit(np.repeat(x, copies, 0), np.repeat(y, copies))
    ((train_x, _), (val_x, val_targets)) = calls[0]
    assert len(train_x) + len(val_x) == len(x)  # one row for the copies of each
    assert not {tuple(row) for row in train_x.tolist()} & {tuple(row) for row in val_x.tolist()}
    weights = val_targets[:, 1]  # the copies counted, scaled to mean 1
    assert set((weights / weights.min()).round().tolist()) <= {1.0, 2.0, 3.0}
    assert float(weights.mean()) == pytest.approx(1.0)


def test_validation_is_scored_with_the_weights(problem, monkeypatch):
    calls = recorded_fits(monkeypatch)
    x, y = problem
    weights = np.where(y == 1, 10.0, 1.0)
    model = GLAIClassifier(**QUICK).fit(x, y, sample_weight=weights)
    _, (val_x, val_targets) = calls[0]
    labels, val_weights = model.classes_[val_targets[:, 0].long()], val_targets[:, 1].numpy()
    expected = accuracy_score(labels, model.predict(val_x.numpy()), sample_weight=val_weights)
    assert model.best_validation_score_ == pytest.approx(expected)
    assert model.history_.metric == "accuracy"


@pytest.mark.parametrize(
    ("estimator_class", "weights", "message"),
    [
        (GLAIClassifier, -np.ones(8), "Negative values"),
        (GLAIRegressor, np.zeros(8), "at least one non-zero"),
        (GLAIRegressor, np.ones(7), "sample_weight"),
        (GLAIClassifier, np.array([0, 1] * 4), "2 classes in y with a positive sample_weight"),
    ],
    ids=["negative", "all-zero", "length", "one-weighted-class"],
)
def test_bad_weights_are_named(estimator_class, weights, message):
    x, y = np.arange(16.0).reshape(8, 2), np.array([0, 1] * 4)
    with pytest.raises(ValueError, match=message):
        estimator_class(**QUICK).fit(x, y, sample_weight=weights)
