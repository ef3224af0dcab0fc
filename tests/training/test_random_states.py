"""The random streams a checkpoint holds, CUDA's included (mocked: no GPU is needed)."""

from pathlib import Path

import pytest
import torch

from glai import GLAI, fit
from glai.training.random_states import RandomStates
from problems import small_problem


def test_a_restored_state_draws_what_the_saved_one_would_have():
    states = RandomStates(seed=3)
    saved = states.state_dict()
    expected = torch.randperm(10, generator=states.generator), torch.rand(3)
    restored = RandomStates(seed=0)
    restored.load_state_dict(saved)
    assert torch.equal(torch.randperm(10, generator=restored.generator), expected[0])
    assert torch.equal(torch.rand(3), expected[1])
    assert restored.seed == 3


@pytest.fixture
def two_gpus(monkeypatch):
    """torch.cuda as on a machine with two initialised GPUs; what is set is recorded."""
    cuda_states = [torch.tensor([1], dtype=torch.uint8), torch.tensor([2], dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: cuda_states)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    return cuda_states, restored


def test_the_cuda_generators_are_saved_and_restored(two_gpus):
    cuda_states, restored = two_gpus
    state = RandomStates(seed=0).state_dict()
    assert state["cuda"] is cuda_states
    RandomStates(seed=1).load_state_dict(state)
    assert restored == [cuda_states]


@pytest.mark.parametrize("visible", [0, 1, 3])
def test_resuming_with_other_devices_warns_that_gpu_randomness_differs(
    two_gpus, monkeypatch, visible
):
    _, restored = two_gpus
    state = RandomStates(seed=0).state_dict()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: visible > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: visible)
    with pytest.warns(UserWarning, match=f"2 CUDA device.*{visible} are visible"):
        RandomStates(seed=1).load_state_dict(state)
    assert restored == []


def test_the_warning_names_the_line_that_resumed(two_gpus, monkeypatch, tmp_path):
    torch.manual_seed(0)
    fit(GLAI(6, 8, 3), small_problem(), epochs=2, seed=0, checkpoint_dir=tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="CUDA device") as caught:
        fit(GLAI(6, 8, 3), small_problem(), epochs=2, seed=0, checkpoint_dir=tmp_path, resume=True)
    assert {Path(w.filename).name for w in caught if "CUDA" in str(w.message)} == {
        Path(__file__).name
    }
