"""What ``import glai`` loads, and what the package offers when scikit-learn is missing.

Each check runs in a fresh interpreter, so modules that other tests imported do not count.
(That importing and drawing with ``glai_bench.plots`` leaves matplotlib's backend alone is
checked in ``tests/bench/test_plots.py``.)
"""

import json
import subprocess
import sys

import pytest

NOT_LOADED_BY_IMPORT_GLAI = ["matplotlib", "scipy", "sklearn", "glai_bench"]
CORE_NAMES = ["FitConfig", "GLAI", "fit"]
ESTIMATOR_NAMES = ["GLAIClassifier", "GLAIRegressor"]

LOADED_MODULES = """
import json, sys
import glai
print(json.dumps(sorted(sys.modules)))
"""

WITHOUT_SKLEARN = """
import json, sys
sys.modules["sklearn"] = None  # every import of scikit-learn now fails
namespace = {}
exec("from glai import *", namespace)
import glai
report = {"star": sorted(name for name in namespace if not name.startswith("__"))}
try:
    glai.GLAIClassifier
except Exception as error:
    report["error"] = {"import_error": isinstance(error, ImportError), "message": str(error)}
print(json.dumps(report))
"""


def run_python(code: str):
    """The JSON that ``code`` prints, run by a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def loaded_by_import_glai() -> list[str]:
    return run_python(LOADED_MODULES)


@pytest.fixture(scope="module")
def without_sklearn() -> dict:
    return run_python(WITHOUT_SKLEARN)


def test_import_glai_loads_glai(loaded_by_import_glai):
    assert "glai" in loaded_by_import_glai  # the check below looks at the right list


@pytest.mark.parametrize("package", NOT_LOADED_BY_IMPORT_GLAI)
def test_import_glai_loads_no_module_of(package, loaded_by_import_glai):
    loaded = [m for m in loaded_by_import_glai if m == package or m.startswith(package + ".")]
    assert loaded == []


@pytest.mark.parametrize("name", CORE_NAMES)
def test_star_import_without_sklearn_gives_the_core(name, without_sklearn):
    assert name in without_sklearn["star"]


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_star_import_without_sklearn_leaves_out_the_estimators(name, without_sklearn):
    assert name not in without_sklearn["star"]


def test_an_estimator_without_sklearn_is_an_import_error_naming_it(without_sklearn):
    error = without_sklearn.get("error")
    assert error is not None, "glai.GLAIClassifier raised nothing without scikit-learn"
    assert error["import_error"], error
    assert "scikit-learn" in error["message"]
