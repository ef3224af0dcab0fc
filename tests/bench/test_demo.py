import pytest

from glai_bench.demo import run_demo
from glai_bench.fashion_mnist import fashion_mnist_available


@pytest.mark.slow
def test_quick_demo_writes_report_and_plots(tmp_path):
    report = run_demo(tmp_path, seeds=[0], quick=True)
    assert "| GLAI |" in report and "| MLP, equal parameters |" in report
    names = {p.name for p in tmp_path.iterdir()}
    assert {"demo.md", "digits-accuracy.png", "digits-structure.png", "digits-pruning.png"} <= names
    if fashion_mnist_available():
        assert "fashion-mnist-accuracy.png" in names


def test_demo_runs_without_fashion_mnist(tmp_path):
    report = run_demo(tmp_path / "out", seeds=[0], fashion_root=tmp_path / "absent", quick=True)
    assert "fashion" not in report
