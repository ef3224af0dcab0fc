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


@pytest.mark.slow
def test_python_example(tmp_path, monkeypatch, capsys):
    (code,) = blocks("python")
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
