"""``glai bench fuzz``: ``glai.fit`` on random setting combinations and malformed inputs.

Hypothesis draws every flat setting of :class:`glai.training.FitConfig` from its valid
values and from values it must refuse (wrong types, out of range, unknown words), a model
(a GLAI, an MLP, a network around a GLAI block) and training data that are valid or
malformed (NaN, wrong shapes, dtypes and lengths, class labels out of range, empty). Each
case ends in one of three ways: it trains; it is refused with a ``ValueError`` or
``TypeError`` (or an ``OSError`` for a file) whose message is not empty; or it *crashes*
with anything else. The bench counts them; the target is no crash.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glai
from glai.nn.monitor import MEASURES
from glai.training.config import OPTIMIZERS, OUTPUT_STARTS, PRUNE_SCORES, SCHEDULES, SOLVERS
from glai.training.quantitative import STRATEGIES
from glai_bench.protocol import environment, write_report

FEATURES, CLASSES = 5, 3
CLEAR = (ValueError, TypeError, OSError)
"""What a refusal may raise (the documented errors of ``glai.fit``)."""

_BAD = st.sampled_from([-1, 0, 1.5, "x", None, math.nan, True, [1]])


def _setting(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly valid values, sometimes one that must be refused."""
    return st.one_of(good, good, good, _BAD)


SETTINGS: dict[str, st.SearchStrategy] = {
    "epochs": _setting(st.integers(1, 4)),
    "batch_size": _setting(st.one_of(st.none(), st.integers(1, 64))),
    "lr": _setting(st.one_of(st.none(), st.floats(0, 0.1))),
    "structural_lr": _setting(st.floats(1e-4, 0.1)),
    "schedule": _setting(st.sampled_from(SCHEDULES)),
    "quantitative": _setting(st.sampled_from(tuple(STRATEGIES))),
    "solver": _setting(st.sampled_from(SOLVERS)),
    "output_start": _setting(st.sampled_from(OUTPUT_STARTS)),
    "optimizer": _setting(st.sampled_from(tuple(OPTIMIZERS))),
    "weight_decay": _setting(st.floats(0, 0.1)),
    "early_stopping": _setting(st.one_of(st.none(), st.integers(1, 3))),
    "early_stopping_on": _setting(st.sampled_from(["loss", "metric"])),
    "early_stopping_tol": _setting(st.floats(0, 0.5)),
    "validation_fraction": _setting(st.floats(0, 0.5)),
    "threshold": _setting(st.floats(0, 1)),
    "patience": _setting(st.integers(1, 3)),
    "max_structural_epochs": _setting(st.integers(1, 3)),
    "relative": _setting(st.booleans()),
    "probe_size": _setting(st.integers(1, 64)),
    "min_structural_steps": _setting(st.integers(1, 50)),
    "switch_on_plateau": _setting(st.booleans()),
    "measure": _setting(st.sampled_from(MEASURES)),
    "prune_threshold": _setting(st.one_of(st.none(), st.floats(0.01, 0.99))),
    "prune_patience": _setting(st.integers(1, 3)),
    "prune_by": _setting(st.sampled_from(PRUNE_SCORES)),
}
"""Every flat setting of ``glai.fit`` but those that only place or report the run
(:data:`NOT_DRAWN`)."""

NOT_DRAWN = ("device", "progress", "seed", "switch")
"""``seed`` is fixed so that a case replays; ``switch`` is drawn field by field."""


@st.composite
def fit_settings(draw: st.DrawFn) -> dict[str, Any]:
    """A random subset of the flat settings, each drawn as above."""
    names = draw(st.sets(st.sampled_from(sorted(SETTINGS)), max_size=8))
    return {name: draw(SETTINGS[name]) for name in sorted(names)}


@st.composite
def training_data(draw: st.DrawFn) -> tuple[Any, str]:
    """``(data, kind)``: an ``(X, y)`` pair, valid or with one defect named by ``kind``."""
    rows = draw(st.integers(1, 80))
    x = torch.randn(rows, FEATURES, generator=torch.Generator().manual_seed(rows))
    y = (x[:, :CLASSES]).argmax(1)
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "valid",
                "valid",
                "nan",
                "inf",
                "features",
                "dtype",
                "labels",
                "lengths",
                "float-labels",
                "empty",
                "not-a-pair",
            ]
        )
    )
    if kind in ("nan", "inf"):
        x[draw(st.integers(0, rows - 1)), 0] = math.nan if kind == "nan" else math.inf
    elif kind == "features":
        x = x[:, : draw(st.integers(1, FEATURES - 1))]
    elif kind == "dtype":
        x = x.to(draw(st.sampled_from([torch.float64, torch.float16, torch.int64])))
    elif kind == "labels":
        y[0] = draw(st.sampled_from([-1, CLASSES, 100]))
    elif kind == "lengths":
        y = y[: rows - 1]
    elif kind == "float-labels":
        y = y.float()
    elif kind == "empty":
        x, y = x[:0], y[:0]
    elif kind == "not-a-pair":
        return x, kind
    return (x, y), kind


MODELS = {
    "glai": lambda: glai.GLAI(FEATURES, 8, CLASSES),
    "mlp": lambda: glai.MLP(FEATURES, 8, CLASSES),
    "around-a-block": lambda: torch.nn.Sequential(
        torch.nn.Linear(FEATURES, FEATURES), glai.GLAI(FEATURES, 8, CLASSES)
    ),
}


def outcome(model_name: str, data: Any, options: dict[str, Any]) -> tuple[str, str]:
    """``("trained" | "refused" | "crash", detail)`` of one ``glai.fit`` call."""
    torch.manual_seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            glai.fit(MODELS[model_name](), data, seed=0, **options)
    except CLEAR as error:
        message = str(error).strip()
        return ("refused", type(error).__name__) if message else ("crash", "empty message")
    except Exception as error:  # counting what escapes is the point
        return "crash", f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    return "trained", ""


def run_fuzz(examples: int, out: Path) -> dict:
    """Draw ``examples`` cases, run each, count the outcomes; writes ``fuzz.json/.md``."""
    cases: list[dict] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        options=fit_settings(),
        data=training_data(),
        model=st.sampled_from(sorted(MODELS)),
    )
    def case(options: dict[str, Any], data: tuple[Any, str], model: str) -> None:
        result, detail = outcome(model, data[0], options)
        cases.append({"model": model, "data": data[1], "result": result, "detail": detail})

    case()
    counts = Counter(row["result"] for row in cases)
    crashes = [row for row in cases if row["result"] == "crash"]
    result = {
        "setting": "fuzz",
        "environment": environment(),
        "counts": dict(counts),
        "crashes": crashes,
        "by_data": _by(cases, "data"),
    }
    result["table"] = markdown(result)
    write_report(out, "fuzz", result, result["table"])
    return result


def _by(cases: list[dict], key: str) -> dict[str, dict[str, int]]:
    groups: dict[str, Counter] = {}
    for row in cases:
        groups.setdefault(row[key], Counter())[row["result"]] += 1
    return {name: dict(counter) for name, counter in sorted(groups.items())}


def markdown(result: dict) -> str:
    """Outcomes per kind of training data, then any crash."""
    lines = ["| training data | trained | refused clearly | crashed |", "|---|---:|---:|---:|"]
    for kind, counts in result["by_data"].items():
        lines.append(
            f"| {kind} | {counts.get('trained', 0)} | {counts.get('refused', 0)} "
            f"| {counts.get('crash', 0)} |"
        )
    total = result["counts"]
    lines.append(
        f"| **all** | {total.get('trained', 0)} | {total.get('refused', 0)} "
        f"| {total.get('crash', 0)} |"
    )
    for row in result["crashes"]:
        lines.append(f"- crash: {row['model']}, {row['data']}: {row['detail']}")
    return "\n".join(lines)
