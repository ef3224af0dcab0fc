"""Mask cache files: written with the cache's fingerprint, read back, mapped from disk."""

import pytest
import torch

from glai import GLAI, MaskCache
from glai.io import load_masks, save_masks


def test_mask_cache_can_stay_on_disk(tmp_path):
    model = GLAI(5, [9, 4], 2).freeze_structure()
    x = torch.randn(30, 5)
    cache = MaskCache.build(model, x)
    save_masks(cache, tmp_path / "masks.pt")
    mapped = load_masks(tmp_path / "masks.pt", mmap=True)
    index = torch.tensor([2, 7, 29])
    assert all(torch.equal(a, b) for a, b in zip(mapped[index], cache[index]))


def test_the_fingerprint_round_trips(tmp_path):
    cache = MaskCache.build(GLAI(5, 4, 2).freeze_structure(), torch.randn(6, 5), fingerprint="f1")
    save_masks(cache, tmp_path / "masks.pt")
    assert load_masks(tmp_path / "masks.pt").fingerprint == "f1"


def test_a_file_of_the_first_format_is_named(tmp_path):
    torch.save({"format": "glai-masks-1", "packed": []}, tmp_path / "masks.pt")
    with pytest.raises(ValueError, match="expected format tag 'glai-masks-2'"):
        load_masks(tmp_path / "masks.pt")
