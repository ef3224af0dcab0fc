"""The panel's markdown report: each half's summary, the split, the verdict per task, and
one table per task."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from glai_bench.panel_data import CLASSIFICATION
from glai_bench.panel_halves import AUC_FLOOR, FLOOR, HALVES, RULE, SLOW_FIT
from glai_bench.panel_tasks import TASKS


def markdown(result: dict) -> str:
    """The report of :func:`glai_bench.panel.panel_result`'s ``result``."""
    summaries = result["tasks"]
    halves = _halves_table(result["halves"], result.get("control_halves", {}))
    lines = [*halves, "", *_split_table(result["split"]["halves"])]
    for half in HALVES:
        mine = [s for s in summaries if s["half"] == half]
        if mine:
            lines += ["", f"### The {half} half", "", *_verdict_table(mine)]
    for s in summaries:
        lines += ["", f"### {s['task']} ({s['source']})", "", *task_table(s)]
        lines += ["", verdict_line(s["kind"], s["verdict"])]
    return "\n".join(lines)


def verdict_line(kind: str, figures: dict) -> str:
    """One sentence of a task's verdict (:func:`glai_bench.panel.verdict`)."""
    gaps = f"{_points(kind, figures['gap_to_best_mlp'])}, floor {_points(kind, -FLOOR[kind])}"
    if "auc_gap_to_best_mlp" in figures:
        gaps += f"; ROC AUC {figures['auc_gap_to_best_mlp']:+.4f}, floor {-AUC_FLOOR:+.4f}"
    met = "meets" if figures["floor_met"] else "misses"
    speedup = figures["speedup"]
    reach = (
        f"reaches that MLP's best validation value {_times(speedup)} as fast"
        if speedup
        else "never reaches that MLP's best validation value"
    )
    return (
        f"Verdict: GLAI with its defaults {met} the floor against the better of "
        f"scikit-learn's MLP and the equal-parameter MLP ({gaps}); its fit "
        f"takes {figures['time_ratio']:.2f}x that MLP's time and it {reach}."
    )


def _halves_table(halves: dict, control: dict) -> list[str]:
    """Each half's figures for GLAI and, where it was trained, for the control."""
    lines = [
        "| half | model | tasks | floor met | fit no longer than the MLP's | time / MLP's "
        "(geometric mean) | speedup to MLP's best val (geometric mean over tasks where its "
        f"fit takes ≥ {SLOW_FIT:g} s) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for half, summary in halves.items():
        rows = [("GLAI (defaults)", summary)]
        if half in control:
            rows.append(("control (equal-width MLP, GLAI's two phases)", control[half]))
        for model, figures in rows:
            lines.append(f"| {half} | {model} | " + _half_cells(figures))
    return lines


def _half_cells(summary: dict) -> str:
    speedup = _times(summary["speedup"]) if summary["speedup"] else "none reached"
    never = f", never on {summary['never']}" if summary["never"] else ""
    slow = f"{summary['slow_tasks']} task{'' if summary['slow_tasks'] == 1 else 's'}"
    return (
        f"{summary['tasks']} | {summary['floor_met']} | {summary['fit_no_longer']} "
        f"| {summary['time_ratio']:.2f} | {speedup} over {slow}{never} |"
    )


def _split_table(halves: dict[str, str]) -> list[str]:
    lines = [
        f"The split ({RULE}):",
        "",
        "| task | half | input | problem | n train (full panel) |",
        "|---|---|---|---|---:|",
    ]
    for spec in TASKS:
        lines.append(
            f"| {spec.name} | {halves[spec.name]} | {spec.family} | {spec.problem} "
            f"| {spec.size:,} |"
        )
    return lines


def _verdict_table(summaries: Sequence[dict]) -> list[str]:
    lines = [
        "| task | n train | features | GLAI − best MLP | AUC: GLAI − best MLP | floor met "
        "| GLAI / MLP time | MLP fit (s) | speedup to MLP's best val |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for s in summaries:
        v = s["verdict"]
        speedup = _times(v["speedup"]) if v["speedup"] else "never"
        auc = f"{v['auc_gap_to_best_mlp']:+.4f}" if "auc_gap_to_best_mlp" in v else ""
        floor = "yes" if v["floor_met"] else "no"
        lines.append(
            f"| {s['task']} | {s['train_size']:,} | {s['features']} "
            f"| {_points(s['kind'], v['gap_to_best_mlp'])} | {auc} | {floor} "
            f"| {v['time_ratio']:.2f} | {v['reference_seconds']:.2f} | {speedup} |"
        )
    return lines


def task_table(summary: dict) -> list[str]:
    """One row per model of a task summary (``kind`` and ``models``)."""
    metric = "test accuracy (%)" if summary["kind"] == CLASSIFICATION else "test R²"
    with_auc = any("auc_mean" in row for row in summary["models"].values())
    auc_header, auc_rule = (" test ROC AUC |", "---:|") if with_auc else ("", "")
    lines = [
        f"| model | {metric} |{auc_header} fit time (s) | epochs (switch) "
        "| time to MLP's best val (s) | speedup |",
        f"|---|---:|{auc_rule}---:|---:|---:|---:|",
    ]
    for name, row in summary["models"].items():
        value = _metric_text(summary["kind"], row["test_mean"], row["test_std"])
        auc = f" {row['auc_mean']:.4f} ± {row['auc_std']:.4f} |" if "auc_mean" in row else " |"
        time_text, speedup = _reference_cells(row)
        lines.append(
            f"| {name} | {value} |{auc if with_auc else ''} {row['seconds']:.2f} "
            f"| {_epochs_cell(row)} | {time_text} | {speedup} |"
        )
    return lines


def _epochs_cell(row: dict) -> str:
    """Mean epochs, and the mean switch epoch of two-phase runs ("" for a model trained
    outside ``fit``)."""
    if "epochs" not in row:
        return ""
    text = f"{statistics.fmean(row['epochs']):.1f}"
    switches = [epoch for epoch in row["switch_epochs"] if epoch is not None]
    return f"{text} ({statistics.fmean(switches):.1f})" if switches else text


def _reference_cells(row: dict) -> tuple[str, str]:
    """Time to the reference's best validation value and the speedup ("" for a model
    without a validation curve, "never" when no split reached it)."""
    times = row.get("time_to_reference")
    if times is None:
        return "", ""
    reached = [t for t in times if t < math.inf]
    if not reached:
        return "never", "never"
    return f"{statistics.fmean(reached):.2f} ({len(reached)}/{len(times)})", _times(row["speedup"])


def _times(ratio: float) -> str:
    return f"{ratio:.2f}x"


def _metric_text(kind: str, mean: float, std: float) -> str:
    if kind == CLASSIFICATION:
        return f"{100 * mean:.2f} ± {100 * std:.2f}"
    return f"{mean:.4f} ± {std:.4f}"


def _points(kind: str, gap: float) -> str:
    return f"{100 * gap:+.2f} points" if kind == CLASSIFICATION else f"{gap:+.4f} R²"
