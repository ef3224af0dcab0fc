"""The same random_state trains the same model: weights, split, shuffling and probe."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from glai import GLAIClassifier, GLAIRegressor

QUICK = {"hidden_features": 16, "epochs": 4, "max_structural_epochs": 2}
OUTPUT = {GLAIClassifier: "predict_proba", GLAIRegressor: "predict"}

# the README's estimator example, with a seed, printing a digest of its probabilities
README_EXAMPLE = """
import hashlib
from sklearn.datasets import load_digits
import glai
X, y = load_digits(return_X_y=True)
model = glai.GLAIClassifier(hidden_features=64, random_state=0).fit(X, y)
print(hashlib.sha256(model.predict_proba(X).tobytes()).hexdigest())
"""


@pytest.fixture(scope="module")
def problem():
    return make_classification(n_samples=150, n_features=6, random_state=0)


def outputs(estimator_class, problem, seed, weights=None):
    x, y = problem
    fit_params = {} if weights is None else {"sample_weight": weights}
    model = estimator_class(**QUICK, random_state=seed).fit(x, y, **fit_params)
    return getattr(model, OUTPUT[estimator_class])(x)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("estimator_class", list(OUTPUT), ids=lambda c: c.__name__)
def test_the_same_random_state_gives_bit_identical_predictions(estimator_class, weighted, problem):
    weights = np.arange(len(problem[1])) % 4 + 1.0 if weighted else None
    first = outputs(estimator_class, problem, 3, weights)
    torch.manual_seed(123)  # the global generators do not matter
    np.random.seed(123)
    np.testing.assert_array_equal(outputs(estimator_class, problem, 3, weights), first)
    assert not np.array_equal(outputs(estimator_class, problem, 4, weights), first)


def test_fitting_leaves_torch_s_global_generator_alone(problem):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    GLAIClassifier(**QUICK, random_state=5).fit(*problem)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


@pytest.mark.slow
def test_the_readme_example_reproduces_in_fresh_processes():
    digests = {
        subprocess.run(
            [sys.executable, "-c", README_EXAMPLE],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1
