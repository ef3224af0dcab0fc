"""What ``import glai`` loads, what the package offers when scikit-learn is missing, and
which of its layers import which.

Each check of what is loaded runs in a fresh interpreter, so modules that other tests
imported do not count; the layering is read from the sources.
(That importing and drawing with ``glai_bench.plots`` leaves matplotlib's backend alone is
checked in ``tests/bench/test_plots.py``.)
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

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


SOURCE = Path(__file__).parents[1] / "src" / "glai"
LAYERS = ["guards", "nn", "io", "training", "few_shot", "sklearn", "cli"]
"""The package's layers in the README's order: each imports only those before it; the
command line alone imports the harness (on demand)."""


def layer_of(path: Path) -> str:
    return path.relative_to(SOURCE).parts[0].removesuffix(".py")


def project_imports(path: Path) -> set[str]:
    """The ``glai`` and ``glai_bench`` modules a source file imports (at any depth)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: a relative import"
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in ("glai", "glai_bench")}


def test_every_source_file_is_in_a_layer():
    files = [path for path in SOURCE.rglob("*.py") if path != SOURCE / "__init__.py"]
    assert files and {layer_of(path) for path in files} == set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_before_it(layer):
    allowed = {f"glai.{name}" for name in LAYERS[: LAYERS.index(layer) + 1]}
    allowed |= {"glai_bench"} if layer == "cli" else set()
    files = [path for path in SOURCE.rglob("*.py") if layer_of(path) == layer]
    offenders = [
        f"{path.relative_to(SOURCE)} imports {name}"
        for path in files
        for name in project_imports(path)
        if ".".join(name.split(".")[:2]) not in allowed and name.split(".")[0] not in allowed
    ]
    assert files and offenders == []
