"""PNG plots of training runs: accuracy against time, structural change, how a structure
settles, pruning.

Figures are built with :class:`matplotlib.figure.Figure` and written by its own canvas, so
drawing never touches pyplot or the user's matplotlib backend.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence

from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from glai.training.history import History
from glai.training.metrics import Metric


def plot_accuracy_against_time(
    runs: Mapping[str, Sequence[History]], path: str | os.PathLike, title: str = ""
) -> None:
    """Best validation metric so far against wall-clock seconds: one colour per model, one
    line per seed, so the time to any target is where a line first crosses it.

    The switch (a GLAI's structure frozen; for an MLP given a monitor, its second phase
    starting) is marked with a dot on the curve. The legend sits right of the axes.
    """
    figure = Figure(figsize=(10, 4.5))
    axes = figure.subplots()
    for index, (name, histories) in enumerate(runs.items()):
        colour = f"C{index}"
        for number, history in enumerate(histories):
            best = _best_so_far(history.column("val_metric"), history.direction)
            axes.step(
                history.column("seconds"),
                best,
                where="post",
                color=colour,
                alpha=0.8,
                linewidth=1.4,
                label=name if number == 0 else None,
            )
            if history.switch_epoch:  # 0: frozen before the first epoch, no point to mark
                switch = history[history.switch_epoch - 1]
                axes.plot(
                    switch.seconds,
                    best[history.switch_epoch - 1],
                    "o",
                    color=colour,
                    markersize=6,
                    markeredgecolor="black",
                )
    axes.set_xlabel("wall-clock seconds (everything included)")
    axes.set_ylabel(f"best validation {_metric_of(runs)} so far")
    axes.set_title(title)
    values = [v for hs in runs.values() for h in hs for v in h.column("val_metric")]
    if values:  # zoom on the upper part, where the models differ
        low = sorted(values)[len(values) // 5]
        axes.set_ylim(low, max(values) + 0.1 * (max(values) - low) + 1e-3)
    axes.grid(alpha=0.3)
    if any(h.switch_epoch is not None for hs in runs.values() for h in hs):
        label = "structure frozen (second phase)"
        axes.plot([], [], "o", color="white", markeredgecolor="black", label=label)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_structure_change(history: History, path: str | os.PathLike, title: str = "") -> None:
    """Pattern change and relative weight change per structural epoch, on a log scale."""
    structural = [r for r in history if r.pattern_change is not None]
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    epochs = [r.epoch for r in structural]
    axes.semilogy(
        epochs,
        [max(r.pattern_change, 1e-6) for r in structural],
        "o-",
        label="pattern change (fraction of mask bits flipped)",
    )
    axes.semilogy(
        epochs, [r.weight_change for r in structural], "s-", label="relative weight change"
    )
    if history.switch_epoch is not None:
        axes.axvline(
            history.switch_epoch,
            color="black",
            linestyle="--",
            linewidth=1,
            label="structure frozen",
        )
    axes.set_xlabel("epoch")
    axes.set_ylabel("change since previous epoch")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_pruning(
    fractions: Sequence[float],
    metrics: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "",
    ylabel: str = "test accuracy",
) -> None:
    """Metric against the fraction of hidden units removed by path norm."""
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for name, values in metrics.items():
        axes.plot([100 * f for f in fractions], values, "o-", label=name)
    axes.set_xlabel("hidden units removed (%)")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_settling(
    runs: Mapping[str, Mapping[str, Sequence[float | None]]],
    switches: Mapping[str, Mapping[str, int | None]],
    path: str | os.PathLike,
    title: str = "",
    levels: Sequence[float] = (0.9,),
) -> None:
    """Progress curves of recorded runs, one panel per run on one epoch axis.

    Args:
        runs: ``{run: {curve: progress per epoch from 0}}``, each curve normalised to 0 at
            initialisation and 1 at the run's end (a curve of ``None``: no change, not
            drawn); the last curve (the validation metric's) is drawn thick and black.
        switches: ``{run: {label: epoch}}``, drawn as vertical lines (``None``: not drawn).
        path: PNG to write.
        title: the figure's title.
        levels: shares of the total change drawn as dotted horizontal lines.
    """
    figure = Figure(figsize=(6 * len(runs), 4.5))
    panels = figure.subplots(1, len(runs), squeeze=False)[0]
    styles = ("--", ":", "-.", (0, (5, 1)))
    for axes, (run, progress_curves) in zip(panels, runs.items()):
        last = len(progress_curves) - 1
        for index, (name, progress) in enumerate(progress_curves.items()):
            if progress and progress[0] is not None:
                axes.plot(
                    range(len(progress)),
                    progress,
                    "o-",
                    markersize=3,
                    color="black" if index == last else f"C{index}",
                    linewidth=2.5 if index == last else 1.4,
                    label=name,
                )
        for number, (label, epoch) in enumerate(switches.get(run, {}).items()):
            if epoch is not None:
                axes.axvline(
                    epoch,
                    color=("firebrick", "darkorange", "teal")[number % 3],
                    linestyle=styles[number % len(styles)],
                    linewidth=1,
                    label=f"{label} (epoch {epoch})",
                )
        for level in levels:
            axes.axhline(level, color="grey", linestyle=":", linewidth=0.8)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.set_ylabel("share of the total change")
        axes.set_title(run, fontsize=9)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, loc="lower right")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_metric_against_parameters(
    series: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    path: str | os.PathLike,
    title: str = "",
    ylabel: str = "test accuracy",
    dashed: Collection[str] = (),
) -> None:
    """Test metric against parameters, one line per model (points in the order given, a
    single point for a model of one size); parameters on a log scale. The series named in
    ``dashed`` are drawn dashed; the legend sits right of the axes."""
    figure = Figure(figsize=(10, 4.5))
    axes = figure.subplots()
    markers, colours = "os^vD<>ph*", colormaps["tab20"]
    for index, (name, (parameters, metrics)) in enumerate(series.items()):
        line = "--" if name in dashed else "-"
        axes.plot(
            parameters,
            metrics,
            marker=markers[index % len(markers)],
            linestyle=line if len(parameters) > 1 else "none",
            color=colours(index % colours.N),
            label=name,
        )
    axes.set_xscale("log")
    axes.set_xlabel("parameters")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _best_so_far(values: Sequence[float], metric: Metric) -> list[float]:
    best, result = None, []
    for value in values:
        if metric.better(value, best):
            best = value
        result.append(best)
    return result


def _metric_of(runs: Mapping[str, Sequence[History]]) -> str:
    for histories in runs.values():
        for history in histories:
            return history.metric
    return "metric"


def plot_speedups(
    speedups: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float]]]],
    path: str | os.PathLike,
    reference: str = "MLP, equal parameters",
) -> None:
    """Speedups to the reference's best validation metric (MVA) and to 99% of it.

    Args:
        speedups: ``{setting: {model: {"speedup": ratio, "speedup_99": ratio}}}`` where a
            ratio is ``{"mean", "low", "high", "reached", "seeds"}``; a model that missed the
            target in some seed gets no bar, only the count of seeds that reached it.
        path: PNG to write.
        reference: the model every speedup is measured against (left out of the bars).
    """
    settings = list(speedups)
    models = [m for m in dict.fromkeys(m for s in speedups.values() for m in s) if m != reference]
    figure = Figure(figsize=(11, 4.5))
    panels = figure.subplots(1, 2, sharey=True)
    width = 0.8 / max(1, len(models))
    labelled: set[str] = set()  # each model named once, at its first bar
    for axes, key, title in (
        (panels[0], "speedup", "to the MVA"),
        (panels[1], "speedup_99", "to 99% of the MVA"),
    ):
        for index, model in enumerate(models):
            for position, setting in enumerate(settings):
                if model not in speedups[setting]:
                    continue
                ratio = speedups[setting][model][key]
                x = position + (index - (len(models) - 1) / 2) * width
                if ratio["reached"] < ratio["seeds"]:
                    axes.annotate(
                        f"{ratio['reached']}/{ratio['seeds']}",
                        (x, 0.03),
                        ha="center",
                        fontsize=7,
                        rotation=90,
                    )
                    continue
                error = [[ratio["mean"] - ratio["low"]], [ratio["high"] - ratio["mean"]]]
                axes.bar(
                    x,
                    ratio["mean"],
                    width,
                    color=f"C{index}",
                    yerr=error,
                    capsize=3,
                    label=None if model in labelled else model,
                    alpha=0.85,
                )
                labelled.add(model)
        axes.axhline(1.0, color="black", linewidth=1, linestyle="--")
        axes.set_xticks(range(len(settings)), settings)
        axes.set_xlim(-0.5, len(settings) - 0.5)  # annotations do not widen the limits
        axes.set_title(f"speedup {title} of the {reference}", fontsize=9)
        axes.grid(alpha=0.3, axis="y")
    panels[0].set_ylabel("speedup (geometric mean, 95% interval)")
    handles = {}
    for axes in panels:
        bars, labels = axes.get_legend_handles_labels()
        handles.update(zip(labels, bars))
    ordered = [m for m in models if m in handles]
    panels[1].legend([handles[m] for m in ordered], ordered, fontsize=7, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
