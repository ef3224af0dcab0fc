import json

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from glai.io.features import extract_features, load_features
from problems import CountingBackbone


@pytest.fixture
def images():
    return torch.randn(50, 6)


def test_extracts_in_order_and_caches(images, tmp_path):
    backbone = CountingBackbone()
    path = tmp_path / "f.npy"
    features = extract_features(backbone, images, path, batch_size=16)
    torch.testing.assert_close(features, backbone.linear(images).detach())
    assert backbone.seen == 50
    again = extract_features(backbone, images, path, batch_size=16)
    assert backbone.seen == 50  # loaded, not recomputed
    assert torch.equal(again, features)


def test_a_dataset_of_pairs_gives_the_same_features(images, tmp_path):
    backbone = CountingBackbone()
    from_tensor = extract_features(backbone, images, tmp_path / "a.npy", batch_size=7)
    dataset = TensorDataset(images, torch.zeros(50))
    from_dataset = extract_features(backbone, dataset, tmp_path / "b.npy", batch_size=7)
    assert torch.equal(from_tensor, from_dataset)


def test_an_interrupted_extraction_resumes(images, tmp_path):
    path = tmp_path / "f.npy"
    backbone = CountingBackbone(fail_after=20)
    with pytest.raises(KeyboardInterrupt):
        extract_features(backbone, images, path, batch_size=10)
    assert not path.exists()  # nothing half-written under the final name
    backbone.fail_after = None
    features = extract_features(backbone, images, path, batch_size=10)
    assert backbone.seen == 50  # 20 before the interruption, 30 after
    torch.testing.assert_close(features, backbone.linear(images).detach())


def test_other_weights_rebuild_the_cache(images, tmp_path):
    path = tmp_path / "f.npy"
    backbone = CountingBackbone()
    extract_features(backbone, images, path)
    with torch.no_grad():
        backbone.linear.weight.mul_(2)
    features = extract_features(backbone, images, path)
    torch.testing.assert_close(features, backbone.linear(images).detach())


def test_other_data_or_key_rebuild_the_cache(images, tmp_path):
    path = tmp_path / "f.npy"
    backbone = CountingBackbone()
    extract_features(backbone, images, path)
    extract_features(backbone, images + 1, path)
    assert backbone.seen == 100
    extract_features(backbone, images + 1, path, key="resized to 64")
    assert backbone.seen == 150


def test_a_damaged_cache_is_rebuilt(images, tmp_path):
    path = tmp_path / "f.npy"
    backbone = CountingBackbone()
    expected = extract_features(backbone, images, path)
    path.write_bytes(path.read_bytes()[:100])
    assert torch.equal(extract_features(backbone, images, path), expected)
    assert backbone.seen == 100


def test_the_fingerprint_is_stored_next_to_the_array(images, tmp_path):
    path = tmp_path / "f.npy"
    extract_features(CountingBackbone(), images, path, key="k")
    meta = json.loads((tmp_path / "f.npy.json").read_text())
    assert meta["complete"] and meta["rows"] == 50 and meta["key"] == "k"
    assert np.load(path).shape == (50, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npy", "f.npy.json"]


def test_mapped_features_equal_loaded_ones(tmp_path):
    path = tmp_path / "f.npy"
    np.save(path, np.arange(12, dtype=np.float32).reshape(4, 3))
    assert torch.equal(load_features(path, mmap=True), load_features(path))
