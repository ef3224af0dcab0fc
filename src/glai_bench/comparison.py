"""Side-by-side comparison of models over seeds: accuracy, time to target, speedup."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureMonitor
from glai.nn.parameters import count_parameters, matched_width
from glai.training.history import History
from glai.training.metrics import accuracy as batch_accuracy
from glai.training.trainer import fit
from glai_bench.stats import median_seconds, t_interval

Evaluate = Callable[[nn.Module], float | Mapping[str, float]]


@dataclass(frozen=True)
class Candidate:
    """A model to compare: a builder for a fresh untrained model and its training options.

    Attributes:
        name: label in tables and plots.
        build: returns a new model; called after ``torch.manual_seed(seed)``.
        fit_options: keyword arguments for :func:`glai.fit`.
    """

    name: str
    build: Callable[[], nn.Module]
    fit_options: Mapping[str, Any] = field(default_factory=dict)

    def train(self, train: Any, val: Any, seed: int, **overrides: Any) -> tuple[nn.Module, History]:
        """A fresh model, built after ``torch.manual_seed(seed)`` and trained by
        :func:`glai.fit` with this candidate's options (``overrides`` on top)."""
        torch.manual_seed(seed)
        model = self.build()
        history = fit(model, train, val, seed=seed, **{**self.fit_options, **overrides})
        return model, history


@dataclass
class RunResult:
    """One candidate trained with one seed."""

    candidate: str
    seed: int
    parameters: int
    history: History
    test_metric: float
    inference_ms_per_1k: float
    model: nn.Module | None = field(default=None, repr=False)
    test_metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "candidate": self.candidate,
            "seed": self.seed,
            "parameters": self.parameters,
            "test_metric": self.test_metric,
            "test_metrics": self.test_metrics,
            "inference_ms_per_1k": self.inference_ms_per_1k,
            "history": self.history.to_dict(),
        }


WARM_UP_SAMPLES = 512


def warm_up(
    candidates: Sequence[Candidate],
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
) -> None:
    """Train each candidate once, untimed, for a few epochs on the first samples, so that
    the first timed run pays no one-time costs (allocator, thread pools, first calls)
    that the others do not."""
    first = tuple(part[:WARM_UP_SAMPLES] for part in train)
    checked = tuple(part[:WARM_UP_SAMPLES] for part in val)
    for candidate in candidates:
        short = {"epochs": 1}
        if "monitor" in candidate.fit_options:  # one epoch of each phase
            short = {"epochs": 2, "monitor": StructureMonitor.after(1)}
        candidate.train(first, checked, seed=0, **short)


@torch.no_grad()
def accuracy(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Share of ``data``'s samples whose arg-max output is the label, in batches of 8,192:
    :func:`glai.training.metrics.accuracy` per batch, weighted by the batch's size (and
    rounded back to the batch's count of correct samples)."""
    model.eval()
    inputs, labels = data
    correct = sum(
        round(batch_accuracy(model(x), y) * len(y))
        for x, y in zip(inputs.split(8192), labels.split(8192))
    )
    return correct / len(labels)


@torch.no_grad()
def inference_ms_per_1k(model: nn.Module, inputs: torch.Tensor, repeats: int = 3) -> float:
    """Median milliseconds to run ``model`` on 1,000 samples (batches of up to 1,000)."""
    model.eval()
    sample = inputs[:1000]
    seconds = median_seconds(lambda: model(sample), repeats)
    return seconds * 1000 * 1000 / len(sample)


def run_candidates(
    candidates: Sequence[Candidate],
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    seeds: Sequence[int],
    evaluate: Evaluate | None = None,
    progress: bool = False,
) -> list[RunResult]:
    """Train every candidate with every seed, interleaved by seed, in this process.

    Args:
        candidates: the models.
        train, val, test: ``(X, y)`` tensors; val drives early stopping, test is only
            scored at the end (at the best validation epoch's weights).
        seeds: one run per seed per candidate; the seed sets initial weights and shuffling.
        evaluate: test score of a trained model, or several as a dict whose first entry
            is the main one; defaults to accuracy on ``test``.
        progress: show a progress bar over runs.
    """
    score = evaluate or (lambda model: accuracy(model, test))
    warm_up(candidates, train, val)
    results = []
    runs = [(seed, candidate) for seed in seeds for candidate in candidates]
    for seed, candidate in tqdm(runs, disable=not progress, desc="runs"):
        model, history = candidate.train(train, val, seed)
        inference = inference_ms_per_1k(model, test[0])  # before scoring, which may start
        scores = score(model)  # thread pools (scikit-learn) that would disturb the timing
        metrics = dict(scores) if isinstance(scores, Mapping) else {"accuracy": scores}
        results.append(
            RunResult(
                candidate=candidate.name,
                seed=seed,
                parameters=count_parameters(model),
                history=history,
                test_metric=next(iter(metrics.values())),
                inference_ms_per_1k=inference,
                model=model,
                test_metrics=metrics,
            )
        )
    return results


EQUAL_PARAMETERS = "MLP, equal parameters"
EQUAL_WIDTH = "MLP, equal width"
GLAI_NAME = "GLAI"


def standard_candidates(
    in_features: int,
    mlp_hidden_features: int | Sequence[int],
    out_features: int,
    fit_options: Mapping[str, Any] | None = None,
) -> list[Candidate]:
    """The paper's comparison: the MLP, GLAI with the same total parameters, and the MLP
    with GLAI's (smaller) hidden widths.

    Args:
        in_features, out_features: the task's sizes.
        mlp_hidden_features: the reference MLP's hidden widths.
        fit_options: :func:`glai.fit` options shared by all three.
    """
    options = dict(fit_options or {})
    widths = matched_width(in_features, mlp_hidden_features, out_features)
    return [
        Candidate(
            EQUAL_PARAMETERS, lambda: MLP(in_features, mlp_hidden_features, out_features), options
        ),
        Candidate(EQUAL_WIDTH, lambda: MLP(in_features, widths, out_features), options),
        Candidate(GLAI_NAME, lambda: GLAI(in_features, widths, out_features), options),
    ]


@dataclass
class Ratio:
    """Geometric mean of per-seed ratios with a 95% t-interval (on the log scale)."""

    mean: float
    low: float
    high: float
    reached: int
    seeds: int

    def __str__(self) -> str:
        if self.reached < self.seeds:
            return f"reached {self.reached}/{self.seeds}"
        if self.seeds < 2:
            return f"{self.mean:.2f}x"
        return f"{self.mean:.2f}x [{self.low:.2f}, {self.high:.2f}]"


def ratio(values: Sequence[float]) -> Ratio:
    """Summarise per-seed speedups (``0`` marks a seed where the target was not reached)."""
    finite = [v for v in values if 0 < v < math.inf]
    if not finite:
        return Ratio(math.nan, math.nan, math.nan, 0, len(values))
    centre, low, high = t_interval(math.log(v) for v in finite)
    return Ratio(math.exp(centre), math.exp(low), math.exp(high), len(finite), len(values))


@dataclass
class Summary:
    """One candidate across seeds, against the reference candidate's best validation."""

    candidate: str
    parameters: int
    test_mean: float
    test_std: float
    time_to_target: list[float]
    time_to_99: list[float]
    total_seconds: list[float]
    inference_ms_per_1k: float
    speedup: Ratio
    speedup_99: Ratio

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["speedup"] = self.speedup.__dict__
        data["speedup_99"] = self.speedup_99.__dict__
        return data


def summarize(results: Sequence[RunResult], reference: str) -> list[Summary]:
    """Per-candidate summary; targets are the reference's maximum validation metric (MVA).

    For each seed the target is the reference run's MVA, and 99% of it (for a metric
    where lower is better, such as a loss: the best value and 1% above it). A candidate's
    time to target is the wall-clock seconds (since its training started, everything
    included) until its validation metric first reached the target; the speedup is the
    reference's time divided by the candidate's, per seed.
    """
    by_seed = {r.seed: r for r in results if r.candidate == reference}
    if not by_seed:
        raise ValueError(f"no run of the reference candidate {reference!r}")
    names = list(dict.fromkeys(r.candidate for r in results))
    summaries = []
    for name in names:
        runs = [r for r in results if r.candidate == name]
        to_target, to_99, speedups, speedups_99 = [], [], [], []
        for run in runs:
            reference_history = by_seed[run.seed].history
            metric = reference_history.direction
            target = reference_history.peak_metric
            near = metric.relaxed(target, 0.01)
            to_target.append(run.history.time_to(target))
            to_99.append(run.history.time_to(near))
            speedups.append(reference_history.time_to(target) / to_target[-1])
            speedups_99.append(reference_history.time_to(near) / to_99[-1])
        tests = [r.test_metric for r in runs]
        summaries.append(
            Summary(
                candidate=name,
                parameters=runs[0].parameters,
                test_mean=statistics.fmean(tests),
                test_std=statistics.stdev(tests) if len(tests) > 1 else 0.0,
                time_to_target=to_target,
                time_to_99=to_99,
                total_seconds=[r.history[-1].seconds for r in runs],
                inference_ms_per_1k=statistics.median(r.inference_ms_per_1k for r in runs),
                speedup=ratio(speedups),
                speedup_99=ratio(speedups_99),
            )
        )
    return summaries


def _seconds(values: Sequence[float]) -> str:
    finite = [v for v in values if v < math.inf]
    if len(finite) < len(values):
        return (
            f"{statistics.fmean(finite):.2f} ({len(finite)}/{len(values)})" if finite else "never"
        )
    return f"{statistics.fmean(finite):.2f}"


def markdown_table(
    summaries: Sequence[Summary], metric: str = "test acc", reference: str = EQUAL_PARAMETERS
) -> str:
    """A markdown table of summaries, one row per candidate; MVA is the ``reference``'s."""
    lines = [
        f"*MVA: best validation metric of the {reference}, per seed.*",
        "",
        f"| model | parameters | {metric} (mean ± std) | time to MVA (s) | speedup | "
        "time to 99% MVA (s) | speedup | total time (s) | inference ms/1k |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.candidate} | {s.parameters:,} "
            f"| {100 * s.test_mean:.2f} ± {100 * s.test_std:.2f} "
            f"| {_seconds(s.time_to_target)} | {s.speedup} | {_seconds(s.time_to_99)} "
            f"| {s.speedup_99} | {statistics.fmean(s.total_seconds):.2f} "
            f"| {s.inference_ms_per_1k:.2f} |"
        )
    return "\n".join(lines)
