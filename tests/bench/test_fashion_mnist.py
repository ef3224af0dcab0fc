import gzip

import numpy as np
import pytest

from glai_bench.fashion_mnist import fashion_mnist_available, load_fashion_mnist, read_idx


def idx_bytes(array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fake(root, images=7, labels=7):
    root.mkdir(exist_ok=True)
    names = {
        "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    }
    for image_name, label_name in names.values():
        (root / image_name).write_bytes(gzip.compress(idx_bytes(np.ones((images, 28, 28)))))
        (root / label_name).write_bytes(gzip.compress(idx_bytes(np.arange(labels) % 10)))


def test_reads_idx_files(tmp_path):
    write_fake(tmp_path / "fm")
    images, labels = load_fashion_mnist("test", tmp_path / "fm")
    assert images.shape == (7, 28, 28)
    assert labels.tolist() == list(range(7))


def test_environment_variable_points_at_the_files(tmp_path, monkeypatch):
    write_fake(tmp_path / "fm")
    monkeypatch.setenv("GLAI_FASHION_MNIST", str(tmp_path / "fm"))
    assert fashion_mnist_available()


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path)


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(np.ones((4, 3)))[:-2])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_mismatched_counts_are_named(tmp_path):
    write_fake(tmp_path / "fm", images=7, labels=6)
    with pytest.raises(ValueError, match="7 images but 6 labels"):
        load_fashion_mnist("train", tmp_path / "fm")


@pytest.mark.skipif(not fashion_mnist_available(), reason="dataset-fashion-mnist not installed")
def test_the_installed_data_set():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 28, 28)
    assert sorted(labels.unique().tolist()) == list(range(10))
