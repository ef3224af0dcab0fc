"""glai compare: the panel's comparison on a user's CSV (categorical columns one-hot
encoded) or NPZ, its report and plot, and its errors."""

import json

import numpy as np
import pytest

from glai.cli.main import main
from glai_bench.panel_models import KERNEL, LINEAR, SKLEARN_MLP, TORCH_MODELS

MODELS = [*TORCH_MODELS, SKLEARN_MLP, LINEAR]


@pytest.fixture
def shop_csv(write_csv):
    """80 customers: two numbers, a categorical column, and whether they bought."""
    rng = np.random.default_rng(0)
    spend, visits = rng.normal(size=80), rng.normal(size=80)
    region = rng.choice(["north", "south", "east"], size=80)
    bought = np.where(spend + (region == "north") > 0.3, "yes", "no")
    rows = [[s, v, r, b] for s, v, r, b in zip(spend, visits, region, bought)]
    return write_csv("shop.csv", ["spend", "visits", "region", "bought"], rows)


@pytest.fixture
def regression_npz(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3))
    path = tmp_path / "values.npz"
    np.savez(path, X=x, y=x @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=60))
    return path


@pytest.mark.slow
def test_a_csv_with_a_categorical_column_is_compared(shop_csv, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["compare", str(shop_csv), "--label", "bought", "--seeds", "1", "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "categorical column(s), one-hot encoded: region" in captured.err
    assert "task classification" in captured.err
    assert "shop.csv: classification, 80 samples, 5 inputs after preparation; a 20% test " in (
        captured.out
    )
    for model in [*MODELS, KERNEL]:
        assert f"| {model} |" in captured.out
    assert "| model | test accuracy (%) | test ROC AUC | fit time (s) |" in captured.out
    assert captured.out.count("Verdict: GLAI with its defaults") == 1
    report = json.loads((out / "compare.json").read_text())
    assert set(MODELS) <= set(report["models"])
    assert "auc_gap_to_best_mlp" in report["verdict"]
    assert (out / "compare-validation.png").stat().st_size > 0
    assert (out / "compare.md").is_file()


@pytest.mark.slow
def test_an_npz_regression_is_compared_by_folds(regression_npz, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["compare", str(regression_npz), "--folds", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "task regression" in captured.err
    assert "values.npz: regression, 60 samples, 3 inputs after preparation; 2-fold" in (
        captured.out
    )
    assert "| model | test R² | fit time (s) |" in captured.out
    report = json.loads((out / "compare.json").read_text())
    assert report["models"]["GLAI (defaults)"]["test_mean"] > 0.5
    assert len(report["models"]["GLAI (defaults)"]["epochs"]) == 2  # one run per fold


def error_of(argv, capsys) -> str:
    """The last line on stderr of a command that fails (notes may come before it)."""
    assert main(argv) == 1
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_missing_file_is_an_error(tmp_path, capsys):
    missing = tmp_path / "nothing.csv"
    assert error_of(["compare", str(missing)], capsys) == (
        f"glai compare: error: no data file at {missing}"
    )


def test_a_missing_label_column_is_an_error_naming_the_columns(shop_csv, capsys):
    assert error_of(["compare", str(shop_csv), "--label", "answer"], capsys) == (
        f"glai compare: error: {shop_csv} has no column 'answer'; columns are: spend, visits, "
        "region, bought (choose one with --label)"
    )


def test_regression_on_text_targets_is_an_error(shop_csv, capsys):
    message = error_of(
        ["compare", str(shop_csv), "--label", "bought", "--task", "regression"], capsys
    )
    assert message.startswith("glai compare: error: shop.csv: regression needs numeric targets")
    assert message.endswith("(use --task classification)")


def test_an_unknown_task_is_refused_by_the_parser(shop_csv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(shop_csv), "--task", "ranking"])
    assert exit_.value.code == 2
    assert "invalid choice: 'ranking'" in capsys.readouterr().err


def test_folds_and_seeds_are_exclusive(shop_csv, capsys):
    with pytest.raises(SystemExit):
        main(["compare", str(shop_csv), "--folds", "2", "--seeds", "2"])
    assert "not allowed with argument" in capsys.readouterr().err
