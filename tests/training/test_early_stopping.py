"""BestWeights and EarlyStopping: the best epoch follows every improvement, the
early-stopping count only improvements by more than the tolerance, for values of either
sign."""

from types import SimpleNamespace

import pytest
from torch import nn

from glai import EpochRecord
from glai.training.callbacks import BestWeights, EarlyStopping
from glai.training.metrics import Metric
from glai.training.phase import Phase

ACCURACY = Metric("accuracy", True)
R2 = Metric("r2", True)


def stopping(metric=ACCURACY, on_loss=True, tol=0.01, patience=3):
    return EarlyStopping(SimpleNamespace(stopped=False), metric, on_loss, patience, tol)


def feed(callback, values, on_loss=True):
    """Epochs of the final phase with these validation values (losses, or metrics if not
    ``on_loss``); the count (or best epoch) after each."""
    model, seen = nn.Linear(2, 1), []
    for epoch, value in enumerate(values, start=1):
        loss, metric = (value, 0.5) if on_loss else (0.1, value)
        record = EpochRecord(epoch, Phase.QUANTITATIVE, float(epoch), 1.0, metric, loss, 1e-3)
        callback.on_epoch_complete(model, record)
        seen.append(callback.epoch if isinstance(callback, BestWeights) else callback.stale_epochs)
    return seen


def test_improvements_below_the_tolerance_do_not_restart_the_count():
    assert feed(stopping(), [1.0, 0.995, 0.99, 0.98]) == [0, 1, 2, 0]  # 0.98: 1% below 1.0


def test_the_best_weights_follow_every_improvement():
    assert feed(BestWeights(ACCURACY, on_loss=True), [1.0, 0.995, 0.99, 0.98]) == [1, 2, 3, 4]


def test_without_a_tolerance_any_improvement_restarts_it():
    assert feed(stopping(tol=0.0), [1.0, 0.995, 0.99, 1.2]) == [0, 0, 0, 1]


def test_a_metric_that_grows_needs_to_grow_by_the_tolerance():
    counts = feed(stopping(on_loss=False), [0.90, 0.905, 0.91], on_loss=False)
    assert counts == [0, 1, 0]  # 0.91 beats 0.90 by 1.1%


@pytest.mark.parametrize(
    ("values", "counts"),
    [
        ([-0.50, -0.52, -0.51, -0.49], [0, 1, 2, 0]),  # negative R²: -0.49 is 2% better
        ([-0.50, -0.498], [0, 1]),  # better, but by less than 1% of 0.5
    ],
    ids=["worse-values-count-as-stale", "small-gain"],
)
def test_negative_metrics_count_worse_values_as_stale(values, counts):
    assert feed(stopping(R2, on_loss=False), values, on_loss=False) == counts


def test_negative_losses_count_worse_values_as_stale():
    # log-likelihood losses can be negative: -5.0 then -4.97 is worse, not an improvement
    assert feed(stopping(), [-5.0, -4.97, -5.06]) == [0, 1, 0]


def test_patience_stops_the_run():
    callback = stopping(patience=2)
    feed(callback, [1.0, 1.0, 1.0])
    assert callback.run.stopped


def test_the_state_round_trips():
    callback = stopping()
    feed(callback, [1.0, 0.995])
    restored = stopping()
    restored.load_state_dict(callback.state_dict())
    assert feed(restored, [0.99]) == [2]


@pytest.mark.parametrize("tol", [1.0, -0.1, "0.01"])
def test_a_bad_tolerance_is_named(tol):
    from glai.training import FitConfig

    with pytest.raises(ValueError, match="early_stopping_tol"):
        FitConfig(early_stopping_tol=tol)
