import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, StackDataset, TensorDataset

from glai import GLAI, MaskCache
from glai.nn.mask_cache import pack_bits, unpack_bits
from problems import DEPTHS


@pytest.mark.parametrize("width", [1, 7, 8, 9, 64, 100], ids=str)
def test_pack_unpack_round_trip(width):
    mask = torch.rand(13, width) > 0.5
    packed = pack_bits(mask)
    assert packed.dtype == torch.uint8
    assert packed.shape == (13, -(-width // 8))
    assert torch.equal(unpack_bits(packed, width), mask)


def frozen(hidden):
    return GLAI(5, hidden, 3).freeze_structure()


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_cached_masks_give_the_recomputed_outputs(hidden):
    model = frozen(hidden)
    x = torch.randn(50, 5)
    cache = MaskCache.build(model, x, batch_size=16)
    index = torch.tensor([3, 0, 49, 17])
    cached = model(x[index], masks=cache[index])
    assert torch.equal(cached, model(x[index]))


def test_one_bit_per_unit():
    model = frozen([16, 9])
    cache = MaskCache.build(model, torch.randn(40, 5))
    assert cache.nbytes == 40 * (2 + 2)
    assert len(cache) == 40


@pytest.mark.parametrize("index", [0, 9, -1], ids=["first", "last", "negative"])
def test_int_index_gives_one_sample(index):
    model = frozen([6, 4])
    x = torch.randn(10, 5)
    cache = MaskCache.build(model, x)
    sample = cache[index]
    assert [m.shape for m in sample] == [(6,), (4,)]
    assert all(torch.equal(a, b[0]) for a, b in zip(sample, model.masks(x[[index]])))


def test_int_index_out_of_range_is_refused():
    cache = MaskCache.build(frozen([6, 4]), torch.randn(10, 5))
    with pytest.raises(IndexError, match="out of range"):
        cache[10]


def test_built_from_a_dataset_equals_built_from_tensors():
    model = frozen([6, 4])
    x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    from_tensor = MaskCache.build(model, x, batch_size=7)
    from_dataset = MaskCache.build(model, TensorDataset(x, y), batch_size=7)
    assert all(torch.equal(a, b) for a, b in zip(from_tensor.packed, from_dataset.packed))


def test_feeds_a_dataloader_next_to_the_features():
    model = frozen([6, 4])
    x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    data = StackDataset(TensorDataset(x, y), MaskCache.build(model, x))
    (batch_x, _), masks = next(iter(DataLoader(data, batch_size=8)))
    assert [m.shape for m in masks] == [(8, 6), (8, 4)]
    assert torch.equal(model(batch_x, masks=masks), model(batch_x))


def test_inconsistent_packing_is_refused():
    with pytest.raises(ValueError, match="needs uint8 packing"):
        MaskCache([torch.zeros(4, 3, dtype=torch.uint8)], [8])
    with pytest.raises(ValueError, match="different lengths"):
        MaskCache(
            [torch.zeros(4, 1, dtype=torch.uint8), torch.zeros(5, 1, dtype=torch.uint8)], [8, 8]
        )


def test_samples_with_several_views_are_cached_whole():
    model = frozen([6, 5])
    x = torch.randn(12, 2, 5)  # 12 samples, 2 views each
    cache = MaskCache.build(model, x, batch_size=5)
    assert cache.sample_shape == (2,)
    assert cache.nbytes == 12 * (2 + 2)  # 12 and 10 bits per sample
    index = torch.tensor([0, 11, 4])
    masks = cache[index]
    assert [m.shape for m in masks] == [(3, 2, 6), (3, 2, 5)]
    assert torch.equal(model(x[index], masks=masks), model(x[index]))
    assert [m.shape for m in cache[3]] == [(2, 6), (2, 5)]


def test_float_masks_give_the_same_outputs():
    model = frozen([6, 4])
    x = torch.randn(20, 5)
    cache = MaskCache.build(model, x)
    index = torch.arange(20)
    as_float = cache.get(index, torch.float32)
    assert all(m.dtype == torch.float32 for m in as_float)
    assert all(torch.equal(f.bool(), b) for f, b in zip(as_float, cache[index]))
    assert torch.equal(model(x, masks=as_float), model(x, masks=cache[index]))


@pytest.mark.parametrize("width", [1, 9, 100], ids=str)
def test_cpu_and_generic_packing_agree(width, monkeypatch):
    mask = torch.rand(7, width) > 0.5
    fast = pack_bits(mask)
    meta_like = mask.to("meta")  # take the device-generic path, then compare on the CPU
    assert pack_bits(meta_like).shape == fast.shape
    generic = torch.zeros(7, -(-width // 8) * 8, dtype=torch.uint8)
    generic[:, :width] = mask
    shifts = torch.arange(8, dtype=torch.uint8)
    expected = (generic.view(7, -1, 8) << shifts).sum(-1, dtype=torch.uint8)
    assert torch.equal(fast, expected)


def with_norms(model):
    """Give the structure's norm layers running statistics away from 0 and 1."""
    model(torch.randn(64, 5) * 2 + 1)
    return model


@pytest.mark.parametrize("norm", [None, nn.BatchNorm1d], ids=["plain", "batch-norm"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_built_from_first_products_equals_built_from_inputs(hidden, bias, norm):
    model = with_norms(GLAI(5, hidden, 3, bias=bias, norm_layer=norm)).freeze_structure()
    x = torch.randn(50, 5)
    products = x @ model.structure[0].weight.detach().T
    direct = MaskCache.build(model, x, batch_size=16)
    shortcut = MaskCache.build(model, x, batch_size=16, first_products=products)
    assert all(torch.equal(a, b) for a, b in zip(direct.packed, shortcut.packed))


@pytest.mark.parametrize("hidden", DEPTHS, ids=str)
def test_cached_masks_with_batch_norm_and_views(hidden):
    model = with_norms(GLAI(5, hidden, 3, norm_layer=nn.BatchNorm1d)).freeze_structure()
    x = torch.randn(12, 2, 5)
    cache = MaskCache.build(model, x, batch_size=5)
    index = torch.tensor([0, 11, 4])
    assert all(torch.equal(a, b) for a, b in zip(cache[index], model.masks(x[index])))
    assert torch.equal(model(x[index], masks=cache[index]), model(x[index]))
