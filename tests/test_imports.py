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


LAYERS = ["guards", "nn", "io", "training", "few_shot", "sklearn", "cli"]
"""The package's layers in the README's order: each imports only those before it."""


def glai_imports(path) -> set[str]:
    """The ``glai`` modules a source file imports (top level or inside functions)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name == "glai" or name.startswith("glai.")}


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_before_it(layer):
    from pathlib import Path

    import glai

    package = Path(glai.__file__).parent
    files = [package / f"{layer}.py"] if (package / f"{layer}.py").exists() else []
    files += sorted((package / layer).rglob("*.py"))
    assert files
    allowed = {f"glai.{name}" for name in LAYERS[: LAYERS.index(layer) + 1]}
    for path in files:
        for name in glai_imports(path):
            top = ".".join(name.split(".")[:2])
            assert top in allowed, f"{path.relative_to(package)} imports {name}"
