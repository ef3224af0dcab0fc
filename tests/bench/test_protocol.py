"""The benchmark protocol: choosing a candidate's settings on the validation split."""

from glai_bench.datasets import Splits
from glai_bench.protocol import select
from problems import history


def test_selection_keeps_the_best_point_in_the_metric_direction():
    class Stub:
        name = "stub"

        def __init__(self, greater):
            self.greater = greater

        def train(self, train, val, seed, value):
            trained = history([value], greater=self.greater)
            trained.best_epoch = 1
            return None, trained

    grid = [{"value": 0.3}, {"value": 0.7}, {"value": 0.5}, {"value": 0.7}]
    splits = Splits("stub", None, None, None)  # the stub never reads the data
    assert select(Stub(True), grid, splits, 0).chosen == {"value": 0.7}
    assert select(Stub(False), grid, splits, 0).chosen == {"value": 0.3}
    scores = select(Stub(True), grid, splits, 0).scores
    assert [s["val_metric"] for s in scores] == [0.3, 0.7, 0.5, 0.7]
