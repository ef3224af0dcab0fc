import importlib

import matplotlib

import glai_bench.plots
from glai.training.metrics import Metric
from glai_bench.plots import (
    _best_so_far,
    plot_accuracy_against_time,
    plot_pruning,
    plot_speedups,
    plot_structure_change,
)
from test_history import history

PNG = b"\x89PNG"


def test_accuracy_plot(tmp_path):
    path = tmp_path / "a.png"
    plot_accuracy_against_time(
        {"mlp": [history([0.5, 0.7])], "glai": [history([0.6, 0.8], switch=1)]}, path, "t"
    )
    assert path.read_bytes()[:4] == PNG


def test_structure_plot(tmp_path):
    from glai import EpochRecord, History

    records = [
        EpochRecord(i, "structural", float(i), 1.0, 0.5, 1.0, 0.1, 0.1 / i, (0.1 / i,), 0.5 / i)
        for i in range(1, 4)
    ]
    path = tmp_path / "s.png"
    plot_structure_change(History("accuracy", True, records, 3, None), path)
    assert path.read_bytes()[:4] == PNG


def test_pruning_plot(tmp_path):
    path = tmp_path / "p.png"
    plot_pruning([0.0, 0.5], {"glai": [0.9, 0.8]}, path)
    assert path.read_bytes()[:4] == PNG


def test_speedup_plot(tmp_path):
    path = tmp_path / "speedup.png"
    full = {"mean": 2.0, "low": 1.5, "high": 2.5, "reached": 3, "seeds": 3}
    partial = {"mean": 1.0, "low": 1.0, "high": 1.0, "reached": 1, "seeds": 3}
    speedups = {"head": {"GLAI": {"speedup": full, "speedup_99": partial}}}
    plot_speedups(speedups, path)
    assert path.read_bytes()[:4] == PNG


def test_best_so_far_follows_the_metric_direction():
    values = [0.5, 0.4, 0.7, 0.6]
    assert _best_so_far(values, Metric("accuracy", True)) == [0.5, 0.5, 0.7, 0.7]
    assert _best_so_far(values, Metric("loss", False)) == [0.5, 0.4, 0.4, 0.4]


def test_plots_leave_the_matplotlib_backend_alone(tmp_path):
    original = matplotlib.get_backend()
    try:
        matplotlib.use("svg")
        importlib.reload(glai_bench.plots)  # importing the module switches nothing
        assert matplotlib.get_backend() == "svg"
        glai_bench.plots.plot_accuracy_against_time(
            {"mlp": [history([0.5, 0.7])]}, tmp_path / "a.png"
        )
        glai_bench.plots.plot_pruning([0.0, 0.5], {"glai": [0.9, 0.8]}, tmp_path / "p.png")
        assert matplotlib.get_backend() == "svg"
        assert (tmp_path / "a.png").read_bytes()[:4] == PNG  # a PNG all the same
    finally:
        matplotlib.use(original)
