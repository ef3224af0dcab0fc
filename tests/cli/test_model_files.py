import numpy as np
import pytest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from glai import GLAIRegressor
from glai.cli.main import main
from glai.sklearn import load_estimator, save_estimator

FAST = ["--epochs", "5", "--hidden", "16", "--structural-lr", "0.01"]


def test_a_model_file_of_glai_fit_loads_with_its_scaler(features_table, tmp_path, capsys):
    path, x = features_table
    model = tmp_path / "m.safetensors"
    assert main(["fit", str(path), "--label", "answer", "--out", str(model), *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(path), "--label", "answer"]) == 0
    printed = capsys.readouterr().out.splitlines()[1:]
    restored = load_estimator(model)
    assert isinstance(restored, Pipeline) and isinstance(restored[0], StandardScaler)
    np.testing.assert_allclose(restored[0].mean_, x.mean(0), rtol=1e-5, atol=1e-6)
    assert restored.predict(x).tolist() == printed


def test_only_a_standard_scaler_may_come_before_the_estimator(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 2))
    pipeline = make_pipeline(MinMaxScaler(), GLAIRegressor(4, epochs=1)).fit(x, x[:, 0])
    with pytest.raises(TypeError, match="got MinMaxScaler -> GLAIRegressor"):
        save_estimator(pipeline, tmp_path / "m.safetensors")
