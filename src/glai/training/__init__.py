"""Two-phase training: the trainer, its configuration, callbacks and history."""

from glai.training.callbacks import Callback
from glai.training.history import EpochRecord, History
from glai.training.trainer import fit

__all__ = ["Callback", "EpochRecord", "History", "fit"]
