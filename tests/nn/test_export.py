"""A GLAI leaves PyTorch as other modules do: torch.export, torch.jit.trace and ONNX."""

import warnings

import pytest
import torch
from torch import nn

from glai import GLAI

STAGES = ["structural", "switched"]
NORMS = {"plain": None, "batch-norm": nn.BatchNorm1d}


def block(stage, norm=None):
    model = GLAI(5, [6, 4], 3, norm_layer=norm)
    if norm is not None:  # running statistics that are not the identity
        with torch.no_grad():
            model(3 * torch.randn(64, 5) + 1)
    if stage == "switched":
        model.freeze_structure()
    return model.eval()


@pytest.mark.parametrize("norm", NORMS, ids=str)
@pytest.mark.parametrize("stage", STAGES)
def test_torch_export_gives_the_model_s_output(stage, norm, inputs):
    model = block(stage, NORMS[norm])
    program = torch.export.export(model, (inputs,))
    other = torch.randn(32, 5)
    torch.testing.assert_close(program.module()(other), model(other), rtol=0, atol=0)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace.*` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no-grad"])
@pytest.mark.parametrize("stage", STAGES)
def test_jit_trace_passes_its_checks_and_follows_the_model(stage, grad, inputs):
    model = block(stage)
    with warnings.catch_warnings():
        warnings.simplefilter("error", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, inputs)  # checks the trace by tracing again
    other = torch.randn(7, 5)  # another batch size
    with torch.set_grad_enabled(grad):
        torch.testing.assert_close(traced(other), model(other), rtol=0, atol=0)


@pytest.mark.parametrize("norm", NORMS, ids=str)
@pytest.mark.parametrize("stage", STAGES)
def test_onnx_export_is_a_valid_graph_with_the_model_s_output(stage, norm, inputs, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")  # torch.onnx.export's exporter
    model = block(stage, NORMS[norm])
    path = tmp_path / "glai.onnx"
    torch.onnx.export(
        model, (inputs,), path, dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False
    )
    onnx.checker.check_model(onnx.load(path), full_check=True)
    runtime = pytest.importorskip("onnxruntime")
    session = runtime.InferenceSession(path, providers=["CPUExecutionProvider"])
    other = torch.randn(7, 5)
    (output,) = session.run(None, {session.get_inputs()[0].name: other.numpy()})
    torch.testing.assert_close(torch.from_numpy(output), model(other).detach())
