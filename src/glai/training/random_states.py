"""The random streams of a run, and their state for checkpoints."""

from __future__ import annotations

import warnings

import torch


class RandomStates:
    """Every random stream a run draws from: its own seeded generator (shuffling, probe
    and validation split) and torch's global generators, CPU and CUDA (dropout and any
    other randomness inside the model). A checkpoint holds all of them, so that a resumed
    run draws what the uninterrupted one would have drawn, on the CPU and on GPUs.

    Args:
        seed: seeds :attr:`generator`.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.generator = torch.Generator()
        self.generator.manual_seed(seed)

    def state_dict(self) -> dict:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        return {
            "seed": self.seed,
            "generator": self.generator.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": cuda,
        }

    def load_state_dict(self, state: dict) -> None:
        self.seed = state["seed"]
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch"])
        cuda = state["cuda"]
        if cuda is None:
            return
        devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if devices != len(cuda):
            warnings.warn(
                f"the checkpoint holds the random states of {len(cuda)} CUDA device(s) and "
                f"{devices} are visible here: they are not restored, so randomness on the "
                "GPU (dropout) will differ from the uninterrupted run's; resume with the "
                "same devices visible for the same run",
                stacklevel=6,  # the caller of glai.fit(..., resume=True)
            )
            return
        torch.cuda.set_rng_state_all(cuda)
