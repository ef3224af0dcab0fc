"""The pruning study's rows and report: the names of the rows, the targets at half the
hidden units removed, then per task the test metric, sizes, inference and training times
against the share removed. Every verdict is computed from the measurements."""

from __future__ import annotations

from collections.abc import Callable, Sequence

GLAI_MODEL, MLP_MODEL = "GLAI", "MLP, equal parameters"
SCORES = {"path_norm": "path norm", "data_path_norm": "data path norm", "weight": "weight"}
""":func:`glai.prune`'s scores, and their names in the rows."""
PRUNED_BY = {
    GLAI_MODEL: ("path_norm", "data_path_norm"),
    MLP_MODEL: ("weight", "path_norm", "data_path_norm"),
}
"""The scores each trained model is pruned by (the MLP by weight magnitude too)."""
SCRATCH = {
    GLAI_MODEL: "MLP from scratch, GLAI's pruned width",
    MLP_MODEL: "MLP from scratch, the MLP's pruned width",
}
"""The controls: an MLP of each pruned model's width, trained from scratch."""


def row_name(model: str, by: str, retrained: bool) -> str:
    """The label of ``model`` pruned by ``by``, retrained or not."""
    return f"{model} by {SCORES[by]}" + (", retrained" if retrained else "")


TOLERANCE = 0.005
"""How far below the unpruned GLAI a retrained GLAI may end (0.5 points of accuracy,
0.005 of R²)."""
HALF = 0.5

NOTE = (
    "GLAI and the equal-parameter MLP are trained by `glai.fit` with its defaults, then "
    "pruned per layer at each share of their hidden units (`glai.prune`): GLAI by its "
    "data-free and its data-aware path norm (on training inputs), the MLP by the same and "
    "by weight magnitude (the L1 norm of each unit's weights). Each pruned model is scored, "
    "then retrained by `glai.fit` with the same settings (a pruned GLAI is frozen: its paths "
    "alone train; the pruned MLP trains whole) and scored again. The controls are MLPs of "
    "each pruned width trained from scratch with the same settings. Seconds: retraining "
    "(pruning included) or training from scratch; inference: milliseconds per 1,000 test "
    f"inputs. Targets at {HALF:.0%} removed: GLAI retrained within {TOLERANCE} of the "
    "unpruned GLAI, and at least as accurate as the MLP of its pruned width trained from "
    "scratch, in no more time."
)


def half_targets(summary: dict) -> dict[str, dict] | None:
    """Per score GLAI is pruned by, at half the hidden units removed: the retrained
    metric, its gap to the unpruned GLAI, whether it is within :data:`TOLERANCE`, and
    whether it is at least as accurate as the MLP of its width trained from scratch in no
    more time; ``None`` when half is not among the shares."""
    scratch = _at(summary["rows"][SCRATCH[GLAI_MODEL]], HALF)
    if scratch is None:
        return None
    unpruned = summary["unpruned"][GLAI_MODEL]["test"]
    targets = {}
    for by in PRUNED_BY[GLAI_MODEL]:
        name = row_name(GLAI_MODEL, by, True)
        retrained = _at(summary["rows"][name], HALF)
        gap = retrained["test"] - unpruned
        as_accurate = retrained["test"] >= scratch["test"]
        no_slower = retrained["seconds"] <= scratch["seconds"]
        targets[name] = {
            "by": SCORES[by],
            "test": retrained["test"],
            "gap": gap,
            "within_tolerance": gap >= -TOLERANCE,
            "seconds": retrained["seconds"],
            "scratch_test": scratch["test"],
            "scratch_seconds": scratch["seconds"],
            "as_accurate": as_accurate,
            "no_slower": no_slower,
            "beats_scratch": as_accurate and no_slower,
        }
    return targets


def _at(points: Sequence[dict], fraction: float) -> dict | None:
    return next((p for p in points if p["fraction"] == fraction), None)


def markdown(summaries: Sequence[dict]) -> str:
    """The note, the targets over tasks, then one section per task."""
    return "\n\n".join([NOTE, targets_table(summaries), *map(task_section, summaries)])


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def targets_table(summaries: Sequence[dict]) -> str:
    """One row per task and score: the unpruned GLAI, GLAI retrained at half, the gap,
    the MLP from scratch at its width, their seconds, and the two verdicts."""
    lines = [
        "| task | metric | GLAI | pruned by | retrained at 50% | gap | within "
        f"{TOLERANCE} | MLP from scratch | seconds: retraining / scratch "
        "| as accurate in no more time |",
        "|---|---|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for summary in summaries:
        for target in (summary["targets"] or {}).values():
            lines.append(
                f"| {summary['task']} | {summary['metric']} "
                f"| {summary['unpruned'][GLAI_MODEL]['test']:.4f} | {target['by']} "
                f"| {target['test']:.4f} | {target['gap']:+.4f} "
                f"| {_yes(target['within_tolerance'])} | {target['scratch_test']:.4f} "
                f"| {target['seconds']:.2f} / {target['scratch_seconds']:.2f} "
                f"| {_yes(target['beats_scratch'])} |"
            )
    return "\n".join(lines)


def _pivot(summary: dict, rows: dict[str, str], cell: Callable[[dict], str], header: str) -> str:
    """A table of ``rows`` (label: the row of ``summary`` it shows) against the shares
    removed."""
    fractions = [p["fraction"] for p in next(iter(summary["rows"].values()))]
    lines = [
        f"| {header} | " + " | ".join(f"{f:.0%} removed" for f in fractions) + " |",
        "|---|" + "---:|" * len(fractions),
    ]
    for label, name in rows.items():
        cells = [cell(p) for p in summary["rows"][name]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def task_section(summary: dict) -> str:
    """One task: metric, sizes and inference, seconds, adaptive rows, targets, plot."""
    rows = {name: name for name in summary["rows"]}
    glai, mlp = summary["unpruned"][GLAI_MODEL], summary["unpruned"][MLP_MODEL]
    sized = {
        f"{model}, pruned": row_name(model, scores[0], False) for model, scores in PRUNED_BY.items()
    }
    sized.update({name: name for name in SCRATCH.values()})
    timed = {
        name: name for name in rows if name.endswith(", retrained") or name in SCRATCH.values()
    }
    parts = [
        f"### {summary['task']}\n\n{summary['problem']}, {summary['train_size']:,} training "
        f"samples, test metric {summary['metric']}. Unpruned: GLAI of width "
        f"{summary['widths']['glai']} {glai['test']:.4f} ({glai['parameters']:,} parameters, "
        f"trained in {glai['seconds']:.2f} s), the MLP of width "
        f"{summary['widths']['equal_parameters']} {mlp['test']:.4f} "
        f"({mlp['parameters']:,} parameters, {mlp['seconds']:.2f} s).",
        _pivot(summary, rows, lambda p: f"{p['test']:.4f}", f"test {summary['metric']}"),
        _pivot(
            summary,
            sized,
            lambda p: (
                f"{'+'.join(map(str, p['hidden']))} ({p['parameters']:,}); "
                f"{p['inference_ms']:.2f} ms"
            ),
            "hidden units (parameters); inference per 1,000",
        ),
        _pivot(summary, timed, lambda p: f"{p['seconds']:.2f}", "seconds"),
    ]
    if summary["adaptive"]:
        lines = [
            "| adaptive pruning | removed | parameters | test | inference ms | seconds |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, p in summary["adaptive"].items():
            lines.append(
                f"| {name} | {p['fraction']:.0%} | {p['parameters']:,} | {p['test']:.4f} "
                f"| {p['inference_ms']:.2f} | {p['seconds']:.2f} |"
            )
        parts.append("\n".join(lines))
    parts += [
        *target_statements(summary),
        f"![test metric against parameters]({summary['figure']})",
    ]
    return "\n\n".join(parts)


def target_statements(summary: dict) -> list[str]:
    """The targets at half the hidden units removed, in words, one line per score."""
    statements = []
    for name, target in (summary["targets"] or {}).items():
        within = "within" if target["within_tolerance"] else "not within"
        accurate = "at least as accurate as" if target["as_accurate"] else "less accurate than"
        speed = "in no more time" if target["no_slower"] else "but slower"
        statements.append(
            f"- {name} at {HALF:.0%} removed: {target['test']:.4f}, {target['gap']:+.4f} from "
            f"the unpruned GLAI ({within} {TOLERANCE}); {accurate} the MLP of its width "
            f"trained from scratch ({target['scratch_test']:.4f}), {speed} "
            f"({target['seconds']:.3f} s of retraining against {target['scratch_seconds']:.3f} "
            "s of training)."
        )
    return ["\n".join(statements)] if statements else []
