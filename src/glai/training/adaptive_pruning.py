"""Adaptive pruning (``prune_threshold``): units whose score stays low leave the model while
its paths train.

After each quantitative epoch's training, and before its validation, every hidden unit of
the GLAI is scored (its data-aware path norm by default, see :func:`glai.prune`); a unit
whose score has stayed below ``prune_threshold`` times the largest score of its layer for
``prune_patience`` consecutive epochs is removed in place by :meth:`glai.GLAI.remove_units`,
the code that :func:`glai.prune` uses too. The run then rebuilds what depends on the
model's shapes:

- **the solver**: a minibatch optimiser keeps its state, sliced to the kept units (Adam's
  moments and step counts, SGD's momentum), and its schedule goes on where it was, so the
  kept weights train on as if the removed units had never been there; a fresh optimiser
  would restart Adam's moments, and a fresh cosine would climb back to its peak rate.
  L-BFGS starts afresh: its curvature pairs are over the old coordinates, it has no
  schedule to lose, and it rebuilds its memory within a few iterations.
- **the quantitative strategy and mask caches**: rebuilt from the smaller structure (in a
  GLAI deeper than one hidden layer a removed structure unit that fired no longer feeds
  the later layers, so their gates can change: cached bits cannot be sliced). Row-space
  training is re-based on the kept rows of the current first path layer.
- **the best weights** are taken among the epochs since the last removal (the removal's
  own epoch, validated on the smaller model, included): the weights restored at the end
  have the model's final shapes and were validated as they are.
- **checkpoints**: the removals are part of the history, so a resumed run applies them to
  the model it is given (built as the run's was at its start), then loads the state; the
  run's identity holds the shapes the run started with.
"""

from __future__ import annotations

import warnings

import torch

from glai.nn.block import GLAI
from glai.nn.mlp import kept_part
from glai.nn.pruning import unit_scores
from glai.nn.switching import glai_blocks, unwrapped
from glai.training.config import FitConfig
from glai.training.fit_data import FitData
from glai.training.solver import PhaseSolver


class AdaptivePruning:
    """Decides after each quantitative epoch which hidden units of a GLAI to keep.

    Args:
        threshold: a unit is weak while its score is below this share of the largest
            score of its layer (in (0, 1), so the largest unit never is).
        patience: consecutive epochs a unit must stay weak before it is removed.
        by: the score, as :func:`glai.nn.pruning.unit_scores` takes it.
        inputs: (n, in_features) inputs for ``by="data_path_norm"``, else ``None``.
    """

    def __init__(
        self, threshold: float, patience: int, by: str, inputs: torch.Tensor | None = None
    ) -> None:
        self.threshold, self.patience, self.by, self.inputs = threshold, patience, by, inputs
        self.weak_epochs: list[torch.Tensor] | None = None  # per layer, (width_l,) int64

    @torch.no_grad()
    def check(self, model: GLAI) -> list[torch.Tensor] | None:
        """Score ``model``'s units after an epoch.

        Returns:
            The indices of the units to keep, one ascending (width_l,) tensor per hidden
            layer, when some unit has been weak for ``patience`` epochs; else ``None``.
        """
        scores = unit_scores(model, self.by, self.inputs)
        weak = [(score < self.threshold * score.max()).cpu() for score in scores]
        if self.weak_epochs is None:
            self.weak_epochs = [torch.zeros(len(layer), dtype=torch.int64) for layer in weak]
        self.weak_epochs = [(count + 1) * below for count, below in zip(self.weak_epochs, weak)]
        if not any(bool((count >= self.patience).any()) for count in self.weak_epochs):
            return None
        keep = [(count < self.patience).nonzero().flatten() for count in self.weak_epochs]
        self.weak_epochs = [count[kept] for count, kept in zip(self.weak_epochs, keep)]
        return keep

    def state_dict(self) -> dict:
        return {"weak_epochs": self.weak_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.weak_epochs = state["weak_epochs"]


def adaptive_pruning(
    config: FitConfig, model: torch.nn.Module, train: FitData, seed: int
) -> AdaptivePruning | None:
    """The adaptive pruning ``config`` asks for (``None`` without ``prune_threshold``); its
    probe, for the data-aware score, is ``probe_size`` training inputs drawn with a
    generator of its own seeded with ``seed``, so the run's other random draws are those
    of a run without pruning.

    Raises:
        ValueError: ``prune_threshold`` is set and ``model`` is not a :class:`glai.GLAI`.
    """
    if config.prune_threshold is None:
        _warn_unused(config)
        return None
    _check_prunable(model)
    inputs = None
    if config.prune_by == "data_path_norm":
        generator = torch.Generator().manual_seed(seed)
        weight = unwrapped(model).paths[0].weight
        probe = train.sample_inputs(config.switch.probe_size, generator)
        inputs = probe.to(device=weight.device, dtype=weight.dtype)
    return AdaptivePruning(config.prune_threshold, config.prune_patience, config.prune_by, inputs)


def _check_prunable(model: torch.nn.Module) -> None:
    module = unwrapped(model)
    if isinstance(module, GLAI):
        return
    blocks = sorted(glai_blocks(module))
    held = f", holding GLAI blocks at {blocks}" if blocks else ""
    raise ValueError(
        "prune_threshold removes hidden units of a glai.GLAI trained by itself; the model "
        f"is a {type(module).__name__}{held}. Train it without prune_threshold, and prune "
        "a GLAI afterwards with glai.prune"
    )


def _warn_unused(config: FitConfig) -> None:
    defaults = FitConfig()
    unused = [
        name
        for name in ("prune_patience", "prune_by")
        if getattr(config, name) != getattr(defaults, name)
    ]
    if unused:
        warnings.warn(
            f"{' and '.join(unused)} set, but prune_threshold is None: adaptive pruning is "
            "off and no unit is removed; set prune_threshold to turn it on",
            UserWarning,
            stacklevel=7,  # the caller of glai.fit
        )


def sliced_solver_state(solver: PhaseSolver, model: GLAI, keep: list[torch.Tensor]) -> dict | None:
    """The state of ``solver`` for ``model`` once only the units ``keep`` remain, to load
    into a solver built over the smaller model's parameters (in the same order); ``None``
    for L-BFGS, which starts afresh.

    Per-parameter state of a path layer (tensors shaped like the parameter) is sliced as
    the layer is; a parameter of another kind (row-space training's mixing matrix, whose
    basis changes) starts afresh, and scalars (step counts) and the schedule carry over.
    """
    if solver.full_batch:
        return None
    parts = _kept_parts(model, keep)
    state = solver.state_dict()
    optimizer = state["optimizer"]
    parameters = [p for group in solver.optimizer.param_groups for p in group["params"]]
    entries = {}
    for index, parameter in enumerate(parameters):
        entry, rows_columns = optimizer["state"].get(index), parts.get(id(parameter))
        if entry is None or rows_columns is None or not _sliceable(entry, parameter):
            continue
        entries[index] = {
            name: kept_part(value, *rows_columns) if _like(value, parameter) else value
            for name, value in entry.items()
        }
    return {**state, "optimizer": {**optimizer, "state": entries}}


def _kept_parts(model: GLAI, keep: list[torch.Tensor]) -> dict[int, tuple]:
    """``id`` of each path parameter -> the (rows, columns) of it that stay."""
    rows, columns = [*keep, None], [None, *keep]
    parts = {}
    for layer, row, column in zip(model.paths, rows, columns):
        parts[id(layer.weight)] = (row, column)
        if layer.bias is not None:
            parts[id(layer.bias)] = (row, None)
    return parts


def _sliceable(entry: dict, parameter: torch.Tensor) -> bool:
    """Whether every tensor of an optimiser's state entry is a scalar or shaped like the
    parameter (an optimiser of one's own may keep other shapes: it then starts afresh)."""
    tensors = [value for value in entry.values() if isinstance(value, torch.Tensor)]
    return all(value.ndim == 0 or _like(value, parameter) for value in tensors)


def _like(value: object, parameter: torch.Tensor) -> bool:
    return isinstance(value, torch.Tensor) and value.shape == parameter.shape
