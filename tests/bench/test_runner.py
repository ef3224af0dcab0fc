"""The benchmark in quick mode: every setting runs end to end and writes its outputs."""

import json

import pytest

from glai_bench.fashion_mnist import fashion_mnist_available
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


def test_unknown_setting_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown setting 'heads'"):
        run_bench(["heads"], tmp_path)


PERF_KEYS = [
    "mlp_step_seconds",
    "glai_quantitative_step_seconds",
    "glai_row_space_step_seconds",
    "mask_cache_build_seconds",
    "inference_ms_per_1k_glai",
    "matmul_gflops",
    "mlp_step_peak_mb",
]


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("key", PERF_KEYS)
def test_perf_reports_every_phase(quick_results, key):
    out, _ = quick_results
    row = json.loads((out / "perf.json").read_text())["rows"][0]
    assert row[key] > 0


@pytest.mark.slow
@needs_data
def test_perf_has_a_report_section(quick_results):
    _, report = quick_results
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
