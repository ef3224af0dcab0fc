import numpy as np
import pytest

from glai.cli.main import main
from glai.cli.tables import DataFileError, format_predictions, load_table

HEADER = ["x1", "x2", "label"]
ROWS = [[0.5, -1.25, "no"], [2.0, 3.5, "yes"], [-0.75, 1e-3, "no"]]


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_the_delimiter_is_detected(delimiter, write_csv):
    table = load_table(write_csv("d.csv", HEADER, ROWS, delimiter))
    expected = np.array([[0.5, -1.25], [2.0, 3.5], [-0.75, 1e-3]], dtype=np.float32)
    np.testing.assert_array_equal(table.features, expected)
    assert table.labels.tolist() == ["no", "yes", "no"]
    assert table.columns == ["x1", "x2"]


def test_a_file_without_a_delimiter_is_one_column(write_csv):
    table = load_table(write_csv("d.csv", ["x"], [[1], [2]]), label=None, require_label=False)
    assert table.features.tolist() == [[1.0], [2.0]]


def test_an_unclear_delimiter_is_an_error_naming_what_was_tried(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b;c\n1,2\n3;4\n")
    with pytest.raises(DataFileError) as error:
        load_table(path)
    assert str(error.value) == (
        f"{path}: cannot tell which delimiter separates the columns "
        "(tried comma, semicolon, tab, '|')"
    )


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ([[1, 2, 0], [3, "x", 1]], "line 3, column 'x2': 'x' is not a number"),
        ([[1, 2, 0], [3, "", 1]], "line 3, column 'x2': an empty field is not a number"),
        ([["1,5", 2, 0]], "line 2, column 'x1': '1,5' is not a number"),
    ],
    ids=["text", "empty", "decimal-comma"],
)
def test_text_in_a_numeric_column_names_file_line_and_column(rows, where, write_csv):
    path = write_csv("d.csv", HEADER, rows, ";")
    with pytest.raises(DataFileError) as error:
        load_table(path)
    assert str(error.value) == f"{path} {where}"


def test_line_numbers_count_the_header_and_blank_lines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1,x2,label\n1,2,0\n\n3,oops,1\n\n")
    with pytest.raises(DataFileError, match="line 4, column 'x2': 'oops' is not a number"):
        load_table(path)


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("x1,x2,label\n1,2,0\n".encode("utf-8-sig"))
    assert load_table(path).columns == ["x1", "x2"]


def test_a_repeated_column_name_is_an_error(write_csv):
    path = write_csv("d.csv", ["x", "x", "label"], [[1, 2, 0]])
    with pytest.raises(DataFileError, match="names column 'x' more than once"):
        load_table(path)


def test_columns_are_read_by_name_in_the_order_asked(write_csv):
    path = write_csv("d.csv", ["id", "x2", "label", "x1"], [["r1", 2, 0, 1], ["r2", 4, 1, 3]])
    table = load_table(path, require_label=False, columns=["x1", "x2"])
    assert table.features.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert table.ignored == ["id"]


def test_a_missing_column_is_named(write_csv):
    path = write_csv("d.csv", ["x2", "label"], [[2, 0]])
    with pytest.raises(DataFileError) as error:
        load_table(path, require_label=False, columns=["x1", "x2"])
    assert str(error.value) == f"{path} has no column 'x1', which the model was trained on"


@pytest.mark.parametrize(
    ("columns", "values", "text"),
    [
        (["prediction"], np.array(["a", "b, c"]), 'prediction\na\n"b, c"\n'),
        (["proba_0", "proba_1"], np.array([[0.25, 0.75]]), "proba_0,proba_1\n0.25,0.75\n"),
    ],
    ids=["quoted-labels", "columns"],
)
def test_predictions_are_csv(columns, values, text):
    assert format_predictions(columns, values) == text


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_fit_reads_each_delimiter(delimiter, write_csv, tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = [[*row, int(row[0] > 0)] for row in x.tolist()]
    path = write_csv("d.csv", ["a", "b", "c", "label"], rows, delimiter)
    model = str(tmp_path / "m.safetensors")
    assert main(["fit", str(path), "--out", model, "--epochs", "2", "--hidden", "8"]) == 0
    assert capsys.readouterr().out.startswith("classification: 60 samples, 3 features")


def test_keep_text_reads_words_apart_and_empty_numbers_as_missing(write_csv):
    rows = [[1.5, "red", "", "no"], [2.0, "blue", 4, "yes"]]
    path = write_csv("d.csv", ["x", "colour", "y", "label"], rows)
    table = load_table(path, keep_text=True)
    assert table.columns == ["x", "y"]
    np.testing.assert_array_equal(table.features, [[1.5, np.nan], [2.0, 4.0]])
    assert list(table.text) == ["colour"]
    assert table.text["colour"].tolist() == ["red", "blue"]


def test_without_keep_text_there_are_no_text_columns(write_csv):
    table = load_table(write_csv("d.csv", HEADER, ROWS))
    assert table.text == {}
