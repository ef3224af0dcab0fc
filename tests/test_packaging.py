"""What the distribution ships besides code: the py.typed marker of PEP 561."""

import importlib.resources
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_the_package_is_marked_as_typed():
    assert importlib.resources.files("glai").joinpath("py.typed").is_file()


def test_the_marker_is_package_data_so_wheels_ship_it():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
    setuptools = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]
    assert "py.typed" in setuptools["package-data"]["glai"]
