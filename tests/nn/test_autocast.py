"""Mixed precision: under ``torch.autocast`` a GLAI takes what ``nn.Linear`` takes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from glai import GLAI, MLP

STAGES = ["structural", "switched"]
MASKS = {
    "computed": lambda model, x: None,
    "cached-bool": lambda model, x: model.masks(x),
    "cached-float": lambda model, x: [mask.float() for mask in model.masks(x)],
}
CUDA_DTYPES = [torch.float16, torch.bfloat16]


def block(stage, norm=None, device="cpu"):
    model = GLAI(5, [6, 4], 3, norm_layer=norm, device=device)
    if norm is not None:  # running statistics that are not the identity
        with torch.no_grad():
            model(3 * torch.randn(64, 5, device=device) + 1)
    return model.freeze_structure() if stage == "switched" else model


def linear_like(model, x, dtype, device_type="cpu"):
    """What ``nn.Linear`` layers give under autocast: the model's layers one by one."""
    with torch.autocast(device_type, dtype=dtype):
        if not model.frozen:
            return model.structure(x)
        masks = [z > 0 for z in model.structure.pre_activations(x)]
        hidden = x
        for path, mask in zip(model.paths[:-1], masks):
            hidden = path(hidden) * mask
        return model.paths[-1](hidden)


@pytest.mark.parametrize("input_dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("norm", [None, nn.BatchNorm1d], ids=["plain", "batch-norm"])
@pytest.mark.parametrize("stage", STAGES)
def test_bf16_autocast_on_cpu_gives_what_linear_layers_give(stage, norm, input_dtype, inputs):
    model = block(stage, norm).eval()
    x = inputs.to(input_dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = model(x)
    assert output.dtype == torch.bfloat16
    torch.testing.assert_close(output, linear_like(model, x, torch.bfloat16), rtol=0, atol=0)


@pytest.mark.parametrize("masks", MASKS, ids=str)
def test_cached_masks_under_autocast_give_the_computed_output(masks, inputs):
    model = block("switched")
    x = inputs.bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        given = MASKS[masks](model, x)
        output = model(x, masks=given)
        with torch.no_grad():
            inference = model(x)
        assert all(mask.dtype == torch.bool for mask in model.masks(x))
    assert output.dtype == inference.dtype == torch.bfloat16
    torch.testing.assert_close(output.detach(), inference, rtol=0, atol=0)


@pytest.mark.parametrize("stage", STAGES)
def test_training_under_autocast_reaches_what_trains(stage, inputs):
    model = block(stage)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.mse_loss(model(inputs).float(), torch.ones(len(inputs), 3))
    loss.backward()
    trained = model.paths if stage == "switched" else model.structure
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in trained.parameters())


def test_outside_autocast_a_dtype_mismatch_is_still_named(inputs):
    for model in (block("structural"), block("switched")):
        with pytest.raises(TypeError, match="dtype torch.bfloat16, the model's parameters are"):
            model(inputs.bfloat16())


def test_under_autocast_float64_is_refused_as_linear_refuses_it(inputs):
    model = block("switched")
    with (
        torch.autocast("cpu", dtype=torch.bfloat16),
        pytest.raises(TypeError, match="autocast is on, but it casts only"),
    ):
        model(inputs.double())


def test_a_float64_model_under_autocast_takes_float64(inputs):
    model = MLP(5, 4, 3, dtype=torch.float64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(inputs.double()).dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", CUDA_DTYPES, ids=str)
@pytest.mark.parametrize("stage", STAGES)
def test_autocast_on_cuda_gives_what_linear_layers_give(stage, dtype):
    model = block(stage, nn.BatchNorm1d, device="cuda").eval()
    x = torch.randn(32, 5, device="cuda").to(dtype)
    with torch.autocast("cuda", dtype=dtype):
        output = model(x)
        cached = model(x, masks=model.masks(x)) if model.frozen else output
    assert output.dtype == cached.dtype == dtype
    torch.testing.assert_close(output, linear_like(model, x, dtype, "cuda"), rtol=0, atol=0)
    torch.testing.assert_close(cached, output, rtol=0, atol=0)
