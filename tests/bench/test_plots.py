import importlib

import matplotlib
import pytest
from matplotlib.figure import Figure

import glai_bench.plots
from glai_bench.plots import (
    plot_accuracy_against_time,
    plot_metric_against_parameters,
    plot_pruning,
    plot_settling,
    plot_speedups,
    plot_structure_change,
)
from problems import history

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


def test_settling_plot_draws_each_run_with_its_switches(saved_figures, tmp_path):
    runs = {
        "mlp": {"distance": [0.0, 0.8, 1.0], "flat": [None, None, None], "metric": [0, 0.5, 1]},
        "glai": {"distance": [0.0, 1.0], "metric": [0.0, 1.0]},
    }
    path = tmp_path / "settling.png"
    plot_settling(runs, {"mlp": {"rule": 1, "never": None}}, path, "task")
    assert path.read_bytes()[:4] == PNG
    (figure,) = saved_figures
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert "distance" in labels and "flat" not in labels
    assert "rule (epoch 1)" in labels and not any("never" in label for label in labels)


def test_metric_against_parameters_plot(saved_figures, tmp_path):
    path = tmp_path / "m.png"
    series = {"pruned": ([100, 50], [0.9, 0.8]), "adaptive": ([70], [0.85])}
    plot_metric_against_parameters(series, path, dashed=["pruned"])
    assert path.read_bytes()[:4] == PNG
    lines = {line.get_label(): line for line in saved_figures[0].axes[0].lines}
    assert lines["pruned"].get_linestyle() == "--"
    assert lines["adaptive"].get_linestyle() == "None"


def test_speedup_plot(tmp_path):
    path = tmp_path / "speedup.png"
    full = {"mean": 2.0, "low": 1.5, "high": 2.5, "reached": 3, "seeds": 3}
    partial = {"mean": 1.0, "low": 1.0, "high": 1.0, "reached": 1, "seeds": 3}
    speedups = {"head": {"GLAI": {"speedup": full, "speedup_99": partial}}}
    plot_speedups(speedups, path)
    assert path.read_bytes()[:4] == PNG


@pytest.fixture
def saved_figures(monkeypatch) -> list[Figure]:
    """Every matplotlib figure saved during the test, in order."""
    figures = []
    savefig = Figure.savefig

    def recording_savefig(figure, *args, **kwargs):
        figures.append(figure)
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording_savefig)
    return figures


@pytest.mark.parametrize(
    ("greater", "expected"),
    [(True, [0.5, 0.5, 0.7, 0.7]), (False, [0.5, 0.4, 0.4, 0.4])],
    ids=["accuracy", "loss"],
)
def test_the_curve_is_the_best_so_far_in_the_metric_direction(
    greater, expected, saved_figures, tmp_path
):
    run = history([0.5, 0.4, 0.7, 0.6], greater=greater)
    plot_accuracy_against_time({"model": [run]}, tmp_path / "a.png")
    (figure,) = saved_figures
    (curve,) = [line for line in figure.axes[0].lines if line.get_label() == "model"]
    assert list(curve.get_xdata()) == [1.0, 2.0, 3.0, 4.0]
    assert list(curve.get_ydata()) == expected


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
