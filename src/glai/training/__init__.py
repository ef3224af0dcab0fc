"""Two-phase training: the trainer, its configuration, callbacks and history."""

from glai.training.callbacks import Callback
from glai.training.config import FitConfig
from glai.training.history import EpochRecord, History, UnitRemoval
from glai.training.phase import Phase
from glai.training.trainer import Trainer, fit

__all__ = [
    "Callback",
    "EpochRecord",
    "FitConfig",
    "History",
    "Phase",
    "Trainer",
    "UnitRemoval",
    "fit",
]
