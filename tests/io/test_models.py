import pytest
import torch
from safetensors.torch import save_file

from glai import GLAI, MLP, load, read_info, save
from problems import DEPTHS, DTYPES


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("frozen", [False, True], ids=["structural", "frozen"])
def test_round_trip_is_bit_identical(hidden, dtype, frozen, tmp_path):
    model = GLAI(5, hidden, 3, dtype=dtype)
    if frozen:
        model.freeze_structure()
        with torch.no_grad():
            model.paths[0].weight.mul_(1.7)
    save(model, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    x = torch.randn(20, 5, dtype=dtype)
    assert loaded.frozen == frozen
    assert loaded.hidden_features == hidden
    assert torch.equal(loaded(x), model(x))


def test_mlp_round_trip(tmp_path):
    model = MLP(5, [6, 4], 2, bias=False)
    save(model, tmp_path / "mlp.safetensors")
    loaded = load(tmp_path / "mlp.safetensors")
    x = torch.randn(3, 5)
    assert isinstance(loaded, MLP)
    assert torch.equal(loaded(x), model(x))


def test_info_is_kept(tmp_path):
    save(GLAI(5, 4, 3), tmp_path / "m.safetensors", info={"switch_epoch": 7})
    info = read_info(tmp_path / "m.safetensors")
    assert info["info"] == {"switch_epoch": 7}
    assert info["config"]["hidden_features"] == [4]


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / "m.safetensors"
    save(GLAI(5, 4, 3), path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load(path)


def test_foreign_safetensors_is_named(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a glai model"):
        load(path)


def test_random_bytes_are_named(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(b"\x00\x01 not a model at all")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        load(tmp_path / "absent.safetensors")


def test_only_glai_models_are_saved(tmp_path):
    with pytest.raises(TypeError, match="glai.GLAI or glai.MLP"):
        save(torch.nn.Linear(2, 2), tmp_path / "x.safetensors")


def test_no_temporary_file_is_left(tmp_path):
    save(GLAI(5, 4, 3), tmp_path / "m.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
