"""The panel's task list, and how much of each task a run uses.

Each task is registered once, with what the split into halves reads
(:mod:`glai_bench.panel_halves`): its name, input family, problem and training size in
the full panel. Loading happens only for the tasks a run asks for.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glai_bench import panel_data, panel_embeddings, panel_tabular
from glai_bench.panel_data import CLASSIFICATION, REGRESSION, PanelTask

NUMBERS, CATEGORIES, PIXELS, EMBEDDINGS = "numbers", "categories", "pixels", "embeddings"
"""Input families: numeric tables, tables with categorical columns, raw pixels, and
embeddings from a frozen pretrained backbone (texts or images)."""

BINARY, MULTICLASS = "binary", "multiclass"
"""Problems (with :data:`~glai_bench.panel_data.REGRESSION`); binary tasks are scored by
ROC AUC as well as accuracy."""

SMALL_SIZE = 5_000
"""``panel-small`` runs the tasks of up to this many training samples."""


@dataclass(frozen=True)
class PanelBudget:
    """How much of each task a run uses, and which tasks.

    A ``size_limit`` also limits the texts and images embedded; a task so limited may be
    cross-validated where the full one has a fixed test split.
    """

    size_limit: int | None  # at most this many training (and test) samples per task
    folds: int
    seeds: tuple[int, ...]
    episodes: int
    fashion_subset: int
    fashion_full: int | None  # None: all 60,000 training images
    fashion_test: int
    feature_train: int
    feature_test: int
    overrides: dict = field(default_factory=dict)  # fit settings (quick: fewer epochs)
    small_only: bool = False  # only the tasks of up to SMALL_SIZE training samples
    half: str = "both"  # "choosing", "checking" or "both" (glai_bench.panel_halves)
    split_limit: int | None = None  # at most this many splits (folds, seeds) per task


PANEL_FULL = PanelBudget(None, 5, (0, 1, 2), 20, 5_000, None, 10_000, 20_000, 10_000)
PANEL_SMALL = dataclasses.replace(PANEL_FULL, small_only=True)
PANEL_STUDY = dataclasses.replace(PANEL_FULL, seeds=(0,), folds=3, split_limit=1)
"""The defaults' studies (every alternative of every constant): one split per task (the
first fold or seed), so that the nine alternatives of the four studies train in about 10
minutes per half on 2 CPU cores; a small task's single fold is a noisy judge, which the
studies' reports say."""
PANEL_QUICK = PanelBudget(
    120,
    2,
    (0,),
    1,
    300,
    600,
    120,
    2_500,
    1_000,
    {"epochs": 2, "max_structural_epochs": 1, "min_structural_steps": 1},
    split_limit=1,
)


@dataclass(frozen=True)
class LoadContext:
    """What loading a task may need."""

    budget: PanelBudget
    cache: Path
    root: str | os.PathLike | None  # Fashion-MNIST directory
    progress: bool


@dataclass(frozen=True)
class TaskSpec:
    """One registered task.

    Attributes:
        name: its label in every table.
        family: input family (:data:`NUMBERS`, :data:`CATEGORIES`, :data:`PIXELS`,
            :data:`EMBEDDINGS`).
        problem: :data:`BINARY`, :data:`MULTICLASS` or ``"regression"``.
        size: training samples per fit in the full panel.
        load: builds the task (named ``name``) for a run.
    """

    name: str
    family: str
    problem: str
    size: int
    load: Callable[[str, LoadContext], PanelTask] = field(repr=False, compare=False)


def _sklearn(loader: str, kind: str) -> Callable[[str, LoadContext], PanelTask]:
    """One of scikit-learn's bundled sets, by the name of its loader."""

    def load(name: str, _: LoadContext) -> PanelTask:
        from sklearn import datasets

        return panel_data.sklearn_task(getattr(datasets, loader), name, kind)

    return load


def _tabular(loader: Callable[[str], PanelTask]) -> Callable[[str, LoadContext], PanelTask]:
    return lambda name, _: loader(name)


def _embedded(loader: Callable) -> Callable[[str, LoadContext], PanelTask]:
    """A text or image embedding task, limited to the budget's size."""
    return lambda name, c: loader(name, c.budget.size_limit, c.cache, c.progress)


TASKS = (
    TaskSpec(
        "digits 5-way 5-shot",
        PIXELS,
        MULTICLASS,
        25,
        lambda name, c: panel_data.digits_episodes(name, c.budget.episodes),
    ),
    TaskSpec("iris", NUMBERS, MULTICLASS, 120, _sklearn("load_iris", CLASSIFICATION)),
    TaskSpec("wine", NUMBERS, MULTICLASS, 142, _sklearn("load_wine", CLASSIFICATION)),
    TaskSpec("diabetes", NUMBERS, REGRESSION, 353, _sklearn("load_diabetes", REGRESSION)),
    TaskSpec(
        "breast cancer",
        NUMBERS,
        BINARY,
        455,
        _sklearn("load_breast_cancer", CLASSIFICATION),
    ),
    TaskSpec("NACE sections", EMBEDDINGS, MULTICLASS, 777, _embedded(panel_embeddings.industries)),
    TaskSpec("attrition", CATEGORIES, BINARY, 1_176, _tabular(panel_tabular.attrition)),
    TaskSpec("digits", PIXELS, MULTICLASS, 1_437, _sklearn("load_digits", CLASSIFICATION)),
    TaskSpec(
        "digits EfficientNet-Lite0",
        EMBEDDINGS,
        MULTICLASS,
        1_437,
        _embedded(panel_embeddings.digits_features),
    ),
    TaskSpec("ames", CATEGORIES, REGRESSION, 2_344, _tabular(panel_tabular.ames)),
    TaskSpec("hpc jobs", CATEGORIES, MULTICLASS, 3_464, _tabular(panel_tabular.hpc_jobs)),
    TaskSpec("reviews", EMBEDDINGS, BINARY, 4_000, _embedded(panel_embeddings.reviews)),
    TaskSpec("phone churn", CATEGORIES, BINARY, 4_000, _tabular(panel_tabular.phone_churn)),
    TaskSpec("caravan", NUMBERS, BINARY, 4_657, _tabular(panel_data.caravan)),
    TaskSpec(
        "fashion pixels 5k",
        PIXELS,
        MULTICLASS,
        5_000,
        lambda name, c: panel_data.fashion_pixels(
            name, c.budget.fashion_subset, c.budget.fashion_test, c.root
        ),
    ),
    TaskSpec("telco churn", CATEGORIES, BINARY, 5_625, _tabular(panel_tabular.telco_churn)),
    TaskSpec("lending club", CATEGORIES, BINARY, 7_885, _tabular(panel_tabular.lending_club)),
    TaskSpec("tweets", EMBEDDINGS, MULTICLASS, 15_465, _embedded(panel_embeddings.tweets)),
    TaskSpec(
        "fashion EfficientNet-Lite0",
        EMBEDDINGS,
        MULTICLASS,
        20_000,
        lambda name, c: panel_embeddings.fashion_features(
            name, c.budget.feature_train, c.budget.feature_test, c.cache, c.root, c.progress
        ),
    ),
    TaskSpec("crashes", CATEGORIES, BINARY, 20_972, _tabular(panel_tabular.crashes)),
    TaskSpec("wages", CATEGORIES, REGRESSION, 22_524, _tabular(panel_tabular.wages)),
    TaskSpec("rodents", CATEGORIES, MULTICLASS, 24_521, _tabular(panel_tabular.rodents)),
    TaskSpec("diamonds", CATEGORIES, REGRESSION, 43_152, _tabular(panel_tabular.diamonds)),
    TaskSpec(
        "fashion pixels 60k",
        PIXELS,
        MULTICLASS,
        60_000,
        lambda name, c: panel_data.fashion_pixels(
            name, c.budget.fashion_full, c.budget.fashion_test, c.root
        ),
    ),
)
"""Every task of the panel, smallest first."""


def load_task(spec: TaskSpec, context: LoadContext) -> PanelTask:
    """The task ``spec`` as a run of ``context.budget`` uses it."""
    task = spec.load(spec.name, context)
    limit = context.budget.size_limit
    return task if limit is None else panel_data.subsample(task, limit)
