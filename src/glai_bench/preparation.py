"""How the panel (and ``glai compare``) prepares features on each training part, the way a
scikit-learn user does: a ``StandardScaler``, or for tables with categorical columns a
``ColumnTransformer`` that one-hot encodes them and scales the numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that hold words (text, booleans or pandas categories)."""
    return [
        name
        for name, dtype in frame.dtypes.items()
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ]


def preparation(categorical: Sequence[str] = (), numeric: Sequence[str] = ()):
    """An unfitted transformer that maps a training part's raw features to float32 inputs.

    Args:
        categorical: the categorical columns of a table; none: the features are a numeric
            array, scaled by a ``StandardScaler``.
        numeric: a table's numeric columns (used only with ``categorical``).

    Returns:
        ``StandardScaler()``, or a ``ColumnTransformer`` of
        ``OneHotEncoder(handle_unknown="ignore")`` on the categorical columns (a missing
        value is a category of its own) and ``StandardScaler`` on the numeric ones (a
        missing number is the training part's median), with dense float32 output.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if not categorical:
        return StandardScaler()
    words = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
    )
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return ColumnTransformer(
        [("categorical", words, list(categorical)), ("numeric", numbers, list(numeric))],
        sparse_threshold=0.0,
    )


def prepare(
    x_train: np.ndarray | pd.DataFrame,
    x_test: np.ndarray | pd.DataFrame,
    categorical: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Fit :func:`preparation` on ``x_train`` only and transform both parts.

    Args:
        x_train: (n_train, d) numbers, or a table with the columns ``categorical``.
        x_test: (n_test, d) the same kind.
        categorical: a table's categorical columns (the others are numeric).

    Returns:
        float32 arrays (n_train, d'), (n_test, d').
    """
    numeric = [c for c in getattr(x_train, "columns", ()) if c not in set(categorical)]
    transformer = preparation(categorical, numeric)
    if not categorical and isinstance(x_train, pd.DataFrame):
        x_train, x_test = x_train.to_numpy(np.float32), x_test.to_numpy(np.float32)
    train = transformer.fit_transform(x_train)
    return np.asarray(train, np.float32), np.asarray(transformer.transform(x_test), np.float32)
