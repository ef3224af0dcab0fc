from glai_bench.plots import plot_accuracy_against_time, plot_pruning, plot_structure_change
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
