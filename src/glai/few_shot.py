"""Few-shot classification: a small GLAI head trained on each episode's support set.

:class:`GLAIFewShotClassifier` follows the protocol of easyfsl's ``FewShotClassifier``
(``process_support_set``, then ``forward`` on queries) without depending on easyfsl;
:func:`fit_support_set` is its training recipe, which the few-shot benchmark
(``glai bench fewshot``) uses for every head it compares.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from glai.guards import check_positive_int
from glai.nn.block import GLAI
from glai.nn.monitor import StructureMonitor
from glai.nn.switching import glai_blocks
from glai.training.config import FitConfig
from glai.training.history import History
from glai.training.trainer import fit

logger = logging.getLogger(__name__)

SUPPORT_STEPS = 100
SUPPORT_LR = 1e-2
SUPPORT_HIDDEN = 128
BUDGET_SETTINGS = (
    "epochs",
    "batch_size",
    "solver",
    "early_stopping",
    "validation_fraction",
    "max_structural_epochs",
    "min_structural_steps",
)


def fit_support_set(
    model: nn.Module,
    support: torch.Tensor,
    labels: torch.Tensor,
    steps: int = SUPPORT_STEPS,
    *,
    two_phase: bool = False,
    **settings: Any,
) -> History:
    """Train ``model`` on a few-shot support set: a fixed budget of full-batch steps.

    A support set holds a few samples per class, too few to hold some out for validation,
    so nothing is held out (``validation_fraction=0``: every support sample trains) and
    nothing stops early: every model trains ``steps`` full-batch optimiser steps, one per
    epoch (``solver="minibatch"`` with the whole set as the batch, so a step is a step:
    never an L-BFGS epoch of several iterations). A two-phase one spends at most
    ``steps // 2`` in the structural phase (the default switch rule, capped there;
    :attr:`History.switch_epoch` says when it switched) and the rest in the quantitative
    phase. The model ends with its final weights.

    Args:
        model: the head, trained in place; its output size is the number of classes.
        support: (n_support, in_features) features.
        labels: (n_support,) class indices in ``0..out_features - 1``.
        steps: the budget, at least 2 (one step per epoch: the batch is the whole set).
        two_phase: train a model without GLAI blocks to freeze in two phases too (for a
            plain MLP, the schedule-only control); one with such blocks always does.
        **settings: other :class:`glai.FitConfig` fields (``structural_lr``, ``lr``,
            ``quantitative``, ``seed``, the switch rule's ``threshold``, ...); the
            budget's (``epochs``, ``batch_size``, ``solver``, ``early_stopping``,
            ``validation_fraction``, ``max_structural_epochs``, ``min_structural_steps``) are
            this function's.

    Returns:
        The run's :class:`glai.History` (without validation metrics).

    Raises:
        TypeError: ``settings`` names an unknown setting or one of the budget's.
    """
    _check_steps(steps)
    _check_settings(settings)
    monitor = None
    if two_phase or any(not block.frozen for block in glai_blocks(model).values()):
        half = steps // 2
        cap = {"max_structural_epochs": half, "min_structural_steps": half}
        rule = FitConfig().replace(**settings, **cap).switch
        monitor = StructureMonitor(rule=rule)
    budget = {
        "epochs": steps,  # both phases together
        "batch_size": len(support),
        "solver": "minibatch",
        "early_stopping": None,
        "validation_fraction": 0,
    }
    return fit(model, (support, labels), None, monitor=monitor, **settings, **budget)


def _check_steps(steps: int) -> None:
    check_positive_int(steps, "steps")
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (one per phase), got {steps}")


def _check_settings(settings: dict[str, Any]) -> None:
    """Raise ``TypeError`` for a name that is no :class:`FitConfig` field or that the
    support-set budget sets."""
    FitConfig().replace(**settings)
    fixed = sorted(set(settings) & set(BUDGET_SETTINGS))
    if fixed:
        raise TypeError(
            f"the support-set budget sets {', '.join(BUDGET_SETTINGS)} itself; "
            f"got {', '.join(fixed)}"
        )


class GLAIFewShotClassifier(nn.Module):
    """A few-shot classifier that trains a small GLAI head on each support set.

    The protocol of easyfsl's ``FewShotClassifier``: :meth:`process_support_set` with an
    episode's labelled support samples, then :meth:`forward` on its queries. An optional
    frozen ``backbone`` turns support and query samples into features; it runs in eval
    mode without gradients and is never trained. The head,
    ``GLAI(n_features, hidden_features, n_way)``, is trained from scratch on the support
    features by :func:`fit_support_set`: ``steps`` full-batch steps, at most half of them
    structural, no validation (the support set is too small to split). The defaults are
    the few-shot benchmark's (``glai bench fewshot``: 100 steps, structural learning rate
    1e-2, width 128, the width of GLAI matched to an MLP of width 256 on 1280 features).

    Labels may be any integers: the classes found in the support set, sorted, become
    columns ``0..n_way - 1`` of the scores (:attr:`classes_` maps them back).

    Args:
        backbone: frozen feature extractor applied to support and query samples; the
            identity when ``None``. Its output is flattened to ``(n, n_features)``.
        hidden_features: hidden width of the GLAI head.
        steps: training budget per support set (see :func:`fit_support_set`).
        lr: structural learning rate (the quantitative phase runs at a tenth of it).
        seed: seeds the head's initial weights and its training, so that the same support
            set gives the same head.
        use_softmax: return probabilities instead of logits.
        **settings: other :class:`glai.FitConfig` fields for :func:`fit_support_set`
            (``quantitative``, ``weight_decay``, the switch rule's ``threshold``, ...).

    Attributes:
        head_: the trained GLAI head (after :meth:`process_support_set`).
        classes_: (n_way,) the support set's labels in sorted order.
        history_: the head's training :class:`glai.History`.
    """

    def __init__(
        self,
        backbone: nn.Module | None = None,
        hidden_features: int = SUPPORT_HIDDEN,
        steps: int = SUPPORT_STEPS,
        lr: float = SUPPORT_LR,
        seed: int = 0,
        use_softmax: bool = False,
        **settings: Any,
    ) -> None:
        super().__init__()
        check_positive_int(hidden_features, "hidden_features")
        _check_steps(steps)
        _check_settings(settings)  # here, not in every episode
        if {"structural_lr", "seed"} & set(settings):
            raise TypeError("give the structural learning rate as lr= and the seed as seed=")
        self.backbone = backbone if backbone is not None else nn.Identity()
        self.hidden_features, self.steps, self.lr = hidden_features, steps, lr
        self.seed, self.use_softmax, self.settings = seed, use_softmax, settings
        self.head_: GLAI | None = None
        self.classes_: torch.Tensor | None = None
        self.history_: History | None = None

    def compute_features(self, samples: torch.Tensor) -> torch.Tensor:
        """The frozen backbone's features, without gradients: (n, ...) -> (n, n_features).

        The backbone runs in eval mode (batch norm with running statistics, no dropout) and
        is put back in its previous mode afterwards.
        """
        was_training = self.backbone.training
        self.backbone.eval()
        try:
            with torch.no_grad():
                features = self.backbone(samples)
        finally:
            self.backbone.train(was_training)
        return features.flatten(1)

    def process_support_set(self, support: torch.Tensor, support_labels: torch.Tensor) -> None:
        """Train a fresh head on the episode's support set.

        Args:
            support: (n_support, ...) samples (backbone inputs).
            support_labels: (n_support,) integer labels; ``n_way`` is the number of
                distinct ones, at least 2.
        """
        if not isinstance(support_labels, torch.Tensor) or support_labels.ndim != 1:
            raise ValueError("support_labels must be a 1-D tensor of class labels")
        if support_labels.is_floating_point() or support_labels.is_complex():
            raise TypeError(f"support_labels must be integers, got {support_labels.dtype}")
        if len(support) != len(support_labels):
            raise ValueError(
                f"support has {len(support)} samples but support_labels {len(support_labels)}"
            )
        classes, targets = torch.unique(support_labels, sorted=True, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"the support set needs at least 2 classes, got {len(classes)}")
        features = self.compute_features(support)
        with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
            torch.manual_seed(self.seed)
            head = GLAI(
                features.shape[1],
                self.hidden_features,
                len(classes),
                device=features.device,
                dtype=features.dtype,
            )
        settings = {**self.settings, "structural_lr": self.lr, "seed": self.seed}
        self.history_ = fit_support_set(head, features, targets, self.steps, **settings)
        head.eval()
        self.head_, self.classes_ = head, classes
        logger.debug(
            "trained a %d-way head on %d support samples (switch after step %s)",
            len(classes),
            len(support),
            self.history_.switch_epoch,
        )

    def forward(self, query: torch.Tensor) -> torch.Tensor:
        """Scores of the query samples for each class of the support set.

        Args:
            query: (n_query, ...) samples (backbone inputs).

        Returns:
            (n_query, n_way) logits (probabilities with ``use_softmax``), without
            gradients; column ``j`` is class ``classes_[j]``.

        Raises:
            RuntimeError: :meth:`process_support_set` has not been called.
        """
        if self.head_ is None:
            raise RuntimeError(
                "call process_support_set(support, support_labels) before forward(query)"
            )
        with torch.no_grad():
            scores = self.head_(self.compute_features(query))
        return scores.softmax(-1) if self.use_softmax else scores

    def predict(self, query: torch.Tensor) -> torch.Tensor:
        """The predicted labels of the query samples, in the support set's labels: (n_query,)."""
        scores = self.forward(query)  # raises before classes_ is read, if there is none
        return self.classes_[scores.argmax(-1).to(self.classes_.device)]
