import numpy as np
import pytest
import torch

import glai
from glai.cli.main import main
from glai.sklearn import load_estimator

FAST = ["--epochs", "5", "--hidden", "16", "--structural-lr", "0.01"]


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``glai`` with ``arguments``."""
    code = main(list(map(str, arguments)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def classifier(features_table, tmp_path, capsys):
    """A classifier fitted by ``glai fit`` on ``features_table`` (columns a-d, label answer)."""
    path, _ = features_table
    model = tmp_path / "m.safetensors"
    assert main(["fit", str(path), "--label", "answer", "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    return model


@pytest.mark.parametrize(
    "build",
    [lambda: glai.GLAI(4, [8, 6], 3).freeze_structure(), lambda: glai.MLP(4, [8, 6], 3)],
    ids=["frozen-glai", "mlp"],
)
def test_a_bare_model_is_pruned_as_the_library_prunes_it(build, features_table, tmp_path, capsys):
    data, x = features_table
    model = build().eval()
    glai.save(model, tmp_path / "bare.safetensors")
    out = tmp_path / "small.safetensors"
    code, printed, err = run(
        capsys, "prune", tmp_path / "bare.safetensors", "--fraction", 0.5, "--out", out
    )
    assert code == 0 and err == ""
    assert "hidden widths [8, 6] -> [4, 3]" in printed
    expected = glai.prune(model, 0.5)
    loaded = glai.load(out)
    assert type(loaded) is type(model) and loaded.hidden_features == [4, 3]
    assert all(torch.equal(v, expected.state_dict()[k]) for k, v in loaded.state_dict().items())
    code, printed, _ = run(capsys, "predict", out, data, "--label", "answer")
    assert code == 0
    rows = np.array([line.split(",") for line in printed.splitlines()[1:]], dtype=float)
    with torch.no_grad():
        outputs = expected.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(rows, outputs, rtol=1e-5, atol=1e-6)


def test_an_estimator_file_is_pruned_on_data_and_still_predicts(
    classifier, features_table, tmp_path, capsys
):
    data, x = features_table
    out = tmp_path / "small.safetensors"
    code, printed, err = run(
        capsys,
        "prune", classifier, "--fraction", 0.25, "--out", out,
        "--by", "data_path_norm", "--data", data, "--label", "answer",
    )  # fmt: skip
    assert code == 0 and err == "", err
    assert "hidden widths [16] -> [12]" in printed
    original, pruned = load_estimator(classifier), load_estimator(out)
    assert pruned[-1].get_params()["hidden_features"] == [12]
    scaled = torch.from_numpy(original[0].transform(x)).float()
    expected = glai.prune(original[-1].model_, 0.25, by="data_path_norm", inputs=scaled)
    assert torch.equal(pruned[-1].model_.paths[0].weight, expected.paths[0].weight)
    code, printed, _ = run(capsys, "predict", out, data, "--label", "answer")
    assert code == 0
    assert printed.splitlines()[1:] == pruned.predict(x).tolist()
    info = glai.read_info(out)["info"]
    assert info["pruned"] == {
        "hidden_features_before": [16],
        "fraction": 0.25,
        "by": "data_path_norm",
        "scope": "layer",
    }
    assert info["feature_names"] == ["a", "b", "c", "d"]
    code, printed, _ = run(capsys, "inspect", out)
    assert "pruned: 25% of the hidden units of [16] by data_path_norm (per layer)" in printed


@pytest.mark.parametrize("fraction", ["1.5", "-0.1", "half"])
def test_a_bad_fraction_is_refused_while_parsing(fraction, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["prune", "m.safetensors", "--fraction", fraction, "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "argument --fraction" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["prune", d / "missing.safetensors"], "no model file at"),
        (lambda d: ["prune", d / "text.safetensors"], "is not a readable safetensors file"),
        (lambda d: ["prune", d / "bare.safetensors", "--by", "data_path_norm"], "reads --data"),
        (
            lambda d: ["prune", d / "bare.safetensors", "--data", d / "x.npz"],
            "only it does",
        ),
        (
            lambda d: [
                "prune",
                d / "bare.safetensors",
                "--by",
                "data_path_norm",
                "--data",
                d / "x.npz",
            ],
            "has 3 feature columns; the model was trained on 4",
        ),
    ],
    ids=["missing", "not-a-model", "no-data", "data-unread", "data-width"],
)
def test_errors_are_one_line_with_exit_code_1(make_args, message, tmp_path, capsys):
    glai.save(glai.GLAI(4, 8, 3), tmp_path / "bare.safetensors")
    (tmp_path / "text.safetensors").write_text("not a model")
    np.savez(tmp_path / "x.npz", X=np.zeros((5, 3)))
    arguments = [*make_args(tmp_path), "--fraction", "0.5", "--out", tmp_path / "o.safetensors"]
    code, _, err = run(capsys, *arguments)
    assert code == 1
    assert err.startswith("glai prune: error: ") and message in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o.safetensors").exists()


def test_an_output_in_a_missing_directory_is_refused_before_any_work(tmp_path, capsys):
    glai.save(glai.GLAI(4, 8, 3), tmp_path / "bare.safetensors")
    out = tmp_path / "nowhere" / "o.safetensors"
    code, _, err = run(
        capsys, "prune", tmp_path / "bare.safetensors", "--fraction", 0.5, "--out", out
    )
    assert code == 1 and "does not exist" in err
