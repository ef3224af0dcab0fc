import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import glai
from glai import GLAI, StructureMonitor, SwitchRule, SwitchSummary, freeze_structures
from problems import small_problem


def single():
    return GLAI(6, [8, 4], 3)


def nested():
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Sequential(GLAI(12, 16, 3)))


def several():
    return nn.Sequential(GLAI(6, 16, 8), GLAI(8, 12, 3))


def compiled():
    return torch.compile(nn.Sequential(GLAI(6, 16, 3)), backend="eager")


def compiled_inside():
    return nn.Sequential(nn.Linear(6, 6), torch.compile(GLAI(6, 16, 3), backend="eager"))


def blocks_of(model):
    return [m for m in model.modules() if isinstance(m, GLAI)]


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (single, ("",)),
        (nested, ("2.0",)),
        (several, ("0", "1")),
        (compiled, ("0",)),
        (compiled_inside, ("1._orig_mod",)),
    ],
    ids=["single", "nested", "several", "compiled", "compiled-inside"],
)
def test_every_block_is_switched_and_what_trains_is_said(build, names, caplog):
    model = build()
    with caplog.at_level(logging.INFO, logger="glai.nn.switching"):
        summary = freeze_structures(model)
    assert isinstance(summary, SwitchSummary)
    assert summary.blocks == names
    assert all(block.frozen for block in blocks_of(model))
    paths = sum(p.numel() for block in blocks_of(model) for p in block.paths.parameters())
    others = sum(
        p.numel()
        for name, p in model.named_parameters()
        if "structure" not in name and "paths" not in name
    )
    assert summary.trainable == paths + others
    assert f"{summary.trainable} parameters train now" in caplog.text
    assert sum(p.numel() for p in summary.paths) == paths
    assert "paths=<" in repr(summary)  # a count, not the tensors


def test_blocks_frozen_already_are_not_listed():
    model = several()
    model[0].freeze_structure()
    assert freeze_structures(model).blocks == ("1",)
    assert freeze_structures(model).blocks == ()


def test_a_model_without_blocks_is_refused():
    with pytest.raises(ValueError, match="Sequential holds no GLAI block"):
        freeze_structures(nn.Sequential(nn.Linear(2, 2)))


def test_the_functions_are_exported():
    assert glai.freeze_structures is glai.nn.freeze_structures is freeze_structures


def test_a_loop_of_ones_own_switches_and_trains_the_paths():
    torch.manual_seed(0)
    x, y = small_problem(256)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), GLAI(16, 32, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)  # once, before the switch
    monitor = StructureMonitor(probe=x[:128], rule=SwitchRule(max_structural_epochs=3))
    for _ in range(6):
        for batch in torch.randperm(len(x)).split(32):
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        if not model[2].frozen:
            monitor.check(model)  # the first call takes the reference
            if monitor.should_switch:
                freeze_structures(model)
                structure = model[2].structure.state_dict()
                structure = {name: t.clone() for name, t in structure.items()}
    block = model[2]
    assert block.frozen
    assert len(monitor.checks_) == 3
    assert all(torch.equal(t, structure[name]) for name, t in block.structure.state_dict().items())
    assert not torch.equal(block.paths[0].weight, block.structure[0].weight)


# Own loops: nothing watches optimisers behind the user's back; the switch checks the
# optimiser it is handed and gives the paths to add to one that does not hold them.


def test_switching_installs_no_process_wide_optimizer_hook():
    from torch.optim.optimizer import _global_optimizer_pre_hooks

    freeze_structures(several())
    hooks = _global_optimizer_pre_hooks.values()
    assert not [hook for hook in hooks if getattr(hook, "__module__", "").startswith("glai")]


def test_an_optimizer_holding_a_structure_but_none_of_its_paths_is_refused_before_the_switch():
    model = several()
    optimizer = torch.optim.Adam(model[1].structure.parameters())
    with pytest.raises(ValueError) as error:
        freeze_structures(model, optimizer)
    assert "Adam holds the structure of block '1', GLAI(8, [12], 3), but none of its" in str(
        error.value
    )
    assert "add_param_group" in str(error.value)
    assert not any(block.frozen for block in blocks_of(model))  # nothing was switched


@pytest.mark.parametrize(
    "held",
    [
        lambda model: model.parameters(),
        lambda model: model.paths.parameters(),
        lambda model: nn.Linear(2, 2).parameters(),
    ],
    ids=["model", "paths", "elsewhere"],
)
def test_optimizers_that_go_on_training_something_pass_the_check(held):
    model = single()
    optimizer = torch.optim.SGD(held(model), lr=0.1)
    assert freeze_structures(model, optimizer).blocks == ("",)


def test_the_paths_of_the_summary_complete_an_optimizer_of_the_structure():
    model = single()
    x, y = small_problem(64)
    optimizer = torch.optim.SGD(model.structure.parameters(), lr=0.1)
    summary = freeze_structures(model)
    optimizer.add_param_group({"params": summary.paths})
    before = [p.clone() for p in summary.paths]
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    assert all(not torch.equal(p, b) for p, b in zip(summary.paths, before))
