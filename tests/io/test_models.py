import functools
import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from glai import GLAI, MLP, SimCLRProjectionHead, load, prune, read_info, save
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


NORMS = {
    "batch-norm": nn.BatchNorm1d,
    "partial": functools.partial(nn.BatchNorm1d, eps=1e-3, momentum=None),
    "no-affine": functools.partial(nn.BatchNorm1d, affine=False),
}


@pytest.mark.parametrize("norm", NORMS, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("frozen", [False, True], ids=["structural", "frozen"])
def test_round_trip_with_norm_layers_is_bit_identical(norm, dtype, frozen, tmp_path):
    model = GLAI(5, [6, 4], 3, dtype=dtype, norm_layer=NORMS[norm])
    with torch.no_grad():
        model(torch.randn(64, 5, dtype=dtype) + 1)  # running statistics
    if frozen:
        model.freeze_structure()
    save(model, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    assert loaded.frozen == frozen
    assert all(torch.equal(t, loaded.state_dict()[k]) for k, t in model.state_dict().items())
    for old, new in zip(model.structure.norms, loaded.structure.norms):
        assert (new.eps, new.momentum, new.affine) == (old.eps, old.momentum, old.affine)
    x = torch.randn(20, 5, dtype=dtype)
    model.eval()
    loaded.eval()
    assert torch.equal(loaded(x), model(x))
    loaded.train()
    loaded(x)  # the momentum setting came back too: statistics move alike
    model.train()
    model(x)
    assert all(torch.equal(t, loaded.state_dict()[k]) for k, t in model.state_dict().items())


def test_mlp_with_norm_layers_round_trip(tmp_path):
    model = MLP(5, [6, 4], 2, norm_layer=nn.BatchNorm1d)
    model(torch.randn(16, 5))
    save(model, tmp_path / "mlp.safetensors")
    loaded = load(tmp_path / "mlp.safetensors").eval()
    assert read_info(tmp_path / "mlp.safetensors")["config"]["norm_layer"]["type"] == "BatchNorm1d"
    x = torch.randn(3, 5)
    assert torch.equal(loaded(x), model.eval()(x))


def test_a_file_written_before_norm_layers_loads(tmp_path):
    model = GLAI(5, [6, 4], 3)
    config = {"kind": "GLAI", "in_features": 5, "hidden_features": [6, 4], "out_features": 3}
    config |= {"bias": True, "dtype": "torch.float32"}  # no "norm_layer" key
    metadata = {"format": "glai", "format_version": "1", "config": json.dumps(config)}
    save_file(model.state_dict(), tmp_path / "old.safetensors", metadata=metadata)
    loaded = load(tmp_path / "old.safetensors")
    assert loaded.structure.norms == [None, None]
    x = torch.randn(4, 5)
    assert torch.equal(loaded(x), model(x))


def test_an_unknown_norm_layer_is_named(tmp_path):
    path = tmp_path / "m.safetensors"
    save(GLAI(5, 4, 3), path)
    info = read_info(path)
    config = {**info["config"], "norm_layer": {"type": "LayerNorm"}}
    metadata = {"format": "glai", "format_version": "1", "config": json.dumps(config)}
    save_file(GLAI(5, 4, 3).state_dict(), path, metadata=metadata)
    with pytest.raises(ValueError, match="unknown norm layer"):
        load(path)


def test_a_projection_head_is_saved_as_a_glai(tmp_path):
    head = SimCLRProjectionHead(5, 8, 3)
    save(head, tmp_path / "head.safetensors")
    loaded = load(tmp_path / "head.safetensors")
    assert type(loaded) is GLAI
    assert loaded.structure.norms[0] is not None


@pytest.mark.parametrize(
    "build",
    [
        lambda: MLP(5, [8, 6], 3),
        lambda: GLAI(5, [8, 6], 3),
        lambda: GLAI(5, [8, 6], 3, norm_layer=nn.BatchNorm1d).freeze_structure(),
    ],
    ids=["mlp", "glai", "glai-frozen-batch-norm"],
)
def test_a_pruned_model_round_trips(build, tmp_path):
    pruned = prune(build(), 0.5).eval()
    save(pruned, tmp_path / "pruned.safetensors")
    loaded = load(tmp_path / "pruned.safetensors").eval()
    x = torch.randn(7, 5)
    assert type(loaded) is type(pruned) and loaded.hidden_features == [4, 3]
    assert torch.equal(loaded(x), pruned(x))
