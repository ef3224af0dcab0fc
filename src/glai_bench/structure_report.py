"""The structure study's report: a summary over tasks, then per task when each curve
settles, how much earlier the structure settles than the validation metric by each
measure, where the switch rules fire, and the two ends of the switch. Every sentence is
computed from the measurements."""

from __future__ import annotations

from collections.abc import Sequence

from glai_bench.structure_curves import (
    DEFAULT_RULE,
    LEVELS,
    SETTLED,
    STRUCTURE_MEASURES,
    VALIDATION,
)

NOTE = (
    "Two ReLU networks per task are trained to convergence (Adam at the structural rate, "
    "constant; the run ends by early stopping on the validation loss and keeps the best "
    "epoch's weights, epoch B) while every epoch is recorded and nothing switches: the "
    "equal-parameter MLP, and GLAI's structure (the MLP of GLAI's width). Each curve is "
    "normalised to its progress over epochs 0..B: the path distance to the final "
    "structure (1 - d(t, B) / d(0, B), on the probe), the share of the summed per-epoch "
    "path distance, pattern change (flipped mask bits) and relative weight change made by "
    "epoch t, and the validation metric ((v_t - v_0) / (v_B - v_0)). A curve reaches a "
    "level at the first epoch from which it stays at or above it. A rule's switch is "
    "*early* before the structure reaches 90% of its change by path distance to the final "
    "structure, *late* once the validation metric has reached 90% of its change, and *in "
    "the window* between the two. GaLU: GLAI frozen before the first epoch (gates of the "
    "untrained structure); FLNPF: gates from GLAI's structure trained to convergence (its "
    "recorded run, gates of epoch B), then the paths trained; its time includes that run's. "
    "The path distance's cost: `glai.path_distance` between the untrained and the trained "
    "structure on the probe (two sets of patterns and the closed form) against one "
    "`glai.activation_patterns` call on it, medians side by side in one process."
)


def markdown(summaries: Sequence[dict]) -> str:
    """The whole report: the note, the summary table, then one section per task."""
    parts = [NOTE, summary_table(summaries)]
    parts += [task_section(summary) for summary in summaries]
    return "\n\n".join(parts)


def _epoch_share(cell: dict) -> str:
    if cell["epoch"] is None:
        return "–"
    return f"{cell['epoch']} ({cell['share']:.0%})"


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def summary_table(summaries: Sequence[dict]) -> str:
    """One row per task: the structure run's convergence, when the structure (by path
    distance to the final structure) and the validation metric reach 95%, where the
    default rule would have fired and did fire, the verdict, and the ends' test metric
    and seconds."""
    lines = [
        "| task | family | problem | train | B | structure 95% | metric 95% "
        "| default rule would fire | GLAI switched | verdict "
        "| test: GaLU / default / FLNPF | seconds: GaLU / default / FLNPF "
        "| path distance / patterns cost |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for s in summaries:
        run = s["runs"][s["glai_switch"]["run"]]
        reach = run["reach"]
        rule = run["rules"][DEFAULT_RULE]
        ends = [s["ends"][name] for name in _end_names(s)]
        lines.append(
            f"| {s['task']} | {s['family']} | {s['problem']} | {s['train_size']:,} "
            f"| {run['converged_epoch']} | {_epoch_share(reach[SETTLED]['95%'])} "
            f"| {_epoch_share(reach[VALIDATION]['95%'])} "
            f"| {_switch(rule['epoch'], rule['reason'])} | {_switch(s['glai_switch']['epoch'])} "
            f"| {s['glai_switch']['verdict']} "
            f"| {' / '.join(_number(e['test']) for e in ends)} "
            f"| {' / '.join(_number(e['seconds'], 2) for e in ends)} "
            f"| {s['path_distance_cost']['ratio']:.2f} |"
        )
    return "\n".join(lines)


def _end_names(summary: dict) -> list[str]:
    """The three GLAI rows of ``summary['ends']``: they follow the recorded runs'."""
    return [name for name in summary["ends"] if name not in summary["runs"]]


def _switch(epoch: int | None, reason: str | None = None) -> str:
    if epoch is None:
        return "never"
    return f"{epoch} ({reason})" if reason else str(epoch)


def task_section(summary: dict) -> str:
    """One task: reach table, statements, rules, ends, cost, figure."""
    title = (
        f"### {summary['task']}\n\n{summary['family']}, {summary['problem']}, "
        f"{summary['train_size']:,} training samples, test metric {summary['metric']}; "
        f"GLAI width {summary['widths']['glai']}, equal-parameter MLP width "
        f"{summary['widths']['equal_parameters']}; probe of {summary['probe_size']} "
        "training inputs."
    )
    lines = []
    for name, run in summary["runs"].items():
        lines.append(
            f"- **{name}**, converged at epoch {run['converged_epoch']} of {run['epochs']} trained:"
        )
        lines += [f"  - {statement}" for statement in settling_statements(run)]
        lines += [f"  - {statement}" for statement in rule_statements(run)]
    glai = summary["glai_switch"]
    lines.append(
        f"- GLAI with its defaults switched after epoch {_switch(glai['epoch'])}: "
        f"{_verdict_text(glai['verdict'], summary['runs'][glai['run']]['reach'])} (on the "
        f"curves of {glai['run']})."
    )
    cost = summary["path_distance_cost"]
    lines.append(
        f"- Path distance between the untrained and the trained structure on the probe: "
        f"{1000 * cost['distance_seconds']:.2f} ms against "
        f"{1000 * cost['patterns_seconds']:.2f} ms for one set of activation patterns, "
        f"{cost['ratio']:.2f}x (target: at most 2x, "
        f"{'met' if cost['ratio'] <= 2 else 'not met'}); the closed form alone on given "
        f"patterns {1000 * cost['closed_form_seconds']:.2f} ms."
    )
    return "\n\n".join(
        [
            title,
            reach_markdown(summary["runs"]),
            "\n".join(lines),
            ends_markdown(summary),
            f"![how the structure settles]({summary['figure']})",
        ]
    )


def reach_markdown(runs: dict[str, dict]) -> str:
    """When each curve of each recorded run reaches each level: epoch (share of the run)."""
    levels = [f"{level:.0%}" for level in LEVELS]
    lines = [
        "| run | curve | " + " | ".join(levels) + " |",
        "|---|---|" + "---:|" * len(levels),
    ]
    for name, run in runs.items():
        for curve, cells in run["reach"].items():
            row = " | ".join(_epoch_share(cells[level]) for level in levels)
            lines.append(f"| {name} | {curve} | {row} |")
    return "\n".join(lines)


def settling_statements(run: dict) -> list[str]:
    """Per structure measure: how much earlier than the validation metric the structure
    reaches each level, or that it does not."""
    statements = []
    for measure in STRUCTURE_MEASURES:
        cells = run["leads"][measure]
        known = [cell["epochs"] for cell in cells.values() if cell["epochs"] is not None]
        if not known:
            statements.append(f"by {measure}: no verdict (a curve without change)")
            continue
        if all(lead > 0 for lead in known):
            verdict = "the structure settles earlier than the validation metric at every level"
        elif all(lead <= 0 for lead in known):
            verdict = "the structure does not settle earlier than the validation metric"
        else:
            verdict = "the structure settles earlier at some levels only"
        details = "; ".join(f"{level}: {_lead(cell)}" for level, cell in cells.items())
        statements.append(f"by {measure}, {verdict} ({details})")
    return statements


def _lead(cell: dict) -> str:
    epochs = cell["epochs"]
    if epochs is None:
        return "no change"
    if epochs == 0:
        return "the same epoch"
    word = "earlier" if epochs > 0 else "later"
    unit = "epoch" if abs(epochs) == 1 else "epochs"
    return f"{abs(epochs)} {unit} {word} ({abs(cell['share']):.0%} of the run)"


def rule_statements(run: dict) -> list[str]:
    """Where each replayed switch rule would have fired on the run, and the verdict."""
    statements = []
    for name, rule in run["rules"].items():
        if rule["epoch"] is None:
            statements.append(f"the {name} would not have fired within the run")
            continue
        statements.append(
            f"the {name} would have fired after epoch {rule['epoch']} ({rule['reason']}): "
            f"{_verdict_text(rule['verdict'], run['reach'])}"
        )
    return statements


def _verdict_text(verdict: str, reach: dict) -> str:
    key = f"{LEVELS[0]:.0%}"
    settled, validated = reach[SETTLED][key]["epoch"], reach[VALIDATION][key]["epoch"]
    where = (
        f"the structure reaches {key} of its change by {SETTLED} at epoch {settled}, the "
        f"validation metric at epoch {validated}"
    )
    texts = {
        "early": f"early, before the structure settles ({where})",
        "late": f"late, once the validation metric has settled ({where})",
        "in the window": f"in the window the curves leave ({where})",
        "never": "no switch within the run",
        "undefined": "no verdict (a curve without change)",
    }
    return texts[verdict]


def ends_markdown(summary: dict) -> str:
    """The recorded runs and the three GLAI switches: test metric, seconds, epochs,
    switch epoch."""
    lines = [
        f"| model | test {summary['metric']} | seconds | epochs | switch epoch |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in summary["ends"].items():
        lines.append(
            f"| {name} | {_number(row['test'])} | {row['seconds']:.2f} | {row['epochs']} "
            f"| {_switch(row['switch_epoch'])} |"
        )
    return "\n".join(lines)
