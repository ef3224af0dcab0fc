import subprocess
import sys

import numpy as np
import pytest

from glai.cli.main import main


@pytest.fixture
def table(tmp_path):
    """A small CSV classification table with string labels, and its .npz twin."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype(np.float32)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    csv_path = tmp_path / "data.csv"
    rows = ["a,b,c,d,answer"] + [",".join(map(str, r)) + f",{lab}" for r, lab in zip(x, labels)]
    csv_path.write_text("\n".join(rows) + "\n")
    npz_path = tmp_path / "data.npz"
    np.savez(npz_path, X=x, y=(labels == "yes").astype(np.int64))
    return csv_path, npz_path


FAST = ["--epochs", "5", "--hidden", "16", "--structural-lr", "0.01"]


def test_fit_predict_inspect_round_trip(table, tmp_path, capsys):
    csv_path, _ = table
    model = tmp_path / "model.safetensors"
    assert main(["fit", str(csv_path), "--label", "answer", "--out", str(model), *FAST]) == 0
    assert "classification" in capsys.readouterr().out
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(model), str(csv_path), "--label", "answer", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "prediction"
    assert set(lines[1:]) <= {"yes", "no"}
    assert len(lines) == 121
    capsys.readouterr()
    assert main(["inspect", str(model)]) == 0
    text = capsys.readouterr().out
    assert "hidden features: [16]" in text
    assert "path norms, layer 0" in text
    assert "structural phase:" in text and "quantitative phase:" in text
    assert "  because auto: " in text and "tensor samples, at most" in text  # why L-BFGS


def test_npz_regression_to_stdout(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 20))  # wider than the hidden layer, where row space pays
    np.savez(tmp_path / "r.npz", X=x, y=x[:, 0] * 0.5 + 0.1)
    model = tmp_path / "r.safetensors"
    command = ["fit", str(tmp_path / "r.npz"), "--out", str(model), "--quantitative", "row_space"]
    assert main([*command, *FAST]) == 0
    assert capsys.readouterr().out.startswith("regression")
    assert main(["predict", str(model), str(tmp_path / "r.npz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 101
    float(lines[1])


def test_inspect_json(table, tmp_path, capsys):
    _, npz_path = table
    model = tmp_path / "m.safetensors"
    main(["fit", str(npz_path), "--out", str(model), *FAST])
    capsys.readouterr()
    assert main(["inspect", str(model), "--json"]) == 0
    import json

    description = json.loads(capsys.readouterr().out)
    assert description["kind"] == "GLAI"
    assert description["frozen"] is True
    assert [phase["phase"] for phase in description["phases"]] == ["structural", "quantitative"]
    assert sum(phase["epochs"] for phase in description["phases"]) == description["epochs"]


def test_inspect_gives_an_mlps_path_norms_too(tmp_path, capsys):
    import glai

    glai.save(glai.MLP(4, [8, 6], 3), tmp_path / "mlp.safetensors")
    assert main(["inspect", str(tmp_path / "mlp.safetensors")]) == 0
    text = capsys.readouterr().out
    assert "path norms, layer 0" in text and "path norms, layer 1" in text


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda p: ["fit", str(p / "absent.csv"), "--out", "m"], "no data file"),
        (lambda p: ["fit", write(p, "d.txt", "a,b\n1,2\n"), "--out", "m"], "unsupported format"),
        (lambda p: ["fit", write(p, "d.csv", "a,b\n1,2\n"), "--out", "m"], "no column 'label'"),
        (
            lambda p: ["fit", write(p, "d.csv", "a,label\n1,2\n3\n"), "--out", "m"],
            "line 3 has 1 fields",
        ),
        (
            lambda p: ["fit", write(p, "d.csv", "a,label\nx,1\ny,0\n"), "--out", "m"],
            "d.csv line 2, column 'a': 'x' is not a number",
        ),
        (lambda p: ["fit", write(p, "d.csv", "a,label\n"), "--out", "m"], "header row and"),
        (
            lambda p: ["fit", write(p, "d.npz", b"PK not a zip"), "--out", "m"],
            "not a readable .npz",
        ),
        (
            lambda p: ["predict", write(p, "m.safetensors", b"junk"), write(p, "d.csv", "a\n1\n")],
            "not a readable safetensors",
        ),
        (lambda p: ["inspect", str(p / "none.safetensors")], "no model file"),
    ],
    ids=[
        "missing",
        "format",
        "label",
        "ragged",
        "non-numeric",
        "no-rows",
        "bad-npz",
        "bad-model",
        "missing-model",
    ],
)
def test_errors_are_one_line_with_nonzero_exit(make_args, message, tmp_path, capsys):
    assert main(make_args(tmp_path)) == 1
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_mismatched_lengths_in_npz(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.ones((10, 2)), y=np.ones(9))
    assert main(["fit", str(tmp_path / "d.npz"), "--out", "m"]) == 1
    assert "X has 10 rows but y has 9" in capsys.readouterr().err


def test_predict_with_the_wrong_feature_count(table, tmp_path, capsys):
    _, npz_path = table
    model = tmp_path / "m.safetensors"
    main(["fit", str(npz_path), "--out", str(model), *FAST])
    np.savez(tmp_path / "narrow.npz", X=np.ones((3, 2)))
    assert main(["predict", str(model), str(tmp_path / "narrow.npz")]) == 1
    assert "has 2 feature columns; the model was trained on 4" in capsys.readouterr().err


def test_the_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "glai.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in result.stdout and "inspect" in result.stdout


def test_generated_flags_reach_the_saved_estimator(table, tmp_path, capsys):
    from glai.sklearn import load_estimator

    _, npz_path = table
    model = tmp_path / "m.safetensors"
    flags = ["--schedule", "constant", "--optimizer", "sgd", "--no-relative", "--lr", "none"]
    flags += ["--solver", "minibatch"]  # the schedule applies to a minibatch final phase
    assert main(["fit", str(npz_path), "--out", str(model), *FAST, *flags, "--verbose"]) == 0
    params = load_estimator(model)[-1].get_params()  # after the standardisation
    assert params["schedule"] == "constant" and params["optimizer"] == "sgd"
    assert params["relative"] is False and params["lr"] is None
    assert params["verbose"] is True
    assert params["random_state"] is None  # as in glai.fit and the estimators


def test_a_bad_setting_is_refused_while_parsing(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "data.npz", "--out", "m", "--batch-size", "0"])
    assert exit_info.value.code == 2
    assert "batch_size must be" in capsys.readouterr().err


@pytest.mark.parametrize("half", ["choosing", "checking", "both"])
def test_bench_takes_the_half_of_the_panel_to_run(half):
    from glai.cli.main import build_parser

    assert build_parser().parse_args(["bench", "panel", "--half", half]).half == half


def test_bench_runs_both_halves_by_default_and_refuses_another(capsys):
    from glai.cli.main import build_parser

    assert build_parser().parse_args(["bench", "panel"]).half == "both"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "panel", "--half", "tuning"])
    assert "invalid choice: 'tuning'" in capsys.readouterr().err
