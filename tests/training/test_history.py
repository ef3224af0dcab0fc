import math

from glai import History
from problems import history


def test_time_to_is_the_first_epoch_reaching_the_target():
    h = history([0.5, 0.7, 0.65, 0.9])
    assert h.time_to(0.7) == 2.0
    assert h.time_to(0.66) == 2.0
    assert h.time_to(0.95) == math.inf


def test_lower_is_better_for_losses():
    h = history([3.0, 2.0, 2.5, 1.0], greater=False)
    assert h.time_to(2.2) == 2.0
    assert h.peak_metric == 1.0


def test_peak_metric_spans_every_phase():
    assert history([0.5, 0.9, 0.7]).peak_metric == 0.9
    assert history([]).peak_metric is None


def test_dict_round_trip():
    h = history([0.5, 0.7], switch=1)
    h.best_epoch = 2
    assert History.from_dict(h.to_dict()) == h


def test_the_weights_handed_over_kept_as_best_round_trip():
    h = history([0.5, 0.7])
    h.best_epoch, h.start_metric = 0, 0.9
    assert h.best_metric == 0.9
    assert History.from_dict(h.to_dict()) == h
    written_before = {key: value for key, value in h.to_dict().items() if key != "start_metric"}
    assert History.from_dict(written_before).start_metric is None


def test_column():
    assert history([0.5, 0.7]).column("seconds") == [1.0, 2.0]


def test_a_history_written_before_path_distances_still_reads():
    data = history([0.5, 0.7], switch=1).to_dict()
    for record in data["records"]:
        del record["path_distance"]
    restored = History.from_dict(data)
    assert restored.column("path_distance") == [None, None]
    assert restored.column("val_metric") == [0.5, 0.7]
