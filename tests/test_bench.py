"""The benchmark in quick mode: every setting runs end to end and writes its outputs."""

import json

import pytest

from glai_bench.fashion_mnist import fashion_mnist_available
from glai_bench.fewshot import WAYS, _interval, protonet_accuracy, sample_episode
from glai_bench.runner import run_bench

needs_data = pytest.mark.skipif(
    not fashion_mnist_available(), reason="dataset-fashion-mnist not installed"
)


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    report = run_bench(
        ["head", "ssl", "fewshot", "pixels", "perf", "variants"],
        out,
        quick=True,
        cache=tmp_path_factory.getbasetemp() / "cache",
    )
    return out, report


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("setting", ["head", "ssl", "pixels"])
def test_settings_write_json_tables_and_plots(quick_results, setting):
    out, report = quick_results
    result = json.loads((out / f"{setting}.json").read_text())
    names = [s["candidate"] for s in result["summaries"]]
    assert names == [
        "MLP, equal parameters",
        "MLP, equal width",
        "MLP, equal width, GLAI's two-phase schedule",
        "GLAI",
        "GLAI, row space",
        "linear head",
    ]
    assert result["environment"]["torch"]
    assert all(run["history"]["records"] for run in result["runs"])
    assert (out / f"{setting}-accuracy.png").is_file()
    assert f"## {setting}" in report


@pytest.mark.slow
@needs_data
def test_fewshot_and_summary_outputs(quick_results):
    out, report = quick_results
    result = json.loads((out / "fewshot.json").read_text())
    assert set(result["configurations"]) == {"1-shot", "5-shot"}
    accuracies = result["configurations"]["5-shot"]["accuracy"]
    assert all(len(values) == 20 for values in accuracies.values())
    assert (out / "speedup.png").is_file()
    assert (out / "README.md").read_text() == report


def test_episodes_are_balanced_and_relabelled():
    import torch

    features = torch.randn(300, 4)
    labels = torch.arange(300) % 10
    support, support_y, query, query_y = sample_episode(
        features, labels, 3, torch.Generator().manual_seed(0)
    )
    assert support.shape == (WAYS * 3, 4) and query.shape == (WAYS * 15, 4)
    assert torch.bincount(support_y).tolist() == [3] * WAYS
    assert torch.bincount(query_y).tolist() == [15] * WAYS


def test_protonet_is_perfect_on_separated_classes():
    import torch

    centres = torch.eye(WAYS) * 10
    support_y = torch.arange(WAYS).repeat(2)
    query_y = torch.arange(WAYS).repeat(3)
    episode = (centres[support_y], support_y, centres[query_y] + 0.1, query_y)
    assert protonet_accuracy(episode) == 1.0


def test_unknown_setting_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown setting 'heads'"):
        run_bench(["heads"], tmp_path)


@pytest.mark.slow
@needs_data
def test_perf_reports_every_phase(quick_results):
    out, report = quick_results
    row = json.loads((out / "perf.json").read_text())["rows"][0]
    for key in (
        "mlp_step_seconds",
        "glai_quantitative_step_seconds",
        "glai_row_space_step_seconds",
        "mask_cache_build_seconds",
        "inference_ms_per_1k_glai",
        "matmul_gflops",
        "mlp_step_peak_mb",
    ):
        assert row[key] > 0
    assert "## perf" in report


@pytest.mark.slow
@needs_data
def test_variants_compare_against_the_equal_width_mlp(quick_results):
    out, _ = quick_results
    result = json.loads((out / "variants-head.json").read_text())
    assert result["reference"] == "MLP, equal width"
    assert result["selections"][0]["scores"] == []  # fixed settings, no selection
    names = [s["candidate"] for s in result["summaries"]]
    assert names[0] == "MLP, equal width" and sum("GLAI" in n for n in names) == 7
    assert (out / "variants.md").is_file()


def test_few_shot_interval_is_the_t_interval():
    mean, half = _interval([0.0, 1.0])
    # t(0.975, 1 degree of freedom) = 12.706; standard error 0.5
    assert mean == 0.5
    assert half == pytest.approx(12.706 * 0.5, rel=1e-4)
    assert _interval([0.8]) == (0.8, 0.0)


def test_selection_keeps_the_best_point_in_the_metric_direction():
    from glai_bench.datasets import Splits
    from glai_bench.protocol import select
    from test_history import history

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
