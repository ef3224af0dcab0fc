import numpy as np
import pytest
import torch

import glai
from glai.cli.main import main

FAST = ["--epochs", "5", "--hidden", "16", "--structural-lr", "0.01"]


@pytest.fixture
def classifier(features_table, tmp_path, capsys):
    """A classifier fitted by ``glai fit`` on ``features_table`` (columns a-d, label answer)."""
    path, _ = features_table
    model = tmp_path / "m.safetensors"
    assert main(["fit", str(path), "--label", "answer", "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    return model


def predict(capsys, *arguments: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``glai predict``."""
    code = main(["predict", *map(str, arguments)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()]


def test_reordered_columns_give_the_same_predictions(classifier, features_table, write_csv, capsys):
    path, x = features_table
    reordered = write_csv("reordered.csv", ["d", "c", "b", "a"], x[:, ::-1].tolist())
    expected = predict(capsys, classifier, path, "--label", "answer")[1]
    code, out, err = predict(capsys, classifier, reordered)
    assert code == 0 and err == ""
    assert out == expected


def test_extra_columns_are_ignored_with_a_note(classifier, features_table, write_csv, capsys):
    path, x = features_table
    extended = write_csv("ids.csv", ["id", "a", "b", "c", "d"], [["r", *row] for row in x.tolist()])
    expected = predict(capsys, classifier, path, "--label", "answer")[1]
    code, out, err = predict(capsys, classifier, extended)
    assert code == 0 and out == expected
    assert err == "glai predict: note: ignoring column(s) the model was not trained on: id\n"


def test_a_missing_column_is_named_with_the_file(classifier, features_table, write_csv, capsys):
    _, x = features_table
    narrow = write_csv("narrow.csv", ["a", "b", "d"], x[:, [0, 1, 3]].tolist())
    code, out, err = predict(capsys, classifier, narrow)
    assert code == 1 and out == ""
    assert err == (
        f"glai predict: error: {narrow} has no column 'c', which the model was trained on\n"
    )


def test_npz_data_stays_positional_with_its_count_checked(
    classifier, features_table, tmp_path, capsys
):
    path, x = features_table
    np.savez(tmp_path / "x.npz", X=x)
    expected = predict(capsys, classifier, path, "--label", "answer")[1]
    assert predict(capsys, classifier, tmp_path / "x.npz")[1] == expected
    np.savez(tmp_path / "wide.npz", X=np.ones((2, 5)))
    code, _, err = predict(capsys, classifier, tmp_path / "wide.npz")
    assert code == 1
    assert "has 5 feature columns; the model was trained on 4" in err


def test_proba_writes_one_column_per_class(classifier, features_table, capsys):
    path, _ = features_table
    code, out, _ = predict(capsys, classifier, path, "--proba")
    table = rows(out)
    assert code == 0 and table[0] == ["proba_no", "proba_yes"]
    probabilities = np.array(table[1:], dtype=float)
    np.testing.assert_allclose(probabilities.sum(1), 1.0)
    labels = [row[0] for row in rows(predict(capsys, classifier, path)[1])[1:]]
    assert labels == np.array(["no", "yes"])[probabilities.argmax(1)].tolist()


@pytest.fixture
def regressor(tmp_path, capsys):
    x = np.random.default_rng(1).normal(size=(80, 3))
    np.savez(tmp_path / "r.npz", X=x, y=x[:, 0] * 0.5 + 0.1)
    model = tmp_path / "r.safetensors"
    assert main(["fit", str(tmp_path / "r.npz"), "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    return model, tmp_path / "r.npz"


def test_proba_for_a_regressor_says_why_not(regressor, capsys):
    model, data = regressor
    code, out, err = predict(capsys, model, data, "--proba")
    assert code == 1 and out == ""
    assert err == (
        f"glai predict: error: --proba needs a classifier, but {model} holds a GLAIRegressor: "
        "a regression predicts values, not class probabilities\n"
    )


def test_a_task_against_the_saved_estimator_is_an_error(regressor, capsys):
    model, data = regressor
    code, _, err = predict(capsys, model, data, "--task", "classification")
    assert code == 1
    assert "holds a GLAIRegressor, a regression model; --task classification is only" in err


@pytest.fixture
def bare(tmp_path, write_csv):
    """A freshly built GLAI saved by glai.save, data for it, and its outputs on the data."""
    model = glai.GLAI(4, 8, 3)
    path = tmp_path / "bare.safetensors"
    glai.save(model, path)
    x = np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32)
    with torch.no_grad():
        outputs = model(torch.from_numpy(x)).numpy()
    return path, write_csv("x.csv", ["a", "b", "c", "d"], x.tolist()), outputs


def test_a_bare_model_writes_its_raw_outputs(bare, capsys):
    model, data, outputs = bare
    code, out, err = predict(capsys, model, data)
    assert code == 0
    table = rows(out)
    assert table[0] == ["output_0", "output_1", "output_2"]
    np.testing.assert_allclose(np.array(table[1:], dtype=float), outputs, rtol=1e-5, atol=1e-6)
    assert err == (
        f"glai predict: note: {model} holds a bare GLAI (no estimator info): writing its raw "
        "outputs; --task classification gives class indices, --proba probabilities\n"
    )


@pytest.mark.parametrize(
    ("flags", "header", "expected"),
    [
        (["--task", "classification"], ["prediction"], lambda o: o.argmax(1)[:, None]),
        (
            ["--proba"],
            ["proba_0", "proba_1", "proba_2"],
            lambda o: torch.softmax(torch.tensor(o), 1),
        ),
    ],
    ids=["classes", "proba"],
)
def test_a_bare_model_as_a_classifier(flags, header, expected, bare, capsys):
    model, data, outputs = bare
    code, out, err = predict(capsys, model, data, *flags)
    assert code == 0 and err == ""
    table = rows(out)
    assert table[0] == header
    np.testing.assert_allclose(np.array(table[1:], dtype=float), expected(outputs), rtol=1e-5)


def test_a_bare_model_checks_the_column_count(bare, write_csv, capsys):
    model, _, _ = bare
    data = write_csv("three.csv", ["a", "b", "c"], [[1, 2, 3]])
    code, _, err = predict(capsys, model, data)
    assert code == 1 and "has 3 feature columns; the model was trained on 4" in err
