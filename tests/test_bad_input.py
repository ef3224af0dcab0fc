"""Random bad inputs through the public API: only the documented exceptions come out."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glai
from glai.cli.tables import load_table

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DOCUMENTED = (ValueError, TypeError)
FEATURES = 5


@st.composite
def bad_tensors(draw):
    """Tensors a (batch, 5) float32 model must refuse: shape, dtype or device."""
    kind = draw(st.sampled_from(["features", "ndim", "dtype", "device", "not-a-tensor"]))
    rows = draw(st.integers(1, 6))
    if kind == "features":
        return torch.randn(rows, draw(st.integers(1, 9).filter(lambda n: n != FEATURES)))
    if kind == "ndim":
        return torch.randn(FEATURES) if draw(st.booleans()) else torch.tensor(1.0)
    if kind == "dtype":
        dtype = draw(st.sampled_from([torch.float64, torch.float16, torch.int64, torch.bool]))
        return torch.zeros(rows, FEATURES, dtype=dtype)
    if kind == "device":
        return torch.randn(rows, FEATURES, device="meta")
    return draw(st.sampled_from([None, 3.0, "x", [[0.0] * FEATURES]]))


@st.composite
def bad_training_sets(draw):
    """(X, y) pairs fit must refuse: non-finite values, lengths, labels, emptiness, types."""
    rows = draw(st.integers(2, 8))
    x = torch.randn(rows, FEATURES)
    y = torch.randint(0, 3, (rows,))
    kind = draw(
        st.sampled_from(
            [
                "nan",
                "inf",
                "lengths",
                "label-range",
                "float-labels",
                "empty",
                "x-shape",
                "y-shape",
                "numpy",
            ]
        )
    )
    if kind in ("nan", "inf"):
        x[draw(st.integers(0, rows - 1)), draw(st.integers(0, FEATURES - 1))] = (
            float("nan") if kind == "nan" else float("inf")
        )
    elif kind == "lengths":
        y = y[: draw(st.integers(0, rows - 1))]
    elif kind == "label-range":
        y[0] = draw(st.sampled_from([-1, 3, 100]))
    elif kind == "float-labels":
        y = y.float() + 0.5
    elif kind == "empty":
        x, y = x[:0], y[:0]
    elif kind == "x-shape":
        x = x[:, : draw(st.integers(1, FEATURES - 1))]
    elif kind == "y-shape":
        y = y.reshape(-1, 1).repeat(1, 2)
    else:
        x = x.numpy()
    return x, y


@SETTINGS
@given(bad=bad_tensors(), frozen=st.booleans())
def test_forward_refuses_bad_tensors(bad, frozen):
    model = glai.GLAI(FEATURES, 4, 3)
    if frozen:
        model.freeze_structure()
    with pytest.raises(DOCUMENTED):
        model(bad)


@SETTINGS
@given(bad=bad_tensors())
def test_masks_and_mask_cache_refuse_bad_tensors(bad):
    model = glai.GLAI(FEATURES, 4, 3).freeze_structure()
    with pytest.raises(DOCUMENTED):
        model.masks(bad)
    if isinstance(bad, torch.Tensor) and bad.ndim >= 1:
        with pytest.raises(DOCUMENTED):
            glai.MaskCache.build(model, bad)


@SETTINGS
@given(data=bad_training_sets())
def test_fit_refuses_bad_training_sets(data):
    with pytest.raises(DOCUMENTED):
        glai.fit(glai.GLAI(FEATURES, 4, 3), data, epochs=1)


@st.composite
def bad_arrays(draw):
    """(X, y) arrays a scikit-learn estimator must refuse."""
    rows = draw(st.integers(2, 8))
    x = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(rows, 3))
    y = np.arange(rows) % 2
    kind = draw(
        st.sampled_from(
            ["nan", "inf", "lengths", "one-class", "empty", "ndim", "strings", "continuous"]
        )
    )
    if kind == "nan":
        x[0, 0] = np.nan
    elif kind == "inf":
        x[-1, -1] = -np.inf
    elif kind == "lengths":
        y = y[:-1]
    elif kind == "one-class":
        y = np.zeros(rows)
    elif kind == "empty":
        x, y = x[:0], y[:0]
    elif kind == "ndim":
        x = x.ravel()
    elif kind == "strings":
        x = x.astype(str)
        x[0, 0] = "abc"
    else:
        y = np.linspace(0.15, 0.95, rows)
    return x, y


@SETTINGS
@given(data=bad_arrays())
def test_classifier_refuses_bad_arrays(data):
    with pytest.raises(DOCUMENTED):
        glai.GLAIClassifier(4, epochs=1, max_structural_epochs=1).fit(*data)


@pytest.fixture(scope="module")
def fitted_classifier():
    x = np.random.default_rng(0).normal(size=(40, 3))
    return glai.GLAIClassifier(4, epochs=1, max_structural_epochs=1).fit(x, x[:, 0] > 0)


@SETTINGS
@given(kind=st.sampled_from(["nan", "features", "ndim", "empty"]))
def test_predict_refuses_bad_arrays(kind, fitted_classifier):
    x = np.ones((4, 3))
    if kind == "nan":
        x[1, 1] = np.nan
    elif kind == "features":
        x = np.ones((4, 2))
    elif kind == "ndim":
        x = np.ones(3)
    else:
        x = np.ones((0, 3))
    with pytest.raises(ValueError):
        fitted_classifier.predict(x)


def test_labels_never_seen_in_fit_are_named(fitted_classifier):
    with pytest.raises(ValueError, match="never seen in fit: \\['maybe'\\]"):
        fitted_classifier.score(np.ones((2, 3)), np.array(["maybe", "maybe"]))


@SETTINGS
@given(content=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".npz", ".safetensors"]))
def test_random_files_give_documented_errors(content, suffix, tmp_path):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        if suffix == ".safetensors":
            glai.load(path)
        else:
            load_table(path)
