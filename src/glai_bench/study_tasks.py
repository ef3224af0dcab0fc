"""The tasks of the structure and pruning studies, each one train/validation/test split
with the networks it compares: heads on the panel's tasks (loaded and prepared as the
panel does), the ``ssl`` setting's projection head, and the ``transformer`` setting's
encoder, whose feed-forward blocks are the ReLU networks studied."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from glai.nn.block import GLAI
from glai.nn.losses import nt_xent
from glai.nn.mlp import MLP
from glai.nn.modes import evaluating
from glai.nn.parameters import matched_width
from glai.nn.transformer import GLAITransformerEncoderLayer, MLPTransformerEncoderLayer
from glai_bench.comparison import Candidate, accuracy, warm_up
from glai_bench.panel import splits
from glai_bench.panel_data import CLASSIFICATION
from glai_bench.panel_models import (
    DEFAULT_WIDTH,
    equal_parameter_width,
    scored_on_test,
    torch_split,
)
from glai_bench.panel_tasks import TASKS, LoadContext, load_task
from glai_bench.sequences import word_splits
from glai_bench.settings import Budget, projection_data
from glai_bench.transformer import TransformerPlan, WordClassifier

HEAD, PROJECTION, FEED_FORWARD = "head", "projection head", "Transformer feed-forward"
"""Where the studied ReLU network sits: a head on features, a self-supervised projection
head, or the feed-forward blocks of a Transformer encoder."""

SELF_SUPERVISED = "self-supervised"

Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass
class StudyTask:
    """One split of one task, and the networks to train on it.

    Attributes:
        name: the task's label in every table.
        family: :data:`HEAD`, :data:`PROJECTION` or :data:`FEED_FORWARD`.
        problem: ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"self-supervised"``.
        train: (x, y) the networks train on.
        val: (x, y) that selects their epochs.
        test_inputs: test inputs (what inference is timed on).
        metric: the name of the test metric (higher is better).
        fit_options: :func:`glai.fit` arguments every run of the task takes (loss,
            metric, batch size, ...).
        glai_width: GLAI's hidden width.
        equal_parameter_width: the width of the MLP with GLAI's parameters.
        build_mlp: a new ReLU network whose studied block has the given hidden width(s).
        build_glai: a new network whose studied block is GLAI of ``glai_width``.
        score: the test metric of a trained network (which it may leave in eval mode;
            :meth:`scored` does not).
        seed: the seed of the split; every network is built after seeding torch with it.
    """

    name: str
    family: str
    problem: str
    train: Pair
    val: Pair
    test_inputs: torch.Tensor = field(repr=False)
    metric: str
    fit_options: dict[str, Any]
    glai_width: int
    equal_parameter_width: int
    build_mlp: Callable[[int | list[int]], nn.Module] = field(repr=False)
    build_glai: Callable[[], nn.Module] = field(repr=False)
    score: Callable[[nn.Module], float] = field(repr=False)
    seed: int = 0

    @property
    def train_size(self) -> int:
        return len(self.train[0])

    @property
    def slug(self) -> str:
        """The name in a form fit for file names: ``"fashion-efficientnet-lite0"``."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def scored(self, model: nn.Module) -> float:
        """The test metric of ``model``, every submodule left in the mode it was in."""
        with evaluating(model):
            return self.score(model)

    def training_inputs(self, count: int) -> torch.Tensor:
        """``count`` training inputs (all if fewer), drawn at random with the task's seed."""
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(self.train_size, generator=generator)
        return self.train[0][order[:count]]


def head_task(name: str, context: LoadContext) -> StudyTask:
    """The panel's task ``name`` (its registry entry, loaded under ``context``'s budget),
    on its first split, prepared and held out for validation as the panel's torch models
    are (:func:`glai_bench.panel_models.torch_split`)."""
    specs = {spec.name: spec for spec in TASKS}
    if name not in specs:
        raise ValueError(f"unknown panel task {name!r}; the panel has {', '.join(specs)}")
    spec = specs[name]
    task = load_task(spec, context)
    split = next(splits(task, context.budget))
    data = torch_split(split)
    features, outputs = data.x_test.shape[1], split.outputs

    def score(model: nn.Module) -> float:
        return scored_on_test(split, data, model)[0]

    return StudyTask(
        name=name,
        family=HEAD,
        problem=spec.problem,
        train=data.fit,
        val=data.val,
        test_inputs=data.x_test,
        metric="accuracy" if split.kind == CLASSIFICATION else "R²",
        fit_options={"loss": data.loss},
        glai_width=DEFAULT_WIDTH,
        equal_parameter_width=equal_parameter_width(features, DEFAULT_WIDTH, outputs),
        build_mlp=lambda width: MLP(features, width, outputs),
        build_glai=lambda: GLAI(features, DEFAULT_WIDTH, outputs),
        score=score,
        seed=split.seed,
    )


PROJECTION_OUTPUTS = 128
"""The projection head's output size, as in the ``ssl`` setting."""


def projection_task(
    budget: Budget, cache: Path, root: str | os.PathLike | None, progress: bool
) -> StudyTask:
    """The ``ssl`` setting's projection head under ``budget``: its equal-parameter MLP of
    ``budget.mlp_hidden`` units, GLAI of the matched width, trained with NT-Xent on two
    augmented views per image and scored by the kNN accuracy of the clean test images'
    projections (:func:`glai_bench.settings.projection_data`)."""
    data = projection_data(budget, cache, root, progress)
    features = data.splits.train[0].shape[-1]
    width = matched_width(features, budget.mlp_hidden, PROJECTION_OUTPUTS)
    return StudyTask(
        name="SimCLR projection head",
        family=PROJECTION,
        problem=SELF_SUPERVISED,
        train=data.splits.train,
        val=data.splits.val,
        test_inputs=data.splits.test[0],
        metric="kNN accuracy",
        fit_options={"loss": nt_xent, "metric": "loss", "batch_size": 256},
        glai_width=width,
        equal_parameter_width=budget.mlp_hidden,
        build_mlp=lambda hidden: MLP(features, hidden, PROJECTION_OUTPUTS),
        build_glai=lambda: GLAI(features, width, PROJECTION_OUTPUTS),
        score=data.knn_accuracy,
    )


def feed_forward_task(plan: TransformerPlan) -> StudyTask:
    """The ``transformer`` setting's word classifier under ``plan``: the encoder with
    ReLU MLP feed-forward blocks of any width, and with GLAI blocks of the plan's width;
    the batch size, rate and early stopping of the setting."""
    data = word_splits(plan.words_per_language, plan.length)
    sizes = (len(data.vocabulary), data.classes, data.length, plan.d_model, plan.nhead)
    rest = (plan.layers, plan.dropout)

    def build_mlp(width: int) -> WordClassifier:
        return WordClassifier(MLPTransformerEncoderLayer, *sizes, width, *rest)

    return StudyTask(
        name="words, Transformer",
        family=FEED_FORWARD,
        problem="multiclass",
        train=data.train,
        val=data.val,
        test_inputs=data.test[0],
        metric="accuracy",
        fit_options={
            "batch_size": plan.batch_size,
            "structural_lr": plan.lr,
            "early_stopping": plan.early_stopping,
        },
        glai_width=plan.dim_feedforward,
        equal_parameter_width=equal_parameter_width(
            plan.d_model, plan.dim_feedforward, plan.d_model
        ),
        build_mlp=build_mlp,
        build_glai=lambda: WordClassifier(
            GLAITransformerEncoderLayer, *sizes, plan.dim_feedforward, *rest
        ),
        score=lambda model: accuracy(model, data.test),
        seed=plan.seeds[0],
    )


def warm_up_on(task: StudyTask, options: dict[str, Any]) -> None:
    """Train the MLP and GLAI of ``task`` once, untimed, for an epoch on its first
    samples, so that the first timed run pays no one-time costs."""
    width = task.glai_width
    candidates = [
        Candidate("MLP", lambda: task.build_mlp(width), options),
        Candidate("GLAI", task.build_glai, options),
    ]
    warm_up(candidates, task.train, task.val)
