"""The one atomic writer behind every file kind, and the format tags checked on load."""

import dataclasses
import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import glai
from glai.io.atomic import write_atomic
from glai.io.features import CACHE_FORMAT, extract_features, load_features
from glai.io.masks import FORMAT as MASKS_FORMAT
from glai.io.masks import load_masks, save_masks
from glai.nn.mask_cache import MaskCache
from glai.training.checkpoint import FORMAT as CHECKPOINT_FORMAT
from glai.training.checkpoint import checkpoint_path, read_checkpoint, write_checkpoint
from problems import CountingBackbone

IMAGES = torch.arange(120, dtype=torch.float32).reshape(20, 6) / 120


def write_model(directory: Path, version: int) -> None:
    glai.save(glai.GLAI(5, 4, 3), directory / "model.safetensors", info={"version": version})


def read_model(directory: Path) -> int:
    glai.load(directory / "model.safetensors")
    return glai.read_info(directory / "model.safetensors")["info"]["version"]


def write_checkpoint_version(directory: Path, version: int) -> None:
    write_checkpoint(directory, {"version": version})


def read_checkpoint_version(directory: Path) -> int:
    return read_checkpoint(directory)["version"]


def write_masks(directory: Path, version: int) -> None:
    cache = MaskCache.build(glai.GLAI(5, [4, 3], 2), torch.randn(version + 3, 5))
    save_masks(cache, directory / "masks.pt")


def read_masks(directory: Path) -> int:
    return len(load_masks(directory / "masks.pt")) - 3


def write_features(directory: Path, version: int) -> None:
    path = directory / "f.npy"
    extract_features(CountingBackbone(), IMAGES, path, batch_size=8, key=str(version))


def read_features(directory: Path) -> int:
    assert load_features(directory / "f.npy").shape == (20, 3)
    return int(json.loads((directory / "f.npy.json").read_text())["key"])


@dataclasses.dataclass(frozen=True)
class Kind:
    """How to write version ``v`` of one file kind into a directory and read ``v`` back."""

    write: Callable[[Path, int], None]
    read: Callable[[Path], int]
    files: tuple[str, ...]


KINDS = {
    "model": Kind(write_model, read_model, ("model.safetensors",)),
    "checkpoint": Kind(write_checkpoint_version, read_checkpoint_version, ("checkpoint.pt",)),
    "masks": Kind(write_masks, read_masks, ("masks.pt",)),
    "features": Kind(write_features, read_features, ("f.npy", "f.npy.json")),
}
REPLACED_KINDS = ["model", "checkpoint", "masks"]  # one file, rewritten in place
KIND_FILES = [(KINDS[kind], name) for kind in KINDS for name in KINDS[kind].files]
KIND_FILE_IDS = [f"{kind}-{name}" for kind in KINDS for name in KINDS[kind].files]


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_a_write_leaves_no_temporary_file_and_reads_back(kind, tmp_path):
    kind.write(tmp_path, 1)
    assert kind.read(tmp_path) == 1
    assert names(tmp_path) == sorted(kind.files)
    kind.write(tmp_path, 2)  # over the previous file
    assert kind.read(tmp_path) == 2
    assert names(tmp_path) == sorted(kind.files)


def foreign_model(directory: Path) -> Path:
    path = directory / "model.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "other"})
    return path


def model_of_another_version(directory: Path) -> Path:
    path = directory / "model.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "glai", "format_version": "9"})
    return path


def foreign_checkpoint(directory: Path) -> Path:
    torch.save({"format": "other", "version": 1}, checkpoint_path(directory))
    return checkpoint_path(directory)


def foreign_masks(directory: Path) -> Path:
    path = directory / "masks.pt"
    torch.save({"format": "other", "packed": [], "widths": [], "sample_shape": []}, path)
    return path


@pytest.mark.parametrize(
    ("make", "read", "expected", "found"),
    [
        (foreign_model, read_model, "'glai'", "'other'"),
        (model_of_another_version, read_model, "'1'", "'9'"),
        (foreign_checkpoint, read_checkpoint_version, repr(CHECKPOINT_FORMAT), "'other'"),
        (foreign_masks, read_masks, repr(MASKS_FORMAT), "'other'"),
    ],
    ids=["model", "model-version", "checkpoint", "masks"],
)
def test_a_foreign_format_tag_is_refused_naming_the_file_and_the_tags(
    make, read, expected, found, tmp_path
):
    path = make(tmp_path)
    with pytest.raises(ValueError) as refused:
        read(tmp_path)
    message = str(refused.value)
    assert str(path) in message
    assert f"expected {expected}" in message or f"expected format tag {expected}" in message
    assert f"found {found}" in message


def finished_cache(directory: Path) -> tuple[CountingBackbone, Path]:
    backbone = CountingBackbone()
    extract_features(backbone, IMAGES, directory / "f.npy", batch_size=8)
    return backbone, directory / "f.npy.json"


def partial_cache(directory: Path) -> tuple[CountingBackbone, Path]:
    backbone = CountingBackbone(fail_after=8)
    with pytest.raises(KeyboardInterrupt):
        extract_features(backbone, IMAGES, directory / "f.npy", batch_size=8)
    backbone.fail_after = None
    return backbone, directory / "f.npy.partial.json"


@pytest.mark.parametrize("make", [finished_cache, partial_cache], ids=["finished", "partial"])
def test_a_feature_cache_with_a_foreign_format_tag_is_rebuilt_and_logged(make, tmp_path, caplog):
    backbone, meta_path = make(tmp_path)
    meta = json.loads(meta_path.read_text())
    assert meta["format"] == CACHE_FORMAT
    meta_path.write_text(json.dumps({**meta, "format": "other"}))
    backbone.seen = 0
    with caplog.at_level(logging.WARNING, logger="glai.io.features"):
        features = extract_features(backbone, IMAGES, tmp_path / "f.npy", batch_size=8)
    assert backbone.seen == 20  # all of it again: neither loaded nor resumed
    torch.testing.assert_close(features, backbone.linear(IMAGES).detach())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        str(meta_path) in w and "'other'" in w and CACHE_FORMAT in w and "rebuilding" in w
        for w in warnings
    ), warnings
    assert json.loads((tmp_path / "f.npy.json").read_text())["format"] == CACHE_FORMAT
    assert names(tmp_path) == ["f.npy", "f.npy.json"]


@pytest.fixture
def disk_events(monkeypatch) -> list[tuple[str, object]]:
    """Every ``os.fsync`` (("fsync", inode)) and ``os.replace`` (("replace", target name)),
    in order."""
    events: list[tuple[str, object]] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(descriptor):
        events.append(("fsync", os.fstat(descriptor).st_ino))
        fsync(descriptor)

    def recording_replace(source, target):
        replace(source, target)
        events.append(("replace", Path(target).name))

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    return events


@pytest.mark.parametrize(("kind", "name"), KIND_FILES, ids=KIND_FILE_IDS)
def test_the_file_is_fsynced_then_renamed_then_its_directory_fsynced(
    kind, name, tmp_path, disk_events
):
    kind.write(tmp_path, 1)
    directory = ("fsync", tmp_path.stat().st_ino)
    renamed = len(disk_events) - 1 - disk_events[::-1].index(("replace", name))
    # a rename keeps the inode: the file fsynced is the one now under its final name
    file_synced = disk_events.index(("fsync", (tmp_path / name).stat().st_ino))
    assert file_synced < renamed
    assert directory in disk_events[renamed:]


@pytest.mark.parametrize("kind", [KINDS[k] for k in REPLACED_KINDS], ids=REPLACED_KINDS)
def test_a_failed_rewrite_keeps_the_previous_file(kind, tmp_path, monkeypatch):
    kind.write(tmp_path, 1)
    before = {name: (tmp_path / name).read_bytes() for name in kind.files}

    def failing_fsync(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        kind.write(tmp_path, 2)
    monkeypatch.undo()
    assert names(tmp_path) == sorted(kind.files)
    assert {name: (tmp_path / name).read_bytes() for name in kind.files} == before
    assert kind.read(tmp_path) == 1


def test_a_failed_feature_extraction_leaves_no_temporary_file(tmp_path, monkeypatch):
    def failing_fsync(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_features(tmp_path, 1)
    monkeypatch.undo()
    assert not [name for name in names(tmp_path) if ".tmp-" in name]
    assert not (tmp_path / "f.npy").exists()
    write_features(tmp_path, 1)
    assert read_features(tmp_path) == 1
    assert names(tmp_path) == ["f.npy", "f.npy.json"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_exception_inside_write_keeps_the_previous_file(error, tmp_path):
    path = tmp_path / "f.bin"
    write_atomic(path, lambda handle: handle.write(b"old"))

    def failing(handle):
        handle.write(b"half of the new")
        raise error("stop")

    with pytest.raises(error, match="stop"):
        write_atomic(path, failing)
    assert path.read_bytes() == b"old"
    assert names(tmp_path) == ["f.bin"]


def test_concurrent_writers_use_their_own_temporary_files(tmp_path):
    path = tmp_path / "f.bin"
    seen: list[list[str]] = []

    def inner(handle):
        seen.append([name for name in names(tmp_path) if name != "f.bin"])
        handle.write(b"inner")

    def outer(handle):
        handle.write(b"outer")
        write_atomic(path, inner)  # a second writer while the first is still writing
        seen.append([name for name in names(tmp_path) if name != "f.bin"])

    write_atomic(path, outer)
    assert len(seen[0]) == 2 and len(set(seen[0])) == 2  # both temporaries side by side
    assert all(name.startswith(".f.bin.tmp-") for name in seen[0])
    assert path.read_bytes() == b"outer"  # the last rename wins, whole
    assert names(tmp_path) == ["f.bin"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)], ids=oct)
@pytest.mark.parametrize(("kind", "name"), KIND_FILES, ids=KIND_FILE_IDS)
def test_the_file_mode_respects_the_umask(kind, name, umask, mode, tmp_path):
    previous = os.umask(umask)
    try:
        kind.write(tmp_path, 1)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


@pytest.mark.parametrize(
    "write",
    [
        lambda path: write_atomic(path, lambda handle: handle.write(b"x")),
        lambda path: glai.save(glai.GLAI(5, 4, 3), path),
    ],
    ids=["write_atomic", "model"],
)
def test_a_missing_directory_is_named(write, tmp_path):
    path = tmp_path / "absent" / "file"
    with pytest.raises(FileNotFoundError) as missing:
        write(path)
    assert str(path) in str(missing.value) and ".tmp-" not in str(missing.value)
    assert missing.value.filename == str(path)
    assert names(tmp_path) == []


def test_a_checkpoint_creates_its_directory(tmp_path):
    write_checkpoint(tmp_path / "a" / "b", {"version": 3})
    assert read_checkpoint(tmp_path / "a" / "b")["version"] == 3
    assert names(tmp_path / "a" / "b") == ["checkpoint.pt"]


def test_a_mask_cache_creates_its_directory(tmp_path):
    write_masks(tmp_path / "a" / "b", 2)
    assert read_masks(tmp_path / "a" / "b") == 2
    assert names(tmp_path / "a" / "b") == ["masks.pt"]
