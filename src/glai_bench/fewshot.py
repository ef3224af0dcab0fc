"""Few-shot episodes on frozen features: a head trained per episode on its support set."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from glai.few_shot import fit_support_set
from glai.training.metrics import Metric, accuracy
from glai_bench.bench_features import feature_splits
from glai_bench.comparison import Candidate
from glai_bench.protocol import benchmark_candidates, environment, write_report
from glai_bench.settings import Budget
from glai_bench.stats import t_interval

WAYS = 5
QUERIES = 15
SHOTS = (1, 5)
PROTONET = "ProtoNet (nearest centroid)"
Episode = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
ACCURACY = Metric("accuracy", True, accuracy)


def sample_episode(
    features: torch.Tensor, labels: torch.Tensor, shots: int, generator: torch.Generator
) -> Episode:
    """A ``WAYS``-way episode: support (ways*shots) and query (ways*QUERIES) samples.

    Classes are drawn at random and relabelled 0..ways-1.
    """
    classes = torch.randperm(int(labels.max()) + 1, generator=generator)[:WAYS]
    support, support_y, query, query_y = [], [], [], []
    for new_label, cls in enumerate(classes):
        members = torch.nonzero(labels == cls).flatten()
        chosen = members[torch.randperm(len(members), generator=generator)[: shots + QUERIES]]
        support.append(features[chosen[:shots]])
        query.append(features[chosen[shots:]])
        support_y += [new_label] * shots
        query_y += [new_label] * QUERIES
    return torch.cat(support), torch.tensor(support_y), torch.cat(query), torch.tensor(query_y)


def protonet_accuracy(episode: Episode) -> float:
    """Nearest class centroid of the support set (Euclidean), as in ProtoNet."""
    support, support_y, query, query_y = episode
    centroids = torch.stack([support[support_y == c].mean(0) for c in range(WAYS)])
    return accuracy(-torch.cdist(query, centroids), query_y)  # nearest: greatest score


def head_accuracy(
    candidate: Candidate, episode: Episode, seed: int, steps: int
) -> tuple[float, float]:
    """Train a fresh head, built after ``torch.manual_seed(seed)``, on the support set by
    :func:`glai.few_shot.fit_support_set` (``steps`` full-batch steps; the candidate given
    a monitor, the schedule ablation, in two phases); (query accuracy, seconds)."""
    support, support_y, query, query_y = episode
    options = {key: value for key, value in candidate.fit_options.items() if key != "monitor"}
    two_phase = "monitor" in candidate.fit_options
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = candidate.build()
    fit_support_set(model, support, support_y, steps, two_phase=two_phase, seed=seed, **options)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        model.eval()
        score = accuracy(model(query), query_y)
    return score, seconds


def few_shot_candidates(in_features: int, mlp_hidden: int) -> list[Candidate]:
    """The benchmark's six heads; :func:`head_accuracy` gives each the same budget of
    steps, of which GLAI (in both modes) and the schedule ablation spend at most half in
    their structural phase."""
    return benchmark_candidates(in_features, mlp_hidden, WAYS, {})


def _interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% t-interval (:func:`glai_bench.stats.t_interval`)."""
    mean, _, high = t_interval(values)
    return mean, high - mean


def _episodes(features, labels, shots, count, seed) -> list[Episode]:
    generator = torch.Generator().manual_seed(seed)
    return [sample_episode(features, labels, shots, generator) for _ in range(count)]


def _select_lr(
    candidate: Candidate, episodes: Sequence[Episode], grid: Sequence[dict], steps: int
) -> dict:
    best, best_score = grid[0], None
    for point in grid:
        trial = Candidate(candidate.name, candidate.build, {**candidate.fit_options, **point})
        score = statistics.fmean(
            head_accuracy(trial, e, i, steps)[0] for i, e in enumerate(episodes)
        )
        if ACCURACY.better(score, best_score):
            best, best_score = point, score
    return dict(best)


def _score_episodes(
    candidates: Sequence[Candidate], episodes: Iterable[Episode], steps: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Query accuracy and training seconds of ProtoNet and of every head, per episode."""
    scores: dict[str, list[float]] = {PROTONET: []}
    seconds: dict[str, list[float]] = {PROTONET: []}
    for number, episode in enumerate(episodes):
        start = time.perf_counter()
        scores[PROTONET].append(protonet_accuracy(episode))
        seconds[PROTONET].append(time.perf_counter() - start)
        for candidate in candidates:
            accuracy, elapsed = head_accuracy(candidate, episode, number, steps)
            scores.setdefault(candidate.name, []).append(accuracy)
            seconds.setdefault(candidate.name, []).append(elapsed)
    return scores, seconds


def run_fewshot(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """5-way 1-shot and 5-shot episodes on test-split features; learning rates are chosen
    on episodes from the validation split."""
    splits = feature_splits(
        cache, budget.train_limit, budget.test_limit, budget.val_size, root, progress
    )
    steps = 100 if budget.episodes >= 100 else 30
    grid = (
        [{"structural_lr": lr} for lr in (1e-3, 1e-2)]
        if len(budget.learning_rates) > 1
        else [{"structural_lr": 1e-2}]
    )
    candidates = few_shot_candidates(splits.in_features, budget.mlp_hidden // 2)
    rows, configurations = [], {}
    for shots in SHOTS:
        selection = _episodes(*splits.val, shots, budget.selection_episodes, seed=10 + shots)
        chosen = []
        for candidate in candidates:
            point = _select_lr(candidate, selection, grid, steps)
            chosen.append(
                Candidate(candidate.name, candidate.build, {**candidate.fit_options, **point})
            )
        episodes = _episodes(*splits.test, shots, budget.episodes, seed=shots)
        bar = tqdm(episodes, disable=not progress, desc=f"{shots}-shot episodes")
        scores, seconds = _score_episodes(chosen, bar, steps)
        configurations[f"{shots}-shot"] = {
            "chosen": {
                c.name: {k: v for k, v in c.fit_options.items() if k != "monitor"} for c in chosen
            },
            "accuracy": scores,
            "seconds": seconds,
        }
        for name in scores:
            mean, half = _interval(scores[name])
            rows.append(
                f"| {shots}-shot | {name} | {100 * mean:.2f} ± {100 * half:.2f} | "
                f"{1000 * statistics.fmean(seconds[name]):.1f} |"
            )
    table = "\n".join(
        [
            "| episodes | model | query accuracy (95% CI) | train ms/episode |",
            "|---|---|---:|---:|",
            *rows,
        ]
    )
    note = (
        f"{WAYS}-way episodes, {QUERIES} queries per class, {budget.episodes} test "
        f"episodes per configuration (fixed seeds), learning rate chosen on "
        f"{budget.selection_episodes} validation episodes; heads trained {steps} "
        f"full-batch steps (GLAI and the schedule ablation: at most {steps // 2} "
        f"structural, the rest quantitative); reference MLP hidden width "
        f"{budget.mlp_hidden // 2}; ± is the half-width of the 95% t-interval over "
        "episodes."
    )
    result = {
        "setting": "fewshot",
        "environment": environment(),
        "note": note,
        "configurations": configurations,
        "table": table,
    }
    write_report(out, "fewshot", result, f"{note}\n\n{table}")
    return result
