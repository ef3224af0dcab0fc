"""``glai bench structure``: when a ReLU network's structure settles, against when its
validation metric does, and what switching at either end costs.

On each task (:mod:`glai_bench.study_tasks`) two ReLU networks are trained to convergence
(Adam at the structural rate, constant, until early stopping) while a
:class:`~glai_bench.structure_curves.StructureRecorder` records every epoch without
switching: the equal-parameter MLP, and GLAI's structure (the MLP of GLAI's width, which
is what GLAI trains before its switch). Their curves say when the structure settles by
each measure, and where the default switch rule would have fired. GLAI is then trained
with its defaults, and at the two ends of the switch: gates from the untrained network
(``StructureMonitor.after(0)``, the GaLU control) and gates from the fully trained one
(``GLAI.from_mlp`` of the recorded structure, then its paths trained: FLNPF).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.modes import evaluating
from glai.nn.monitor import StructureMonitor
from glai.nn.path_distance import path_distance
from glai.nn.patterns import activation_patterns
from glai.training.config import FitConfig, auto_batch_size
from glai.training.objective import Objective
from glai.training.trainer import fit
from glai_bench.panel_tasks import PANEL_FULL, PANEL_QUICK, LoadContext, PanelBudget
from glai_bench.plots import plot_settling
from glai_bench.protocol import environment, write_report
from glai_bench.settings import FULL, QUICK, Budget
from glai_bench.stats import median_seconds
from glai_bench.structure_curves import (
    DEFAULT_RULE,
    PATH_RULE,
    Recording,
    StructureRecorder,
    curves,
    distances_to_final,
    leads,
    reach_table,
    replay,
    switch_verdict,
)
from glai_bench.structure_report import markdown
from glai_bench.study_tasks import (
    FEED_FORWARD,
    StudyTask,
    feed_forward_task,
    head_task,
    projection_task,
    warm_up_on,
)
from glai_bench.transformer import FULL_PLAN, QUICK_PLAN, TransformerPlan

EQUAL_PARAMETERS = "MLP, equal parameters"
STRUCTURE = "GLAI's structure (MLP of GLAI's width)"
RECORDED = (EQUAL_PARAMETERS, STRUCTURE)
"""The runs recorded to convergence."""

AT_INITIALISATION = "GLAI, switch at initialisation (GaLU)"
GLAI_DEFAULTS = "GLAI, default rule"
AT_CONVERGENCE = "GLAI, switch at convergence (FLNPF)"
ENDS = (AT_INITIALISATION, GLAI_DEFAULTS, AT_CONVERGENCE)
"""GLAI switched at the two ends, and by its default rule."""


@dataclass(frozen=True)
class StructureBudget:
    """What a run of the study covers.

    Attributes:
        panel: how the panel's tasks are loaded (sizes; the first split of each is used).
        tasks: the panel's tasks studied as heads.
        projection: the ``ssl`` setting's budget for the projection head.
        transformer: the ``transformer`` setting's plan for the encoder.
        overrides: :func:`glai.fit` settings of every run (the library's defaults if
            empty: at most 100 epochs, early stopping after 10).
        transformer_epochs: the encoder's epoch budget.
        probe_size: training inputs on which patterns are compared.
        timing_repeats: calls timed for the path distance's cost (median).
    """

    panel: PanelBudget
    tasks: tuple[str, ...]
    projection: Budget
    transformer: TransformerPlan
    overrides: dict = field(default_factory=dict)
    transformer_epochs: int = 40
    probe_size: int = 1024
    timing_repeats: int = 20


STRUCTURE_TASKS = (
    "iris",
    "diabetes",
    "breast cancer",
    "digits",
    "ames",
    "reviews",
    "tweets",
    "fashion EfficientNet-Lite0",
    "wages",
)
"""The panel's tasks of the study: from 120 to 22,524 training samples, 4 to 1,280
features, classification (binary and multiclass) and regression."""

STRUCTURE_FULL = StructureBudget(
    dataclasses.replace(PANEL_FULL, split_limit=1),
    STRUCTURE_TASKS,
    dataclasses.replace(FULL, train_limit=20_000),  # the panel's cached image features
    FULL_PLAN,
)
QUICK_TASKS = tuple(name for name in STRUCTURE_TASKS if name not in ("reviews", "tweets"))
"""The quick study's panel tasks: those whose features need no sentence encoder loaded."""
STRUCTURE_QUICK = StructureBudget(
    dataclasses.replace(PANEL_QUICK, split_limit=1),
    QUICK_TASKS,
    dataclasses.replace(QUICK, ssl_images=120, mlp_hidden=32),
    QUICK_PLAN,
    overrides={"epochs": 4},
    transformer_epochs=4,
    probe_size=64,
    timing_repeats=3,
)


def study_tasks(
    budget: StructureBudget, cache: Path, root: str | os.PathLike | None, progress: bool
) -> Iterator[StudyTask]:
    """The study's tasks, loaded one at a time: the panel's heads, the projection head,
    the Transformer."""
    context = LoadContext(budget.panel, cache, root, progress)
    for name in budget.tasks:
        yield head_task(name, context)
    yield projection_task(budget.projection, cache, root, progress)
    yield feed_forward_task(budget.transformer)


def run_options(task: StudyTask, budget: StructureBudget) -> dict[str, Any]:
    """The :func:`glai.fit` arguments of every run on ``task``."""
    options = {**task.fit_options, **budget.overrides}
    if task.family == FEED_FORWARD:
        options["epochs"] = budget.transformer_epochs
    return options


@torch.no_grad()
def validation_metric(model: nn.Module, task: StudyTask, options: dict[str, Any]) -> float:
    """``model``'s validation metric as :func:`glai.fit` measures it (in batches of 4,096,
    in eval mode, every submodule's mode restored)."""
    objective = Objective.of(
        options.get("loss", "cross_entropy"), options.get("metric"), model.out_features
    )
    x, y = task.val
    with evaluating(model):
        output = torch.cat([model(part) for part in x.split(4096)])
    loss = float(objective.loss(output, y))
    function = objective.metric.function
    return loss if function is None else float(function(output, y))


@dataclass
class Trained:
    """One network trained on a task: its test metric, fit seconds, epochs and switch."""

    model: nn.Module = field(repr=False)
    test: float
    seconds: float
    epochs: int
    switch_epoch: int | None = None

    def row(self) -> dict:
        """The report's row: test metric, seconds, epochs, switch epoch."""
        return {
            "test": self.test,
            "seconds": self.seconds,
            "epochs": self.epochs,
            "switch_epoch": self.switch_epoch,
        }


def record(
    task: StudyTask, width: int, options: dict[str, Any], probe: torch.Tensor
) -> tuple[Trained, Recording, nn.Module]:
    """Train the MLP of ``width`` to convergence at the structural rate, constant,
    recording every epoch.

    Returns:
        The trained network, its recording, and a copy of it untrained.
    """
    torch.manual_seed(task.seed)
    model = task.build_mlp(width)
    untrained = copy.deepcopy(model)
    batch = options.get("batch_size") or auto_batch_size(task.train_size)
    recorder = StructureRecorder(probe, math.ceil(task.train_size / batch))
    initial = validation_metric(model, task, options)
    history = fit(
        model,
        task.train,
        task.val,
        seed=task.seed,
        schedule="constant",
        callbacks=[recorder],
        **options,
    )
    recording = Recording(history, recorder.monitor.checks_, recorder.patterns, initial)
    trained = Trained(model, task.scored(model), history[-1].seconds, len(history))
    return trained, recording, untrained


def train_glai(
    task: StudyTask, options: dict[str, Any], model: nn.Module | None = None, **extra: Any
) -> Trained:
    """GLAI trained by :func:`glai.fit` with ``options`` (and ``extra``): a new one of the
    task, or ``model``."""
    if model is None:
        torch.manual_seed(task.seed)
        model = task.build_glai()
    history = fit(model, task.train, task.val, seed=task.seed, **options, **extra)
    return Trained(
        model, task.scored(model), history[-1].seconds, len(history), history.switch_epoch
    )


def with_frozen_gates(trained: nn.Module) -> nn.Module:
    """A copy of ``trained`` whose every :class:`glai.MLP` block (the network itself, or
    a Transformer's feed-forward blocks) is a GLAI switched from it
    (:meth:`glai.GLAI.from_mlp`): gates of the trained network, paths starting from its
    weights, everything else as trained; in train mode, as a new network is."""
    if isinstance(trained, MLP):
        return GLAI.from_mlp(trained).train()
    model = copy.deepcopy(trained)
    blocks = [(name, module) for name, module in model.named_modules() if isinstance(module, MLP)]
    for name, block in blocks:
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, GLAI.from_mlp(block))
    return model.train()


def path_distance_cost(
    untrained: nn.Module, trained: nn.Module, probe: torch.Tensor, repeats: int
) -> dict[str, float]:
    """Median seconds, side by side in this process, of the trained network's
    :func:`glai.activation_patterns` on ``probe``, of :func:`glai.path_distance` between
    the two networks on it (two sets of patterns and the closed form), and of the closed
    form alone on given patterns; and the distance's cost relative to the patterns'."""
    patterns = activation_patterns(trained, probe), activation_patterns(untrained, probe)
    seconds = {
        "patterns_seconds": median_seconds(lambda: activation_patterns(trained, probe), repeats),
        "distance_seconds": median_seconds(
            lambda: path_distance(untrained, trained, probe), repeats
        ),
        "closed_form_seconds": median_seconds(lambda: path_distance(*patterns), repeats),
    }
    return {**seconds, "ratio": seconds["distance_seconds"] / seconds["patterns_seconds"]}


def recorded_summary(
    trained: Trained, recording: Recording, rules: dict[str, Any]
) -> dict[str, Any]:
    """A recorded run's curves, when each reaches each level, the leads of the structure
    over the validation metric, where each rule would have fired and the verdict."""
    progress = curves(recording)
    reach = reach_table(progress)
    run = recording.converged
    firings = {name: replay(recording.checks, rule) for name, rule in rules.items()}
    return {
        **trained.row(),
        "converged_epoch": run,
        "steps_per_epoch": recording.checks[0].steps if recording.checks else None,
        "val_metric": [recording.initial_metric, *recording.history.column("val_metric")],
        "path_distance": [c.path_distance for c in recording.checks],
        "pattern_change": [c.pattern_change for c in recording.checks],
        "weight_change": [c.weight_change for c in recording.checks],
        "distance_to_final": distances_to_final(recording),
        "curves": progress,
        "reach": reach,
        "leads": leads(reach, run),
        "rules": {
            name: {**dataclasses.asdict(firing), "verdict": switch_verdict(reach, firing.epoch)}
            for name, firing in firings.items()
        },
    }


def study(task: StudyTask, budget: StructureBudget, out: Path) -> dict[str, Any]:
    """Every run of the study on ``task``; writes its figure into ``out``."""
    options = run_options(task, budget)
    probe = task.training_inputs(budget.probe_size)
    default = FitConfig().replace(**budget.overrides).switch
    rules = {DEFAULT_RULE: default, PATH_RULE: dataclasses.replace(default, measure="path")}
    widths = {EQUAL_PARAMETERS: task.equal_parameter_width, STRUCTURE: task.glai_width}
    runs, recorded, untrained = {}, {}, {}
    for name, width in widths.items():
        recorded[name], recording, untrained[name] = record(task, width, options, probe)
        runs[name] = recorded_summary(recorded[name], recording, rules)
    structure = recorded[STRUCTURE]
    cost = path_distance_cost(untrained[STRUCTURE], structure.model, probe, budget.timing_repeats)
    ends = {
        AT_INITIALISATION: train_glai(task, options, monitor=StructureMonitor.after(0)),
        GLAI_DEFAULTS: train_glai(task, options),
    }
    paths = train_glai(task, options, model=with_frozen_gates(structure.model))
    ends[AT_CONVERGENCE] = dataclasses.replace(
        paths,
        seconds=structure.seconds + paths.seconds,
        epochs=structure.epochs + paths.epochs,
        switch_epoch=runs[STRUCTURE]["converged_epoch"],  # the epoch the gates come from
    )
    switched = ends[GLAI_DEFAULTS].switch_epoch
    glai_verdict = switch_verdict(runs[STRUCTURE]["reach"], switched)
    figure = f"structure-{task.slug}.png"
    switches = {
        name: {
            **{rule: runs[name]["rules"][rule]["epoch"] for rule in rules},
            **({"GLAI with defaults switched": switched} if name == STRUCTURE else {}),
        }
        for name in RECORDED
    }
    plot_settling(
        {name: runs[name]["curves"] for name in RECORDED}, switches, out / figure, task.name
    )
    return {
        "task": task.name,
        "family": task.family,
        "problem": task.problem,
        "train_size": task.train_size,
        "metric": task.metric,
        "widths": {"glai": task.glai_width, "equal_parameters": task.equal_parameter_width},
        "probe_size": len(probe),
        "runs": runs,
        "ends": {
            **{name: recorded[name].row() for name in RECORDED},
            **{name: ends[name].row() for name in ENDS},
        },
        "glai_switch": {"epoch": switched, "verdict": glai_verdict, "run": STRUCTURE},
        "path_distance_cost": cost,
        "figure": figure,
    }


def run_structure(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """Run the study (:data:`STRUCTURE_QUICK` for the quick budget, else
    :data:`STRUCTURE_FULL`); writes ``structure.json``, ``structure.md`` and one figure
    per task into ``out``, rewritten after every task."""
    plan = STRUCTURE_QUICK if budget is QUICK else STRUCTURE_FULL
    out.mkdir(parents=True, exist_ok=True)
    summaries: list[dict] = []
    result: dict = {}
    tasks = study_tasks(plan, cache, root, progress)
    for index, task in enumerate(tqdm(tasks, disable=not progress, desc="structure")):
        if index == 0:
            warm_up_on(task, run_options(task, plan))
        summaries.append(study(task, plan, out))
        result = {
            "setting": "structure",
            "environment": environment(),
            "budget": {
                "overrides": plan.overrides,
                "transformer_epochs": plan.transformer_epochs,
                "probe_size": plan.probe_size,
            },
            "tasks": summaries,
        }
        result["table"] = markdown(summaries)
        write_report(out, "structure", result, result["table"])
    return result
