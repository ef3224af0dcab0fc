"""Micro-benchmark of every phase of GLAI against the MLP, side by side in one process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from glai.nn.block import GLAI
from glai.nn.mask_cache import MaskCache
from glai.nn.mlp import MLP
from glai.nn.parameters import matched_width
from glai.training.quantitative.row_space import RowSpacePaths
from glai_bench.protocol import environment
from glai_bench.stats import median_seconds

IN_FEATURES = 1280
SAMPLES = 10_000  # one "epoch" of the micro-benchmark


def _peak_bytes(step: Callable[[], object]) -> int:
    """Peak of the bytes allocated by torch during one call (profiler memory events)."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        step()
    current = peak = 0
    for event in sorted(profiler.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def _epoch(step: Callable[[torch.Tensor], object], batch: int) -> Callable[[], None]:
    """A function running ``step`` over SAMPLES samples in batches of ``batch``."""
    order = torch.randperm(SAMPLES)

    def run() -> None:
        for start in range(0, SAMPLES, batch):
            step(order[start : start + batch])

    return run


def _train_step(model: torch.nn.Module, x, y, masks: MaskCache | None = None):
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-4)

    def step(index: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        if masks is None:
            output = model(x[index])
        else:
            output = model(x[index], masks=masks.get(index, x.dtype))
        F.cross_entropy(output, y[index]).backward()
        optimizer.step()

    return step


def measure(width: int, out_features: int, batch: int, repeats: int = 3) -> dict:
    """Seconds per 10k-sample epoch, inference ms per 1k, GFLOP/s and peak memory at one
    shape (equal-width models of ``width``; the equal-parameter MLP for inference)."""
    torch.manual_seed(0)
    x = torch.randn(SAMPLES, IN_FEATURES)
    y = torch.randint(0, out_features, (SAMPLES,))
    mlp = MLP(IN_FEATURES, width, out_features)
    structural = GLAI(IN_FEATURES, width, out_features)
    switched = GLAI(IN_FEATURES, width, out_features).freeze_structure()
    cache = MaskCache.build(switched, x)
    row_space = RowSpacePaths(switched)
    wide = MLP(IN_FEATURES, _equal_parameter_width(width, out_features), out_features)
    steps = {
        "mlp_step": _epoch(_train_step(mlp, x, y), batch),
        "glai_structural_step": _epoch(_train_step(structural, x, y), batch),
        "glai_quantitative_step": _epoch(_train_step(switched, x, y, cache), batch),
        "glai_row_space_step": _epoch(
            _train_step(row_space, row_space.project(x), y, cache), batch
        ),
        "mask_cache_build": lambda: MaskCache.build(switched, x, batch_size=batch),
        "structure_forward": _epoch(lambda i: switched.masks(x[i]), batch),
    }
    result = {"width": width, "out_features": out_features, "batch": batch}
    for name, step in steps.items():
        result[f"{name}_seconds"] = median_seconds(step, repeats)
        result[f"{name}_peak_mb"] = _peak_bytes(step) / 2**20
    with torch.no_grad():
        sample = x[:1000]
        for name, model in (
            ("mlp_equal_parameters", wide),
            ("mlp_equal_width", mlp),
            ("glai", switched),
        ):
            model.eval()
            result[f"inference_ms_per_1k_{name}"] = 1000 * median_seconds(
                lambda model=model: model(sample), 10 * repeats
            )
        a, b = torch.randn(batch, IN_FEATURES), torch.randn(IN_FEATURES, width)
        matmul = median_seconds(lambda: a @ b, 20 * repeats)
    result["matmul_gflops"] = 2 * batch * IN_FEATURES * width / matmul / 1e9
    # forward + backward of a linear layer is three matmuls of its shape
    flops = 3 * 2 * SAMPLES * (IN_FEATURES * width + width * out_features)
    result["quantitative_step_gflops"] = flops / result["glai_quantitative_step_seconds"] / 1e9
    result["mlp_step_gflops"] = flops / result["mlp_step_seconds"] / 1e9
    return result


def _equal_parameter_width(width: int, out_features: int) -> int:
    """The MLP width whose GLAI match is ``width`` (searched around 2 * width)."""
    return min(
        range(width, 3 * width),
        key=lambda h: abs(matched_width(IN_FEATURES, h, out_features) - width),
    )


def run_perf(out: Path, quick: bool = False, progress: bool = False) -> str:
    """Measure every shape of the grid; write ``perf.json`` and ``perf.md``."""
    from tqdm.auto import tqdm

    widths = (256,) if quick else (256, 512, 1024, 2048)
    outputs = (10,) if quick else (10, 128)
    batches = (256,) if quick else (256, 1024)
    shapes = [(w, o, b) for w in widths for o in outputs for b in batches]
    rows = [
        measure(*shape, repeats=1 if quick else 3)
        for shape in tqdm(shapes, disable=not progress, desc="perf")
    ]
    lines = [
        "| width | out | batch | MLP step s/10k | GLAI structural | GLAI quantitative "
        "| quant./MLP | row-space step | row-space/MLP | mask cache build "
        "| structure forward | inference ms/1k: MLP eq. params / MLP eq. width / GLAI "
        "| GLAI/MLP eq. params | quant. GFLOP/s (matmul) "
        "| peak MB: MLP / quant. |",
        "|" + "---:|" * 15,
    ]
    for r in rows:
        mlp, quantitative = r["mlp_step_seconds"], r["glai_quantitative_step_seconds"]
        wide, glai = r["inference_ms_per_1k_mlp_equal_parameters"], r["inference_ms_per_1k_glai"]
        cells = [
            r["width"],
            r["out_features"],
            r["batch"],
            f"{mlp:.3f}",
            f"{r['glai_structural_step_seconds']:.3f}",
            f"{quantitative:.3f}",
            f"{quantitative / mlp:.2f}",
            f"{r['glai_row_space_step_seconds']:.3f}",
            f"{r['glai_row_space_step_seconds'] / mlp:.2f}",
            f"{r['mask_cache_build_seconds']:.3f}",
            f"{r['structure_forward_seconds']:.3f}",
            f"{wide:.2f} / {r['inference_ms_per_1k_mlp_equal_width']:.2f} / {glai:.2f}",
            f"{glai / wide:.2f}",
            f"{r['quantitative_step_gflops']:.0f} ({r['matmul_gflops']:.0f})",
            f"{r['mlp_step_peak_mb']:.1f} / {r['glai_quantitative_step_peak_mb']:.1f}",
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    table = "\n".join(lines)
    note = (
        f"Input {IN_FEATURES} features; times are medians over repeats of a "
        f"{SAMPLES:,}-sample epoch with Adam; 'structure forward' is one pass of the frozen "
        "structure over the epoch (the mask cache's lower bound); 'row-space step' is a "
        "quantitative step of `fit(quantitative='row_space')` on the projected inputs; "
        "matmul GFLOP/s is torch.matmul at the first layer's shape."
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "perf.json").write_text(
        json.dumps({"environment": environment(), "rows": rows}, indent=1)
    )
    (out / "perf.md").write_text(f"## perf\n\n{note}\n\n{table}\n")
    return table
