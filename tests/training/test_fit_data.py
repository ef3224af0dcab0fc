"""Training streams from memory-mapped data larger than its memory budget."""

import subprocess
import sys

import numpy as np
import pytest
import torch

SCRIPT = """
import sys, threading, time
import torch, glai
from glai.io.features import load_features

def anonymous_kb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])

x = load_features(sys.argv[1], mmap=True)
y = torch.arange(len(x)) % 10
model = glai.GLAI(x.shape[1], 32, 10)
peak, done = [anonymous_kb()], []
baseline = peak[0]

def sample():
    while not done:
        peak[0] = max(peak[0], anonymous_kb())
        time.sleep(0.002)

sampler = threading.Thread(target=sample)
sampler.start()
history = glai.fit(model, (x, y), epochs=2, batch_size=1024, seed=0,
                   monitor=glai.StructureMonitor.after(1))
done.append(True)
sampler.join()
print(len(history), (peak[0] - baseline) / 1024)
"""

BUDGET_MB = 128  # the process's fixed overhead (allocator, BLAS workspaces) is ~85 MB


@pytest.mark.slow
def test_training_on_mapped_features_stays_under_the_budget(tmp_path):
    rows, features = 200_000, 512  # 391 MiB on disk, 3x the budget
    path = tmp_path / "features.npy"
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, features))
    for start in range(0, rows, 20_000):
        array[start : start + 20_000] = (
            np.random.default_rng(start).normal(size=(20_000, features)).astype(np.float32)
        )
    array.flush()
    del array
    size_mb = path.stat().st_size / 2**20
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    epochs, growth_mb = result.stdout.split()
    print(
        f"\nmapped features {size_mb:.0f} MiB, memory growth {float(growth_mb):.1f} MiB, "
        f"budget {BUDGET_MB} MiB"
    )
    assert int(epochs) == 2  # one structural, one quantitative
    assert size_mb > 3 * BUDGET_MB
    assert float(growth_mb) < BUDGET_MB


def test_inputs_over_the_copy_limit_stay_where_they_are(monkeypatch):
    from glai.training import fit_data

    data = fit_data.FitData(torch.randn(8, 3), torch.arange(8))
    monkeypatch.setattr(fit_data, "DEVICE_COPY_LIMIT", 8 * 3 * 4 - 1)
    assert data.to(torch.device("meta")) is data  # not copied: moved batch by batch
    x, y, _ = next(data.batches(4, False, device=torch.device("meta")))
    assert x.device.type == "meta" and y.device.type == "meta" and len(x) == 4


def test_inputs_within_the_copy_limit_are_copied_at_once():
    from glai.training import fit_data

    data = fit_data.FitData(torch.randn(8, 3), torch.arange(8))
    assert data.to(torch.device("meta")).inputs.device.type == "meta"
