"""The panel's models: GLAI with its defaults, the torch MLPs trained by the same fit,
and what a scikit-learn user would pick instead, each trained on one split."""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.monitor import StructureMonitor
from glai.nn.parameters import mlp_parameter_count
from glai.sklearn.estimators import GLAIClassifier
from glai.training.config import DEFAULT_HIDDEN_FEATURES
from glai.training.history import History
from glai.training.trainer import fit
from glai_bench.panel_data import CLASSIFICATION

GLAI_DEFAULTS = "GLAI (defaults)"
EQUAL_PARAMETERS = "MLP, equal parameters"
EQUAL_WIDTH = "MLP, equal width"
CONTROL = "MLP, equal width, GLAI's two phases (control)"
SKLEARN_MLP = "scikit-learn MLP (defaults)"
LINEAR = "logistic regression / ridge"
KERNEL = "RBF kernel (SVM; Nystroem for n > 10,000)"
TORCH_MODELS = (GLAI_DEFAULTS, EQUAL_PARAMETERS, EQUAL_WIDTH, CONTROL)
KERNEL_EXACT_LIMIT = 10_000
VALIDATION_FRACTION = inspect.signature(GLAIClassifier).parameters["validation_fraction"].default
DEFAULT_WIDTH = DEFAULT_HIDDEN_FEATURES


@dataclass
class Split:
    """One training/test split of a task, features prepared on the training part
    (:func:`glai_bench.preparation.prepare`): (n, d) float32."""

    kind: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int

    @property
    def outputs(self) -> int:
        return int(self.y_train.max()) + 1 if self.kind == CLASSIFICATION else 1


@dataclass
class Fitted:
    """One model trained on one split."""

    model: str
    seed: int
    test_metric: float
    seconds: float
    history: History | None = field(default=None, repr=False)
    test_auc: float | None = None  # ROC AUC on a binary task


def equal_parameter_width(in_features: int, width: int, out_features: int) -> int:
    """The MLP width whose parameters come closest to a GLAI of ``width`` (structure and
    paths: twice an MLP of that width)."""
    target = 2 * mlp_parameter_count(in_features, width, out_features)
    candidates = range(width, 4 * width + 1)
    return min(
        candidates, key=lambda w: abs(mlp_parameter_count(in_features, w, out_features) - target)
    )


@dataclass
class TorchSplit:
    """A split as the torch models train on it: the training part less a validation part
    (the estimators' share, stratified where every class can be), a regression's targets
    standardised on the training part to (n, 1); the test inputs as a tensor.

    Attributes:
        fit: (x, y) the models train on.
        val: (x, y) that selects their epochs.
        x_test: (n_test, d) test inputs.
        loss: ``"cross_entropy"`` or ``"mse"``, for :func:`glai.fit`.
        y_mean, y_scale: the standardisation of a regression's targets (0 and 1 otherwise).
    """

    fit: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    x_test: torch.Tensor
    loss: str
    y_mean: float = 0.0
    y_scale: float = 1.0


def torch_split(split: Split) -> TorchSplit:
    """The tensors the torch models of ``split`` train and are tested on."""
    from sklearn.model_selection import train_test_split

    x, x_test = torch.from_numpy(split.x_train), torch.from_numpy(split.x_test)
    classification = split.kind == CLASSIFICATION
    y, y_mean, y_scale = torch.from_numpy(split.y_train), 0.0, 1.0
    if not classification:
        y_mean, y_scale = float(y.mean()), float(y.std()) or 1.0
        y = ((y - y_mean) / y_scale).float().unsqueeze(1)
    stratify = split.y_train if classification else None
    try:
        parts = train_test_split(
            x, y, test_size=VALIDATION_FRACTION, random_state=split.seed, stratify=stratify
        )
    except ValueError:  # a class too small to stratify
        parts = train_test_split(x, y, test_size=VALIDATION_FRACTION, random_state=split.seed)
    x_fit, x_val, y_fit, y_val = parts
    loss = "cross_entropy" if classification else "mse"
    return TorchSplit((x_fit, y_fit), (x_val, y_val), x_test, loss, y_mean, y_scale)


@torch.no_grad()
def scored_on_test(
    split: Split, data: TorchSplit, model: torch.nn.Module
) -> tuple[float, float | None]:
    """``model``'s test metric on ``split`` (accuracy, or R² of the targets in their own
    units) and its ROC AUC on a binary task (else ``None``); ``model`` is left in eval
    mode."""
    model.eval()
    output = model(data.x_test)
    if split.kind == CLASSIFICATION:
        metric = float((output.argmax(1).numpy() == split.y_test).mean())
        return metric, binary_auc(split, output.softmax(1)[:, -1].numpy())
    prediction = output[:, 0].double().numpy() * data.y_scale + data.y_mean
    return r2(split.y_test, prediction), None


def torch_models(
    split: Split, overrides: dict[str, Any], names: Sequence[str] = TORCH_MODELS
) -> list[Fitted]:
    """GLAI with the defaults of ``glai.fit`` and of the estimators' width, the two MLPs
    of the paper's comparison, and the control: the equal-width MLP trained in GLAI's two
    phases (switching after as many structural epochs as GLAI did, then the same solver)
    with nothing frozen. All trained by the same ``fit`` on the same validation split
    (the estimators' share, stratified) of the prepared features (:func:`torch_split`).

    Args:
        split: the task's split.
        overrides: fit settings given to every model.
        names: the models to train, of :data:`TORCH_MODELS` (the control needs GLAI).
    """
    data = torch_split(split)
    features, outputs = data.x_test.shape[1], split.outputs
    builders: dict[str, Callable[[], torch.nn.Module]] = {
        GLAI_DEFAULTS: lambda: GLAI(features, DEFAULT_WIDTH, outputs),
        EQUAL_PARAMETERS: lambda: MLP(
            features, equal_parameter_width(features, DEFAULT_WIDTH, outputs), outputs
        ),
        EQUAL_WIDTH: lambda: MLP(features, DEFAULT_WIDTH, outputs),
        CONTROL: lambda: MLP(features, DEFAULT_WIDTH, outputs),
    }
    results: list[Fitted] = []
    for name, build in builders.items():
        if name not in names:
            continue
        torch.manual_seed(split.seed)
        model = build()
        monitor = None
        if name == CONTROL:  # switch where GLAI did: a threshold of 0 never fires first
            switch = results[0].history.switch_epoch
            monitor = StructureMonitor.after(switch)
        history = fit(
            model,
            data.fit,
            data.val,
            loss=data.loss,
            seed=split.seed,
            monitor=monitor,
            **overrides,
        )
        metric, auc = scored_on_test(split, data, model)
        results.append(Fitted(name, split.seed, metric, history[-1].seconds, history, auc))
    return results


def binary_auc(split: Split, scores: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` (higher: class 1) on a binary split's test part; ``None``
    for other splits, or when the test part holds one class only."""
    from sklearn.metrics import roc_auc_score

    if split.outputs != 2 or len(np.unique(split.y_test)) != 2:
        return None
    return float(roc_auc_score(split.y_test, scores))


def r2(truth: np.ndarray, prediction: np.ndarray) -> float:
    """The coefficient of determination (scikit-learn's ``r2_score``)."""
    residual = float(((truth - prediction) ** 2).sum())
    return 1.0 - residual / float(((truth - truth.mean()) ** 2).sum())


def sklearn_models(split: Split, names: Sequence[str] | None = None) -> list[Fitted]:
    """scikit-learn's MLP with its defaults, the linear model and an RBF kernel method,
    trained on the whole training part of the prepared features.

    Args:
        split: the task's split.
        names: the models to train (all when ``None``).
    """
    results = []
    for name, estimator in _sklearn_estimators(split).items():
        if names is not None and name not in names:
            continue
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: defaults are the point
            estimator.fit(split.x_train, split.y_train)
        seconds = time.perf_counter() - start
        metric = float(estimator.score(split.x_test, split.y_test))
        auc = None
        if split.kind == CLASSIFICATION:
            auc = binary_auc(split, _class_one_scores(estimator, split.x_test))
        results.append(Fitted(name, split.seed, metric, seconds, test_auc=auc))
    return results


def _class_one_scores(estimator: Any, x: np.ndarray) -> np.ndarray:
    """How much ``estimator`` favours the last class on ``x`` (probability or margin)."""
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(x)[:, -1]
    return estimator.decision_function(x)


def _sklearn_estimators(split: Split) -> dict[str, Any]:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    seed = split.seed
    large = len(split.x_train) > KERNEL_EXACT_LIMIT
    nystroem = Nystroem(n_components=1000, random_state=seed)
    if split.kind == CLASSIFICATION:
        mlp, linear = MLPClassifier(random_state=seed), LogisticRegression(max_iter=1000)
        kernel = [nystroem, LogisticRegression(max_iter=1000)] if large else [SVC()]
    else:
        mlp, linear = MLPRegressor(random_state=seed), Ridge()
        kernel = [nystroem, Ridge()] if large else [SVR()]
    kernel_model = make_pipeline(*kernel)
    if split.kind != CLASSIFICATION:  # an RBF kernel needs centred, scaled targets
        kernel_model = TransformedTargetRegressor(kernel_model, transformer=StandardScaler())
    return {SKLEARN_MLP: mlp, LINEAR: linear, KERNEL: kernel_model}
