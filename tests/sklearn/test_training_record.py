"""What a fit records, as MLPClassifier does: n_iter_, loss_curve_, validation_scores_ and
best_validation_score_ (read from history_)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError

import glai
from glai import GLAIClassifier, GLAIRegressor

QUICK = {"hidden_features": 16, "epochs": 6, "max_structural_epochs": 2, "random_state": 0}
RECORDS = ["n_iter_", "loss_curve_", "validation_scores_", "best_validation_score_"]
METRIC = {GLAIClassifier: "accuracy", GLAIRegressor: "r2"}
ESTIMATORS = list(METRIC)


def problem_for(estimator_class):
    if estimator_class is GLAIClassifier:
        return make_classification(n_samples=200, n_features=5, random_state=0)
    return make_regression(n_samples=200, n_features=5, noise=10, random_state=0)


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request):
    x, y = problem_for(request.param)
    return request.param(**QUICK).fit(x, y), x, y


def test_the_record_reads_the_history(fitted):
    model, _, _ = fitted
    history = model.history_
    assert model.n_iter_ == len(history) == history[-1].epoch
    assert model.loss_curve_ == history.column("train_loss")
    assert all(type(loss) is float for loss in model.loss_curve_)
    assert model.validation_scores_ == history.column("val_metric")
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == model.validation_scores_[history.best_epoch - 1]
    assert history.metric == METRIC[type(model)]


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_the_best_validation_score_is_the_kept_model_s_score_on_the_held_out_rows(
    estimator_class, monkeypatch
):
    from glai.sklearn import estimators

    held_out = []

    def recording_fit(model, train, val, config, **kwargs):
        held_out.append(val)
        return glai.fit(model, train, val, config, **kwargs)

    monkeypatch.setattr(estimators, "fit", recording_fit)
    x, y = problem_for(estimator_class)
    model = estimator_class(**QUICK).fit(x, y)
    val_x, _ = held_out[0]
    rows = [np.flatnonzero((x.astype(np.float32) == row).all(1))[0] for row in val_x.numpy()]
    assert len(rows) == round(0.1 * len(y))
    assert model.best_validation_score_ == pytest.approx(model.score(x[rows], y[rows]), abs=1e-5)


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_without_a_validation_split_there_are_no_validation_scores(estimator_class):
    x, y = problem_for(estimator_class)
    model = estimator_class(**QUICK, validation_fraction=0).fit(x, y)
    assert model.validation_scores_ is None
    assert model.best_validation_score_ is None
    assert model.n_iter_ == QUICK["epochs"]  # both phases: no early stopping without validation
    assert len(model.loss_curve_) == model.n_iter_


@pytest.mark.parametrize("name", RECORDS)
@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_an_unfitted_estimator_has_no_record(estimator_class, name):
    estimator = estimator_class()
    assert not hasattr(estimator, name)
    with pytest.raises(NotFittedError):
        getattr(estimator, name)
