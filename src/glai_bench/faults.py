"""``glai bench faults``: training runs killed by SIGKILL at random moments, then resumed.

Each case trains a GLAI with a checkpoint directory in a child process, kills it with
SIGKILL after a random delay drawn over the length of an uninterrupted run (so the kills
land in the structural phase, the switch, the quantitative phase or after the end), then
runs the same command again with ``resume=True`` until it finishes. The resumed model and
its per-epoch losses must be bit-identical to the uninterrupted run's.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

import glai
from glai.training.checkpoint import read_checkpoint
from glai_bench.protocol import environment, write_report

SCRIPT = """
import sys, torch, glai
out, directory, quantitative, solver, samples = sys.argv[1:5] + [int(sys.argv[5])]
generator = torch.Generator().manual_seed(0)
x = torch.randn(samples, 32, generator=generator)
y = (x[:, :4].sum(1) + 0.3 * x[:, 4:8].pow(2).sum(1) > 1).long()
torch.manual_seed(0)
model = glai.GLAI(32, [64, 32], 2)
sys.stdout.write("ready\\n")
sys.stdout.flush()
history = glai.fit(model, (x, y), epochs=24, seed=0, early_stopping=None,
                   monitor=glai.StructureMonitor.after(8), quantitative=quantitative,
                   solver=solver, checkpoint_dir=directory, resume=True)
glai.save(model, out, info={"losses": history.column("train_loss")})
"""

CASES = (("full", "minibatch"), ("row_space", "minibatch"), ("full", "lbfgs"))
"""(quantitative, solver) of the runs, used in turn."""


@dataclass(frozen=True)
class FaultBudget:
    """How many kills, and how large each run is."""

    runs: int
    samples: int


FAULTS_FULL = FaultBudget(runs=60, samples=4_000)
FAULTS_QUICK = FaultBudget(runs=3, samples=600)


def _child(out: Path, directory: Path, case: tuple[str, str], samples: int) -> subprocess.Popen:
    arguments = [str(out), str(directory), *case, str(samples)]
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _finish(out: Path, directory: Path, case: tuple[str, str], samples: int) -> float:
    """Run the command to its end; its seconds of training (after the imports)."""
    child = _child(out, directory, case, samples)
    child.stdout.readline()  # "ready": imports and data done
    start = time.perf_counter()
    if child.wait() != 0:
        raise RuntimeError(f"the training command failed for {case} in {directory}")
    return time.perf_counter() - start


def _killed_at(directory: Path) -> str:
    """Where the kill landed: the phase of the last checkpoint written, or ``"start"``."""
    if not (directory / "checkpoint.pt").exists():
        return "before the first checkpoint"
    state = read_checkpoint(directory)["run"]
    epochs = len(state["history"]["records"])
    return f"{state['phase']} (after epoch {epochs})"


def _same(out: Path, reference: Path) -> bool:
    """Whether two saved runs have bit-identical weights and per-epoch losses."""
    ours, theirs = glai.load(out).state_dict(), glai.load(reference).state_dict()
    same_weights = ours.keys() == theirs.keys() and all(
        torch.equal(ours[key], theirs[key]) for key in ours
    )
    losses = glai.read_info(out)["info"]["losses"], glai.read_info(reference)["info"]["losses"]
    return same_weights and losses[0] == losses[1]


def run_faults(budget: FaultBudget, out: Path, progress: bool, seed: int = 0) -> dict:
    """Kill ``budget.runs`` training runs at random moments, resume each, compare."""
    draw = random.Random(seed)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        references, durations = {}, {}
        for case in CASES:
            references[case] = scratch / f"reference-{'-'.join(case)}.safetensors"
            durations[case] = _finish(
                references[case], scratch / f"ref-{'-'.join(case)}", case, budget.samples
            )
        for index in tqdm(range(budget.runs), disable=not progress, desc="faults"):
            case = CASES[index % len(CASES)]
            directory, model = scratch / f"run-{index}", scratch / f"run-{index}.safetensors"
            child = _child(model, directory, case, budget.samples)
            child.stdout.readline()
            delay = draw.uniform(0, durations[case] * 1.05)
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            code = child.wait()
            landed = _killed_at(directory) if code == -signal.SIGKILL else "after the end"
            _finish(model, directory, case, budget.samples)
            rows.append(
                {
                    "quantitative": case[0],
                    "solver": case[1],
                    "delay": delay,
                    "killed": code == -signal.SIGKILL,
                    "landed": landed,
                    "identical": _same(model, references[case]),
                }
            )
    result = {
        "setting": "faults",
        "environment": environment(),
        "runs": rows,
        "durations": {"-".join(case): seconds for case, seconds in durations.items()},
    }
    result["table"] = markdown(rows)
    write_report(out, "faults", result, result["table"])
    return result


def markdown(rows: list[dict]) -> str:
    """Counts of kills by where they landed, and how many resumed bit-identically."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        phase = row["landed"].split(" (")[0]
        groups.setdefault(phase, []).append(row)
    lines = [
        "| kill landed in | runs | resumed bit-identical |",
        "|---|---:|---:|",
    ]
    for phase, members in sorted(groups.items()):
        identical = sum(row["identical"] for row in members)
        lines.append(f"| {phase} | {len(members)} | {identical} |")
    identical = sum(row["identical"] for row in rows)
    lines.append(f"| **all** | {len(rows)} | {identical} |")
    return "\n".join(lines)
