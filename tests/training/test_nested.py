"""fit on models that hold GLAI blocks: nested, several, behind torch.compile."""

import pytest
import torch
from torch import nn

from glai import GLAI, Callback, fit
from problems import small_problem


def heads_model():
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), GLAI(12, 16, 3))


def stacked_model():
    return nn.Sequential(GLAI(6, 16, 8), GLAI(8, 12, 3))


def compiled_model():
    return torch.compile(GLAI(6, 16, 3), backend="eager")  # the wrapper, without a compiler


def blocks_of(model):
    return [m for m in model.modules() if isinstance(m, GLAI)]


@pytest.mark.parametrize(
    "build", [heads_model, stacked_model, compiled_model], ids=["head", "stacked", "compiled"]
)
def test_every_block_switches_and_its_paths_train(build):
    torch.manual_seed(0)
    model = build()
    train, val = small_problem(), small_problem(80)
    history = fit(
        model,
        train,
        val,
        epochs=5,
        seed=0,
        max_structural_epochs=2,
        min_structural_steps=1,
        lr=1e-2,
        solver="minibatch",
    )
    assert history.switch_epoch == 2
    assert history.column("phase") == ["structural"] * 2 + ["quantitative"] * 3
    for block in blocks_of(model):
        assert block.frozen
        moved = [
            not torch.equal(path.weight, linear.weight)
            for path, linear in zip(block.paths, block.structure.linears)
        ]
        assert all(moved)  # the paths trained after the copy at the switch


def test_layers_around_a_block_keep_training_after_the_switch():
    torch.manual_seed(0)
    model = heads_model()
    snapshot = {}

    class AtSwitch(Callback):
        def on_switch(self, model, epoch):
            snapshot["backbone"] = model[0].weight.detach().clone()
            snapshot["structure"] = model[2].structure[0].weight.detach().clone()

    options = {
        "epochs": 2,
        "max_structural_epochs": 1,
        "min_structural_steps": 1,
        "validation_fraction": 0,
    }
    fit(model, small_problem(), seed=0, callbacks=[AtSwitch()], **options)
    assert not torch.equal(model[0].weight, snapshot["backbone"])
    assert torch.equal(model[2].structure[0].weight, snapshot["structure"])


def test_a_nested_block_computes_its_masks_from_its_current_inputs():
    torch.manual_seed(0)
    model = heads_model()
    train, val = small_problem(), small_problem(80)
    history = fit(
        model, train, val, epochs=2, seed=0, max_structural_epochs=1, min_structural_steps=1
    )
    model.eval()
    with torch.no_grad():
        output = model(val[0])
    accuracy = float((output.argmax(1) == val[1]).float().mean())
    assert accuracy == pytest.approx(history.best_metric)


def test_blocks_frozen_and_not_are_refused():
    model = stacked_model()
    model[0].freeze_structure()
    with pytest.raises(ValueError, match="some GLAI blocks of the model are frozen"):
        fit(model, small_problem(), epochs=1)


def test_the_compiled_model_is_saved_without_the_wrapper_prefix(tmp_path):
    torch.manual_seed(0)
    model = compiled_model()
    fit(
        model,
        small_problem(),
        epochs=2,
        seed=0,
        max_structural_epochs=1,
        min_structural_steps=1,
        checkpoint_dir=tmp_path,
    )
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(state["run"]["model"]) == set(model._orig_mod.state_dict())
