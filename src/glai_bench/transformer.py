"""The ``transformer`` setting: GLAI as the feed-forward block of a small Transformer
encoder, trained from scratch to tell the language of a word from its characters.

Three classifiers of the same shape are trained side by side, interleaved by seed, in one
process: the encoder with ReLU MLP feed-forward blocks (the reference), the same encoder
with GLAI feed-forward blocks at the same widths (so twice the feed-forward parameters:
structure and paths), and the MLP encoder given GLAI's two-phase learning-rate schedule
(the schedule-only control). The two-phase models switch by the default rule, capped at
half of the epoch budget, and then train for the other half at most, so that no model
trains more epochs than the reference.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from glai.nn.monitor import StructureMonitor, SwitchRule
from glai.nn.transformer import (
    EncoderLayer,
    GLAITransformerEncoderLayer,
    MLPTransformerEncoderLayer,
)
from glai.training.callbacks import Callback
from glai.training.history import EpochRecord, History
from glai_bench.comparison import Candidate, RunResult, markdown_table, run_candidates, summarize
from glai_bench.plots import plot_accuracy_against_time
from glai_bench.protocol import environment, write_report
from glai_bench.sequences import PAD, WORD_LISTS, TextSplits, word_splits
from glai_bench.settings import QUICK, Budget

MLP_NAME = "Transformer, MLP feed-forward"
SCHEDULE_NAME = "Transformer, MLP feed-forward, GLAI's two-phase schedule"
GLAI_NAME = "Transformer, GLAI feed-forward"
Steps = dict[str, list[float]]  # seconds of each training step of a run, by phase


@dataclass(frozen=True)
class TransformerPlan:
    """The data, the model and the training budget of one run of the setting."""

    words_per_language: int
    length: int
    d_model: int
    nhead: int
    dim_feedforward: int
    layers: int
    dropout: float
    epochs: int  # every model's budget; two-phase models: at most half structural
    early_stopping: int
    batch_size: int
    lr: float
    seeds: tuple[int, ...]


FULL_PLAN = TransformerPlan(
    words_per_language=8_000,
    length=16,
    d_model=64,
    nhead=4,
    dim_feedforward=256,
    layers=2,
    dropout=0.1,
    epochs=16,
    early_stopping=5,
    batch_size=256,
    lr=1e-3,
    seeds=(1, 2, 3),
)
QUICK_PLAN = TransformerPlan(
    words_per_language=100,
    length=12,
    d_model=16,
    nhead=2,
    dim_feedforward=32,
    layers=1,
    dropout=0.1,
    epochs=2,
    early_stopping=2,
    batch_size=64,
    lr=1e-3,
    seeds=(1, 2),
)


class WordClassifier(nn.Module):
    """Character embeddings and learned positions, pre-norm encoder layers, the mean over
    the word's characters (padding left out), a final layer norm and a linear head.

    Args:
        layer_type: the encoder layer (:class:`GLAITransformerEncoderLayer` or its MLP twin).
        vocabulary: number of character indices (:data:`PAD` included).
        classes: number of outputs.
        length: longest sequence.
        d_model, nhead, dim_feedforward, layers, dropout: the encoder's sizes.

    Shape:
        input (batch, length) int64 character indices, output (batch, classes) logits.
    """

    def __init__(
        self,
        layer_type: type[EncoderLayer],
        vocabulary: int,
        classes: int,
        length: int,
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, d_model, padding_idx=PAD)
        self.position = nn.Parameter(0.02 * torch.randn(length, d_model))
        self.layers = nn.ModuleList(
            layer_type(d_model, nhead, dim_feedforward, dropout, batch_first=True, norm_first=True)
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, classes)

    @property
    def out_features(self) -> int:
        return self.head.out_features

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: (batch, length) -> (batch, classes)."""
        padding = tokens == PAD  # (batch, length)
        x = self.embedding(tokens) + self.position[: tokens.shape[1]]
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)  # (batch, length, d_model)
        keep = (~padding).unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1)  # (batch, d_model)
        return self.head(self.norm(pooled))


class StepTimer(Callback):
    """Wall-clock seconds of each training step, by phase, for every run it is given to.

    A step is timed from one training forward pass to the next within an epoch (forward,
    loss, backward, optimiser step, the next batch's indexing); validation and the
    monitor's probe run in eval mode and are not counted, nor is an epoch's last step.

    Attributes:
        runs: per run, the seconds of its steps by phase (``"train"``, ``"structural"``,
            ``"quantitative"``).
    """

    def __init__(self) -> None:
        self.runs: list[Steps] = []
        self._handle = None
        self._steps: list[float] = []
        self._last: float | None = None

    def on_train_begin(self, model: nn.Module) -> None:
        self.runs.append({})
        self._steps, self._last = [], None
        self._handle = model.register_forward_pre_hook(self._mark)

    def _mark(self, module: nn.Module, inputs: object) -> None:
        if not module.training:
            return
        now = time.perf_counter()
        if self._last is not None:
            self._steps.append(now - self._last)
        self._last = now

    def on_epoch_end(self, model: nn.Module, record: EpochRecord) -> None:
        self.runs[-1].setdefault(str(record.phase), []).extend(self._steps)
        self._steps, self._last = [], None

    def on_train_end(self, model: nn.Module, history: History) -> None:
        self._handle.remove()


def transformer_candidates(
    splits: TextSplits, plan: TransformerPlan
) -> tuple[list[Candidate], dict[str, StepTimer]]:
    """The three classifiers and the step timer of each (in its ``fit`` callbacks)."""
    sizes = (
        len(splits.vocabulary),
        splits.classes,
        splits.length,
        plan.d_model,
        plan.nhead,
        plan.dim_feedforward,
        plan.layers,
        plan.dropout,
    )
    half = plan.epochs // 2
    shared = {
        "batch_size": plan.batch_size,
        "early_stopping": plan.early_stopping,
        "structural_lr": plan.lr,
    }
    single = {**shared, "epochs": plan.epochs}
    two_phase = {
        **shared,
        "epochs": plan.epochs,
        "monitor": StructureMonitor(
            rule=SwitchRule(max_structural_epochs=half, min_structural_steps=1)
        ),
    }
    specs = [
        (MLP_NAME, MLPTransformerEncoderLayer, single),
        (SCHEDULE_NAME, MLPTransformerEncoderLayer, two_phase),
        (GLAI_NAME, GLAITransformerEncoderLayer, two_phase),
    ]
    candidates, timers = [], {}
    for name, layer_type, options in specs:
        timers[name] = StepTimer()

        def build(layer_type: type[EncoderLayer] = layer_type) -> WordClassifier:
            return WordClassifier(layer_type, *sizes)

        candidates.append(Candidate(name, build, {**options, "callbacks": [timers[name]]}))
    return candidates, timers


def timed_steps(
    results: Sequence[RunResult], timers: dict[str, StepTimer], seeds: int
) -> list[Steps]:
    """The step times of each result's run: its candidate's timer's last ``seeds`` runs
    (the earlier one is the untimed warm-up's), in the order of the results."""
    remaining = {name: iter(timer.runs[-seeds:]) for name, timer in timers.items()}
    return [next(remaining[result.candidate]) for result in results]


def _step_ms(runs: Sequence[Steps], phases: Sequence[str]) -> float | None:
    """Median milliseconds of the steps of ``phases`` over ``runs`` (``None`` if none)."""
    steps = [s for run in runs for phase in phases for s in run.get(phase, [])]
    return 1000 * statistics.median(steps) if steps else None


def _cell(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def step_table(results: Sequence[RunResult], steps: Sequence[Steps]) -> str:
    """Per model: parameters, test accuracy, median step times (all steps, structural,
    quantitative), the quantitative step against the MLP encoder's, switch epochs, epochs
    trained and total fit time; ``steps`` are the results' :func:`timed_steps`."""
    lines = [
        "| model | parameters | test accuracy (mean ± std) | step ms (median) | "
        "structural step ms | quantitative step ms | quantitative / MLP step | "
        "switch epoch | epochs | fit time (s, mean ± std) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    mlp_steps = [run for r, run in zip(results, steps) if r.candidate == MLP_NAME]
    reference = _step_ms(mlp_steps, ("train",))
    for name in dict.fromkeys(r.candidate for r in results):
        runs = [r for r in results if r.candidate == name]
        timed = [run for r, run in zip(results, steps) if r.candidate == name]
        quantitative = _step_ms(timed, ("quantitative",))
        ratio = None if quantitative is None else quantitative / reference
        accuracies = [100 * r.test_metric for r in runs]
        seconds = [r.history[-1].seconds for r in runs]
        switches = [
            "–" if r.history.switch_epoch is None else str(r.history.switch_epoch) for r in runs
        ]
        lines.append(
            f"| {name} | {runs[0].parameters:,} | {_mean_std(accuracies)} "
            f"| {_cell(_step_ms(timed, ('train', 'structural', 'quantitative')))} "
            f"| {_cell(_step_ms(timed, ('structural',)))} | {_cell(quantitative)} "
            f"| {_cell(ratio, 2)} "
            f"| {', '.join(switches)} "
            f"| {', '.join(str(len(r.history)) for r in runs)} | {_mean_std(seconds)} |"
        )
    return "\n".join(lines)


def _mean_std(values: Sequence[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {spread:.2f}"


def run_transformer(
    budget: Budget, cache: Path, out: Path, root: str | os.PathLike | None, progress: bool
) -> dict:
    """Train the three word classifiers over the plan's seeds; write ``transformer.json``,
    ``transformer.md`` and ``transformer-accuracy.png`` into ``out``.

    ``cache`` and ``root`` (the feature cache and Fashion-MNIST's directory) are not used:
    the word lists are read from ``$GLAI_WORD_LISTS`` or ``/usr/share/dict``. The speedups
    (key ``"comparison"``) are against this setting's MLP encoder, not the equal-parameter
    MLP of the other settings, so they stay out of the runner's ``speedup.png``.
    """
    plan = QUICK_PLAN if budget is QUICK else FULL_PLAN
    splits = word_splits(plan.words_per_language, plan.length)
    candidates, timers = transformer_candidates(splits, plan)
    results = run_candidates(
        candidates, splits.train, splits.val, splits.test, plan.seeds, progress=progress
    )
    summaries = summarize(results, reference=MLP_NAME)
    steps = timed_steps(results, timers, len(plan.seeds))
    table = markdown_table(summaries, reference=MLP_NAME)
    packages = ", ".join(package for _, package in WORD_LISTS.values())
    sizes = {part: len(getattr(splits, part)[0]) for part in ("train", "val", "test")}
    note = (
        f"Language of a word ({', '.join(splits.languages)}) from its characters, Debian "
        f"word lists ({packages}): {plan.words_per_language:,} words per language found in "
        f"no other list, {sizes['train']:,} train, {sizes['val']:,} validation, "
        f"{sizes['test']:,} test, {len(splits.vocabulary)} character indices, words cut "
        f"at {plan.length}. Encoder: layers {plan.layers} (pre-norm), d_model "
        f"{plan.d_model}, {plan.nhead} heads, feed-forward width {plan.dim_feedforward}, "
        f"dropout {plan.dropout}, mean over characters, linear head; trained from scratch, "
        f"Adam at {plan.lr} (nothing tuned), batch {plan.batch_size}, at most "
        f"{plan.epochs} epochs (two-phase models: at most {plan.epochs // 2} structural, "
        f"by the default switch rule, then at most {plan.epochs - plan.epochs // 2} at a "
        f"tenth of the rate, cosine), early stopping after {plan.early_stopping}; seeds "
        f"{', '.join(map(str, plan.seeds))}, interleaved in one process. Step times: "
        "median over every training step of every seed."
    )
    result = {
        "setting": "transformer",
        "environment": environment(),
        "plan": asdict(plan),
        "data": {**sizes, "languages": list(splits.languages), "packages": packages},
        "vocabulary": list(splits.vocabulary),
        "reference": MLP_NAME,
        "comparison": [s.to_dict() for s in summaries],  # not "summaries": another reference
        "runs": [{**r.to_dict(), "step_seconds": run} for r, run in zip(results, steps)],
        "table": table,
        "step_table": step_table(results, steps),
        "notes": [note],
    }
    write_report(out, "transformer", result, f"{note}\n\n{result['step_table']}\n\n{table}")
    histories = {c.name: [r.history for r in results if r.candidate == c.name] for c in candidates}
    plot_accuracy_against_time(histories, out / "transformer-accuracy.png", "transformer")
    return result
