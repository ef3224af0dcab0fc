"""Shared fixtures: a fixed seed and small float data made on the spot."""

import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture
def inputs() -> torch.Tensor:
    return torch.randn(32, 5)


@pytest.fixture(scope="session")
def digits() -> dict[str, torch.Tensor]:
    """scikit-learn's bundled digits, scaled to [0, 1], split train/val/test."""
    features, labels = load_digits(return_X_y=True)
    features = torch.tensor(features / 16.0, dtype=torch.float32)
    labels = torch.tensor(labels)
    x_rest, x_test, y_rest, y_test = train_test_split(
        features, labels, test_size=0.25, random_state=0, stratify=labels
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.2, random_state=0, stratify=y_rest
    )
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}
