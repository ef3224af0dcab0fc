"""A readable description of a saved model: sizes, parameters, switch, path norms."""

from __future__ import annotations

import os

import torch

from glai.io.models import load, read_info
from glai.nn.parameters import count_parameters
from glai.nn.path_norms import path_norms
from glai.training.history import History


def describe_model_file(path: str | os.PathLike) -> dict:
    """Facts about the model in ``path`` as a JSON-ready dict.

    Keys: ``kind``, ``in_features``, ``hidden_features``, ``out_features``, ``parameters``,
    ``trainable_parameters``, ``frozen``, ``estimator``, ``standardized`` (whether its
    inputs are scaled) and ``feature_names`` (if saved by
    :func:`glai.sklearn.save_estimator`), ``epochs``, ``switch_epoch``,
    ``best_epoch``, ``best_metric``, ``metric``, ``phases`` (per phase that ran: its
    epochs, solver, plan and the reason for each choice, see :meth:`glai.History.phases`),
    ``removals`` (what adaptive pruning removed during training, see
    :class:`glai.training.history.UnitRemoval`), ``pruned`` (what ``glai prune`` removed,
    if it wrote the file) and ``path_norms``: per hidden layer the min, median and max
    (data-free) path norm and the share of units under 1% of the max.
    """
    model = load(path)
    info = read_info(path)["info"]
    history = info.get("history", {})
    records = history.get("records", [])
    best_epoch = history.get("best_epoch")
    run = History.from_dict(history) if records else None
    return {
        "kind": type(model).__name__,
        "in_features": model.in_features,
        "hidden_features": model.hidden_features,
        "out_features": model.out_features,
        "parameters": count_parameters(model),
        "trainable_parameters": count_parameters(model, trainable_only=True),
        "frozen": bool(getattr(model, "frozen", False)),
        "estimator": info.get("estimator"),
        "standardized": "scaler" in info if "estimator" in info else None,
        "feature_names": info.get("feature_names"),
        "epochs": len(records) or None,
        "switch_epoch": history.get("switch_epoch"),
        "best_epoch": best_epoch,
        "metric": history.get("metric"),
        "best_metric": run.best_metric if run else None,
        "phases": run.phases() if run else None,
        "removals": history.get("removals") or None,
        "pruned": info.get("pruned"),
        "path_norms": [_norm_summary(norms) for norms in path_norms(model)],
    }


def _norm_summary(norms: torch.Tensor) -> dict:
    top = float(norms.max())
    return {
        "min": float(norms.min()),
        "median": float(norms.median()),
        "max": top,
        "under_1_percent_of_max": float((norms < 0.01 * top).float().mean()) if top > 0 else 1.0,
    }


def format_description(description: dict) -> str:
    """The description as aligned ``key: value`` lines."""
    lines = []
    for key, value in description.items():
        if key == "path_norms":
            for layer, summary in enumerate(value):
                lines.append(
                    f"path norms, layer {layer}: min {summary['min']:.4g}, median "
                    f"{summary['median']:.4g}, max {summary['max']:.4g}, "
                    f"{100 * summary['under_1_percent_of_max']:.1f}% of units under 1% of max"
                )
        elif key == "phases" and value:
            for phase in value:
                lines.append(f"{phase['phase']} phase: {phase['epochs']} epochs, {phase['plan']}")
                lines += [f"  because {reason}" for reason in phase["reasons"]]
        elif key == "removals" and value is not None:
            for removal in value:
                lines.append(
                    f"adaptive pruning, epoch {removal['epoch']}: removed "
                    f"{[len(units) for units in removal['removed']]} units per layer, widths "
                    f"now {removal['hidden_features']}"
                )
        elif key == "pruned" and value is not None:
            lines.append(
                f"pruned: {100 * value['fraction']:g}% of the hidden units of "
                f"{value['hidden_features_before']} by {value['by']} "
                f"({'per layer' if value['scope'] == 'layer' else 'across layers'})"
            )
        elif key == "feature_names" and value is not None:
            lines.append(f"feature names: {', '.join(value)}")
        elif value is not None:
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            lines.append(f"{key.replace('_', ' ')}: {text}")
    return "\n".join(lines)
