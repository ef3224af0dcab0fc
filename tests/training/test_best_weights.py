"""BestWeights: the best epoch follows every improvement, the early-stopping count only
improvements by more than the tolerance."""

import pytest
from torch import nn

from glai import EpochRecord
from glai.training.callbacks import BestWeights
from glai.training.metrics import Metric
from glai.training.phase import Phase

ACCURACY = Metric("accuracy", True)


def feed(best, losses):
    """Epochs of the final phase with these validation losses; the count after each."""
    model, counts, best_epochs = nn.Linear(2, 1), [], []
    for epoch, loss in enumerate(losses, start=1):
        record = EpochRecord(epoch, Phase.QUANTITATIVE, float(epoch), 1.0, 0.5, loss, 1e-3)
        best.on_epoch_complete(model, record)
        counts.append(best.stale_epochs)
        best_epochs.append(best.epoch)
    return counts, best_epochs


def test_improvements_below_the_tolerance_do_not_restart_the_count():
    counts, best_epochs = feed(
        BestWeights(ACCURACY, on_loss=True, tol=0.01), [1.0, 0.995, 0.99, 0.98]
    )
    assert counts == [0, 1, 2, 0]  # 0.98 is the first loss 1% below 1.0
    assert best_epochs == [1, 2, 3, 4]  # the weights follow every improvement


def test_without_a_tolerance_any_improvement_restarts_it():
    counts, _ = feed(BestWeights(ACCURACY, on_loss=True), [1.0, 0.995, 0.99, 1.2])
    assert counts == [0, 0, 0, 1]


def test_a_metric_that_grows_needs_to_grow_by_the_tolerance():
    best = BestWeights(ACCURACY, tol=0.01)
    model, counts = nn.Linear(2, 1), []
    for epoch, accuracy in enumerate([0.90, 0.905, 0.91], start=1):
        best.on_epoch_complete(
            model, EpochRecord(epoch, Phase.QUANTITATIVE, 1.0, 1.0, accuracy, 0.1, 1e-3)
        )
        counts.append(best.stale_epochs)
    assert counts == [0, 1, 0]  # 0.91 beats 0.90 by 1.1%


def test_the_state_round_trips():
    best = BestWeights(ACCURACY, on_loss=True, tol=0.01)
    feed(best, [1.0, 0.995])
    restored = BestWeights(ACCURACY, on_loss=True, tol=0.01)
    restored.load_state_dict(best.state_dict())
    assert feed(restored, [0.99])[0] == [2]


@pytest.mark.parametrize("tol", [1.0, -0.1, "0.01"])
def test_a_bad_tolerance_is_named(tol):
    from glai.training import FitConfig

    with pytest.raises(ValueError, match="early_stopping_tol"):
        FitConfig(early_stopping_tol=tol)
