"""The panel's task list: the kinds of task the issue asks for, and tables that load as
registered (the embedding and Fashion-MNIST tasks load in the quick panel's test)."""

from collections import Counter

import numpy as np
import pytest

from glai_bench.panel_data import CLASSIFICATION, PanelTask
from glai_bench.panel_tasks import (
    BINARY,
    CATEGORIES,
    EMBEDDINGS,
    MULTICLASS,
    NUMBERS,
    PANEL_FULL,
    REGRESSION,
    TASKS,
    LoadContext,
    load_task,
)

TABLES = [spec for spec in TASKS if spec.family in (NUMBERS, CATEGORIES)]


def test_the_panel_has_the_tasks_the_issue_asks_for():
    families = Counter(spec.family for spec in TASKS)
    problems = Counter(spec.problem for spec in TASKS)
    assert len(TASKS) >= 20
    assert min(spec.size for spec in TASKS if spec.family != "pixels") <= 150
    assert max(spec.size for spec in TASKS) >= 60_000
    assert families[EMBEDDINGS] >= 3
    assert families[CATEGORIES] >= 5
    assert problems[REGRESSION] >= 3 and problems[BINARY] >= 5 and problems[MULTICLASS] >= 5


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, PanelTask]:
    context = LoadContext(PANEL_FULL, tmp_path_factory.mktemp("cache"), None, False)
    return {spec.name: load_task(spec, context) for spec in TABLES}


@pytest.mark.parametrize("spec", TABLES, ids=[spec.name for spec in TABLES])
def test_a_table_loads_with_its_registered_size_and_problem(tables, spec):
    task = tables[spec.name]
    assert task.name == spec.name
    assert task.train_size == spec.size
    assert (task.kind == REGRESSION) == (spec.problem == REGRESSION)
    if task.kind == CLASSIFICATION:
        assert (len(np.unique(task.targets)) == 2) == (spec.problem == BINARY)
    assert (spec.family == CATEGORIES) == bool(task.categorical)


def test_the_many_class_tasks_have_many_classes(tables):
    assert len(np.unique(tables["rodents"].targets)) >= 15


@pytest.mark.parametrize("name", ["caravan", "attrition", "phone churn", "lending club", "crashes"])
def test_the_imbalanced_tasks_are_imbalanced(tables, name):
    targets = tables[name].targets
    assert targets.mean() < 0.2
