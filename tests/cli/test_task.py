import numpy as np
import pytest

from glai.cli.main import main
from glai.sklearn.persistence import task_and_reason, task_of
from sklearn import datasets


def _iris_petal_width() -> np.ndarray:
    return datasets.load_iris().data[:, 3]  # 0.1 to 2.5 cm


@pytest.mark.parametrize(
    ("targets", "task"),
    [
        (lambda: datasets.load_iris().target, "classification"),
        (lambda: datasets.load_wine().target, "classification"),
        (lambda: datasets.load_digits().target, "classification"),
        (lambda: datasets.load_breast_cancer().target, "classification"),
        (lambda: datasets.load_diabetes().target, "regression"),
        (_iris_petal_width, "regression"),
        (lambda: datasets.load_iris().target.astype(np.float64), "classification"),
        (lambda: np.array(["cat", "dog", "cat"]), "classification"),
        (lambda: np.array([True, False, True]), "classification"),
        (lambda: np.array([0, 0, 1, 1, 2]), "regression"),
        (lambda: np.ones((4, 2)), "regression"),
    ],
    ids=[
        "iris",
        "wine",
        "digits",
        "breast_cancer",
        "diabetes",
        "float",
        "integral-floats",
        "text",
        "booleans",
        "a-value-seen-once",
        "two-columns",
    ],
)
def test_the_task_rule(targets, task):
    assert task_of(targets()) == task
    assert task_and_reason(targets())[0] == task


@pytest.mark.parametrize(
    ("targets", "reason"),
    [
        (
            lambda: datasets.load_diabetes().target,
            "the targets are whole numbers with 214 distinct values, more than the 20 that "
            "classes may have",
        ),
        (
            lambda: np.array([0, 0, 1, 1, 2]),
            "the targets are whole numbers and 2 is seen only 1 time(s); each class needs at "
            "least 2 samples",
        ),
        (
            lambda: datasets.load_iris().target,
            "the targets are 3 distinct whole numbers (at most 20), each seen at least 2 times",
        ),
        (_iris_petal_width, "the targets are numbers with fractions"),
    ],
    ids=["many-values", "rare-value", "classes", "fractions"],
)
def test_the_reason_is_plain_words(targets, reason):
    assert task_and_reason(targets())[1] == reason


def test_integer_regression_targets_are_not_read_as_classes(write_csv, tmp_path, capsys):
    x, y = datasets.load_diabetes(return_X_y=True)
    rows = [[*row, int(target)] for row, target in zip(x.tolist(), y)]
    path = write_csv("diabetes.csv", [f"x{i}" for i in range(10)] + ["label"], rows)
    model = str(tmp_path / "m.safetensors")
    assert main(["fit", str(path), "--out", model, "--epochs", "2", "--hidden", "8"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("regression: 442 samples")
    assert "accuracy" not in captured.out
    assert captured.err.startswith("glai fit: note: task regression: the targets are whole ")
    assert captured.err.rstrip().endswith("to override: --task classification")


def test_no_note_when_the_task_is_given(write_csv, tmp_path, capsys):
    path = write_csv("d.csv", ["x", "label"], [[i, i % 2] for i in range(120)])
    model = str(tmp_path / "m.safetensors")
    arguments = ["fit", str(path), "--out", model, "--epochs", "1", "--hidden", "4"]
    assert main([*arguments, "--task", "regression"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("regression") and captured.err == ""
