"""Run benchmark settings and gather their results, tables and plots."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from glai_bench.bench_features import cache_dir
from glai_bench.faults import FAULTS_FULL, FAULTS_QUICK, run_faults
from glai_bench.fewshot import run_fewshot
from glai_bench.fuzz import run_fuzz
from glai_bench.panel import report_name, run_panel
from glai_bench.panel_halves import BOTH
from glai_bench.panel_study import run_study
from glai_bench.panel_tasks import PANEL_FULL, PANEL_QUICK, PANEL_SMALL, PANEL_STUDY, PanelBudget
from glai_bench.perf import run_perf
from glai_bench.plots import plot_speedups
from glai_bench.prune import run_prune
from glai_bench.settings import FULL, QUICK, Budget, run_head, run_pixels, run_ssl
from glai_bench.structure import run_structure
from glai_bench.transformer import run_transformer
from glai_bench.variants import run_variants


def _perf(budget: Budget, cache: Path, out: Path, root: object, progress: bool) -> dict:
    return {"table": run_perf(out, quick=budget is QUICK, progress=progress)}


def _panel_budget(budget: Budget, full: PanelBudget, half: str) -> PanelBudget:
    return dataclasses.replace(PANEL_QUICK if budget is QUICK else full, half=half)


def _panel(budget: Budget, cache: Path, out: Path, root: object, progress: bool, half: str):
    return run_panel(_panel_budget(budget, PANEL_FULL, half), cache, out, root, progress)


def _panel_small(budget: Budget, cache: Path, out: Path, root: object, progress: bool, half: str):
    panel_budget = _panel_budget(budget, PANEL_SMALL, half)
    return run_panel(panel_budget, cache, out, root, progress, name="panel-small")


def _panel_defaults(
    budget: Budget, cache: Path, out: Path, root: object, progress: bool, half: str
) -> dict:
    return run_study(_panel_budget(budget, PANEL_STUDY, half), cache, out, root, progress)


def _faults(budget: Budget, cache: Path, out: Path, root: object, progress: bool) -> dict:
    return run_faults(FAULTS_QUICK if budget is QUICK else FAULTS_FULL, out, progress)


def _fuzz(budget: Budget, cache: Path, out: Path, root: object, progress: bool) -> dict:
    return run_fuzz(FUZZ_QUICK if budget is QUICK else FUZZ_FULL, out)


FUZZ_FULL, FUZZ_QUICK = 2_000, 40
"""Cases drawn by ``glai bench fuzz``, full and quick."""

SETTINGS = {
    "panel": _panel,
    "panel-small": _panel_small,
    "panel-defaults": _panel_defaults,
    "head": run_head,
    "ssl": run_ssl,
    "fewshot": run_fewshot,
    "pixels": run_pixels,
    "perf": _perf,
    "variants": run_variants,
    "transformer": run_transformer,
    "faults": _faults,
    "fuzz": _fuzz,
    "structure": run_structure,
    "prune": run_prune,
}
ALL_SETTINGS = tuple(name for name in SETTINGS if name != "panel-small")  # a subset of panel
HALVED_SETTINGS = ("panel", "panel-small", "panel-defaults")
"""The settings that run one half of the panel, or both (``half``)."""


def run_bench(
    settings: Sequence[str],
    out: str | os.PathLike = "results",
    quick: bool = False,
    cache: str | os.PathLike | None = None,
    fashion_root: str | os.PathLike | None = None,
    progress: bool = False,
    half: str = BOTH,
) -> str:
    """Run the named settings (``panel``, ``panel-small`` (the panel's small tasks, not in
    :data:`ALL_SETTINGS`), ``panel-defaults`` (the studies behind each default's
    constants), ``head``, ``ssl``, ``fewshot``, ``pixels``, ``perf``,
    ``variants``, ``transformer``, ``faults`` (runs killed and resumed), ``fuzz`` (random
    settings and malformed data), ``structure`` (when the structure settles against the
    validation metric, and the two ends of the switch), ``prune`` (GLAI and the MLP pruned
    by path norms against an MLP of the pruned width from scratch)).

    Writes per setting ``<setting>.json``, ``<setting>.md`` and plots into ``out``, plus
    ``speedup.png`` (GLAI and the MLPs against the equal-parameter MLP, per setting) and
    ``README.md`` (every table).

    Args:
        settings: names from :data:`SETTINGS`.
        out: results directory.
        quick: a small subset of every setting (minutes instead of hours), for tests.
        cache: feature cache directory (default ``$GLAI_CACHE`` or ``~/.cache/glai``).
        fashion_root: Fashion-MNIST directory.
        progress: progress bars.
        half: for the panel's settings (:data:`HALVED_SETTINGS`): ``choosing``,
            ``checking`` or ``both`` halves of the panel (one half's report is
            ``<setting>-<half>``).

    Returns:
        The combined markdown report.
    """
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; choose from {', '.join(SETTINGS)}")
    out = Path(out)
    budget = QUICK if quick else FULL
    results = {}
    for name in settings:
        extra = {"half": half} if name in HALVED_SETTINGS else {}
        run = SETTINGS[name]
        results[name] = run(budget, cache_dir(cache), out, fashion_root, progress, **extra)
    speedups = {
        name: {s["candidate"]: s for s in result["summaries"]}
        for name, result in results.items()
        if "summaries" in result
    }
    if speedups:
        plot_speedups(speedups, out / "speedup.png")
    names = [report_name(name, half) if name in HALVED_SETTINGS else name for name in settings]
    report = "\n\n".join((out / f"{name}.md").read_text().strip() for name in names) + "\n"
    (out / "README.md").write_text(report)
    return report
