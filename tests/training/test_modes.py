"""fit leaves every submodule in the train/eval mode the user left it, and trains in
train mode only where the user had it: a frozen BatchNorm backbone keeps its statistics."""

import pytest
import torch
from torch import nn

from glai import GLAI, MLP, fit
from glai.nn.modes import evaluating, restore_modes, training_modes
from problems import small_problem


def backbone_and_head(head):
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6))
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    backbone.eval()  # frozen, statistics included
    return nn.Sequential(backbone, head)


@pytest.mark.parametrize("head", [lambda: GLAI(6, 8, 3), lambda: MLP(6, 8, 3)], ids=["glai", "mlp"])
def test_a_frozen_batchnorm_backbone_keeps_its_statistics_and_mode(head):
    model = backbone_and_head(head())
    statistics = model[0][1].running_mean.clone(), model[0][1].running_var.clone()
    structure = set(model[1].structure.modules()) if isinstance(model[1], GLAI) else set()
    modes = {module: module.training for module in model.modules() if module not in structure}
    fit(model, small_problem(), epochs=4, seed=0, max_structural_epochs=2, min_structural_steps=1)
    assert {module: module.training for module in modes} == modes
    assert not any(module.training for module in structure)  # frozen: eval for good
    assert torch.equal(model[0][1].running_mean, statistics[0])
    assert torch.equal(model[0][1].running_var, statistics[1])


def test_the_head_trains_in_train_mode_where_the_user_had_it():
    seen = []
    head = MLP(6, 8, 3)
    head.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    model = backbone_and_head(head)
    fit(model, small_problem(), epochs=2, seed=0, validation_fraction=0, batch_size=50)
    assert seen[0] is False  # the check that the network runs on two rows, in eval mode
    assert len(seen) == 1 + 2 * 4 and all(seen[1:])  # no validation: then training steps


def test_a_model_left_in_eval_mode_stays_in_eval_mode():
    model = MLP(6, 8, 3).eval()
    fit(model, small_problem(), epochs=2, seed=0)
    assert not any(module.training for module in model.modules())


def test_a_switched_glai_keeps_its_structure_in_eval_mode():
    model = GLAI(6, 8, 3, norm_layer=nn.BatchNorm1d)
    fit(model, small_problem(), epochs=3, seed=0, max_structural_epochs=1, min_structural_steps=1)
    assert model.frozen and model.training
    assert not model.structure.training


def test_an_error_in_training_still_restores_the_modes():
    model = backbone_and_head(MLP(6, 8, 3))

    def failing(output, target):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fit(model, small_problem(), loss=failing, epochs=1)
    assert not model[0].training and model[1].training


def test_evaluating_restores_each_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Linear(2, 2))
    model[1].eval()
    before = training_modes(model)
    with evaluating(model):
        assert not any(module.training for module in model.modules())
    assert training_modes(model) == before
    model.train()
    restore_modes(before)
    assert not model[1].training and model[0].training
