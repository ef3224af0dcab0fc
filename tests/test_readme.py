"""The README's examples run as written, so the README cannot rot."""

import re
import subprocess
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_the_two_commands():
    first = README.splitlines()[2:4]
    assert first[0].split("#")[0].strip() == "bash scripts/demo.sh"
    assert first[1].split("#")[0].strip() == "bash scripts/test.sh"
    root = Path(__file__).parents[1]
    assert (root / "scripts/demo.sh").is_file() and (root / "scripts/test.sh").is_file()


PYTHON = blocks("python")
DIGITS = next(block for block in PYTHON if "load_digits" in block)
OWN_CODE = [block for block in PYTHON if block is not DIGITS]


@pytest.mark.slow
def test_python_example(tmp_path, monkeypatch, capsys):
    code = DIGITS
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    output = capsys.readouterr().out
    accuracy = float(output.rsplit(" ", 1)[1])
    assert accuracy > 0.9
    assert (tmp_path / "digits.safetensors").is_file()


@pytest.mark.slow
def test_shell_example(tmp_path):
    # the example that runs the command line, not the install commands
    (script,) = [block for block in blocks("bash") if "glai fit" in block]
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, check=True, capture_output=True
    )
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "prediction" and len(lines) == 1798


def test_the_readme_shows_each_way_to_use_glai_in_ones_own_code():
    assert "## Use it in your own code" in README
    assert len(OWN_CODE) == 8


@pytest.mark.parametrize(
    "code",
    OWN_CODE,
    ids=[
        "own-loop",
        "nested-fit",
        "precision-export",
        "projection-head",
        "few-shot",
        "transformer",
        "paths",
        "adaptive-pruning",
    ],
)
def test_own_code_example(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    output = capsys.readouterr().out
    assert output.strip()  # every example prints what it shows
    assert printed_as_shown(shown_outputs(code), output.splitlines())


def printed_as_shown(shown: list[str], lines: list[str]) -> bool:
    """Whether ``lines`` hold, in order, a line that is, starts with or ends with each of
    ``shown`` (as whole words)."""
    remaining = iter(lines)
    return all(any(_shows(line, value) for line in remaining) for value in shown)


def _shows(line: str, value: str) -> bool:
    return line == value or line.startswith(value + " ") or line.endswith(" " + value)


def shown_outputs(code: str) -> list[str]:
    """What the comments of an example's top-level ``print`` lines say it prints: those
    holding a figure, up to an explanation (after ``: `` or `` from ``)."""
    shown = []
    for line in code.splitlines():
        if line.startswith("print(") and "  # " in line:
            comment = line.split("  # ", 1)[1].split(": ")[0].split(" from ")[0]
            if re.search(r"\d|True|False", comment):
                shown.append(comment)
    return shown


def test_a_shown_output_must_start_a_printed_line_in_order():
    assert printed_as_shown(["4 True", "0.934", "0.1"], ["x", "4 True", "0.934 after", "a 0.1"])
    assert not printed_as_shown(["4 True"], ["14 True"])
    assert not printed_as_shown(["0.93", "4 True"], ["4 True", "0.934"])


def test_the_shown_outputs_are_read_from_the_comments():
    example = "print(x)  # 0.64 from the start\nprint(y)  # torch.Size([15, 5]): per query\n"
    assert shown_outputs(example + "print(z)  # a description\n") == [
        "0.64",
        "torch.Size([15, 5])",
    ]
