import math
from types import SimpleNamespace

import pytest
import torch

from glai import (
    GLAI,
    MLP,
    StructureCheck,
    StructureMonitor,
    SwitchRule,
    activation_patterns,
    path_distance,
)
from problems import head_on_a_stem


def test_unchanged_weights_change_nothing(inputs):
    model = GLAI(5, [6, 4], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    check = monitor.check(model)
    assert check.pattern_change == 0
    assert check.layer_changes == (0.0, 0.0)
    assert check.weight_change == 0


def test_flipping_one_unit_is_counted(inputs):
    model = GLAI(5, [6], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    before = model.masks(inputs)[0][:, 2]
    with torch.no_grad():
        model.structure[0].weight[2].neg_()
        model.structure[0].bias[2].neg_()
    flipped = int((model.masks(inputs)[0][:, 2] != before).sum())
    check = monitor.check(model)
    assert check.pattern_change == pytest.approx(flipped / (32 * 6))


def test_weight_change_is_relative(inputs):
    model = MLP(5, [6], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    assert monitor.check(model).weight_change == pytest.approx(0.5)


def test_switches_after_patience_stable_checks(inputs):
    model = MLP(5, [6], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.01, patience=3, relative=False)
    )
    monitor.on_train_begin(model)
    decisions = []
    for _ in range(3):
        monitor.on_epoch_end(model)
        decisions.append(monitor.should_switch)
    assert decisions == [False, False, True]


def test_threshold_is_relative_to_the_peak_change(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(probe=inputs, rule=SwitchRule(threshold=0.5, patience=1))
    monitor.on_train_begin(model)
    with torch.no_grad():
        model[0].bias.sub_(0.5)  # a large change first
    monitor.on_epoch_end(model)
    assert not monitor.should_switch
    with torch.no_grad():
        model[0].bias.sub_(0.01)  # then a small one: far below half the peak
    monitor.on_epoch_end(model)
    assert 0 < monitor.checks_[1].pattern_change < 0.5 * monitor.checks_[0].pattern_change
    assert monitor.should_switch


def test_an_absolute_threshold_ignores_the_peak(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=1e-6, patience=1, relative=False)
    )
    monitor.on_train_begin(model)
    with torch.no_grad():
        model[0].bias.sub_(0.01)
    monitor.on_epoch_end(model)
    assert monitor.checks_[0].pattern_change > 0
    assert not monitor.should_switch


def test_a_changing_structure_resets_patience(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.01, patience=2, relative=False)
    )
    monitor.on_train_begin(model)
    monitor.on_epoch_end(model)
    with torch.no_grad():
        model[0].bias.neg_()
    monitor.on_epoch_end(model)
    assert not monitor.should_switch
    assert monitor.checks_[-1].pattern_change > 0.01


def test_switches_at_max_structural_epochs(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.0, max_structural_epochs=2)
    )
    monitor.on_train_begin(model)
    monitor.on_epoch_end(model)
    assert not monitor.should_switch
    monitor.on_epoch_end(model)
    assert monitor.should_switch


def test_restart_resets_state(inputs):
    model = MLP(5, [6], 3)
    monitor = StructureMonitor(probe=inputs, rule=SwitchRule(patience=1))
    monitor.on_train_begin(model)
    monitor.on_epoch_end(model)
    monitor.on_train_begin(model)
    assert monitor.checks_ == []
    assert not monitor.should_switch


def test_a_monitor_without_a_probe_is_refused():
    with pytest.raises(ValueError, match="needs a probe"):
        StructureMonitor().on_train_begin(MLP(5, [6], 3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 2.0}, "fraction"),
        ({"patience": 0}, "patience"),
        ({"max_structural_epochs": -1}, "max_structural_epochs"),
        ({"min_structural_steps": -1}, "min_structural_steps"),
        ({"measure": "weights"}, "measure must be one of pattern, path"),
    ],
    ids=["threshold", "patience", "max-epochs", "min-steps", "measure"],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SwitchRule(**kwargs)


def test_the_rule_must_be_a_switch_rule():
    with pytest.raises(TypeError, match="rule must be a SwitchRule, got dict"):
        StructureMonitor(rule={"threshold": 0.5})


def test_zero_weights_give_infinite_relative_change(inputs):
    model = MLP(5, [6], 3)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    with torch.no_grad():
        model[0].weight.fill_(1)
    assert math.isinf(monitor.check(model).weight_change)


# The rule counts optimiser steps and watches the validation loss.


def flip_units(model):
    with torch.no_grad():
        model[0].bias.neg_()  # about half the hidden units change sign on the probe


def test_the_relative_rule_compares_changes_per_step(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.5, patience=1, min_structural_steps=1)
    )
    monitor.on_train_begin(model)
    with torch.no_grad():
        model[0].bias.sub_(0.5)
    monitor.check(model, steps=1000)  # a large change spread over many steps
    with torch.no_grad():
        model[0].bias.sub_(0.05)
    check = monitor.check(model, steps=1)  # a smaller change, in one step
    assert 0 < check.pattern_change < 0.5 * monitor.checks_[0].pattern_change
    assert check.rate() > monitor.checks_[0].rate()
    assert not monitor.should_switch  # per check it would have been stable


def test_the_cap_waits_for_min_structural_steps(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs,
        rule=SwitchRule(threshold=0.0, max_structural_epochs=2, min_structural_steps=30),
    )
    monitor.on_train_begin(model)
    decisions = []
    for _ in range(4):
        flip_units(model)
        monitor.check(model, steps=10)
        decisions.append(monitor.should_switch)
    assert decisions == [False, False, True, True]  # 2 checks, but 30 steps only at the 3rd


def test_checks_without_steps_cap_at_max_structural_epochs(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.0, max_structural_epochs=2)
    )
    monitor.on_train_begin(model)
    flip_units(model)
    monitor.check(model)
    flip_units(model)
    monitor.check(model)
    assert monitor.checks_[-1].steps is None
    assert monitor.should_switch


@pytest.mark.parametrize("on_plateau", [True, False])
def test_a_validation_plateau_switches(on_plateau, inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.0, patience=2, switch_on_plateau=on_plateau)
    )
    monitor.on_train_begin(model)
    decisions = []
    for val_loss in [1.0, 0.8, 0.85, 0.8, 0.7, 0.75, 0.9]:
        flip_units(model)  # never stable
        monitor.check(model, steps=10, val_loss=val_loss)
        decisions.append(monitor.should_switch)
    # two checks in a row not below the best so far (0.8 ties it; 0.75 and 0.9 after 0.7)
    expected = [False, False, False, True, False, False, True]
    assert decisions == (expected if on_plateau else [False] * 7)
    assert monitor.stale_checks == 2


def test_on_epoch_end_passes_the_records_validation_loss(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    monitor.on_epoch_end(model, SimpleNamespace(val_loss=0.5))
    assert monitor.checks_[0].val_loss == 0.5


def test_after_switches_after_exactly_that_many_checks(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor.after(3, probe=inputs)
    monitor.on_train_begin(model)
    decisions = []
    for val_loss in [1.0, 2.0, 3.0, 4.0]:  # unchanged patterns, a worsening loss
        monitor.check(model, steps=1, val_loss=val_loss)
        decisions.append(monitor.should_switch)
    assert decisions == [False, False, True, True]


def test_the_state_keeps_steps_and_validation_losses(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    flip_units(model)
    monitor.check(model, steps=7, val_loss=0.25)
    restored = StructureMonitor()
    restored.load_state_dict(monitor.state_dict())
    assert restored.checks_ == monitor.checks_
    assert (restored.checks_[0].steps, restored.checks_[0].val_loss) == (7, 0.25)


# A monitor in a loop of one's own: no on_train_begin needed.


@pytest.mark.parametrize(
    "build", [lambda: GLAI(5, [6, 4], 3), lambda: MLP(5, [6], 3)], ids=["glai", "mlp"]
)
def test_a_first_check_takes_the_reference(build, inputs):
    model = build()
    monitor = StructureMonitor(
        probe=inputs, rule=SwitchRule(threshold=0.5, patience=1, relative=False)
    )
    assert not monitor.should_switch
    assert monitor.check(model) is None
    assert monitor.checks_ == []
    assert not monitor.should_switch
    check = monitor.check(model)
    assert check.pattern_change == 0
    assert check.weight_change == 0
    assert monitor.should_switch


def test_a_first_check_without_a_probe_is_refused():
    with pytest.raises(ValueError, match="needs a probe"):
        StructureMonitor().check(MLP(5, [6], 3))


def test_a_monitor_that_has_not_begun_has_no_state_to_save():
    with pytest.raises(RuntimeError, match="has not begun"):
        StructureMonitor().state_dict()


# Models holding GLAI blocks: only the blocks are watched.


def test_the_weights_watched_are_the_blocks_structures(inputs):
    model = head_on_a_stem()
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    with torch.no_grad():
        model[0].weight.mul_(3)  # the layers around the block are not watched
        model[2].paths[0].weight.mul_(3)  # nor are its paths
    assert monitor.check(model).weight_change == 0
    with torch.no_grad():
        for p in model[2].structure.parameters():
            p.mul_(1.5)
    assert monitor.check(model).weight_change == pytest.approx(0.5)


# Path distance beside the per-unit change, and a rule that reads either.


def test_a_check_records_the_path_distance_between_its_patterns(inputs):
    model = MLP(5, [16, 8], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    before = activation_patterns(model, inputs)
    flip_units(model)
    check = monitor.check(model)
    expected = path_distance(before, activation_patterns(model, inputs))
    assert check.path_distance == pytest.approx(float(expected), abs=1e-12)
    assert check.path_distance > check.pattern_change > 0  # flips compound across layers


@pytest.mark.parametrize(
    ("measure", "switches"), [("pattern", True), ("path", False)], ids=["pattern", "path"]
)
def test_the_rule_reads_the_change_its_measure_names(measure, switches):
    rule = SwitchRule(threshold=0.2, patience=1, relative=False, measure=measure)
    monitor = StructureMonitor(rule=rule)
    # few units flipped, but in every layer: many paths moved
    monitor.checks_ = [StructureCheck(0.1, (0.1, 0.1), 0.01, path_distance=0.5)]
    assert monitor.should_switch == switches


def test_the_relative_path_rule_compares_path_distances_per_step():
    rule = SwitchRule(threshold=0.5, patience=1, measure="path", switch_on_plateau=False)
    monitor = StructureMonitor(rule=rule)
    monitor.checks_ = [StructureCheck(0.2, (0.2,), 0.1, steps=10, path_distance=0.4)]
    monitor.checks_.append(StructureCheck(0.2, (0.2,), 0.1, steps=10, path_distance=0.1))
    assert monitor.checks_[1].rate("path") == pytest.approx(0.01)
    assert monitor.stable_checks == 1 and monitor.should_switch


def test_the_state_keeps_the_path_distances(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    flip_units(model)
    monitor.check(model, steps=3)
    restored = StructureMonitor()
    restored.load_state_dict(monitor.state_dict())
    assert restored.checks_[0].path_distance == monitor.checks_[0].path_distance > 0


def test_a_state_saved_before_path_distances_still_loads(inputs):
    model = MLP(5, [64], 3)
    monitor = StructureMonitor(probe=inputs)
    monitor.on_train_begin(model)
    state = monitor.state_dict()
    state["checks"] = [[0.25, [0.25], 0.1, 4, 0.5]]  # the fields checks had before
    monitor.load_state_dict(state)
    assert monitor.checks_ == [StructureCheck(0.25, (0.25,), 0.1, 4, 0.5)]
    assert monitor.checks_[0].path_distance is None


def test_after_zero_switches_before_any_check(inputs):
    monitor = StructureMonitor.after(0, probe=inputs)
    assert monitor.should_switch
    monitor.on_train_begin(MLP(5, [6], 3))
    assert monitor.should_switch


def test_after_refuses_a_negative_count():
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        StructureMonitor.after(-1)


def test_a_plain_mlp_can_be_watched_without_a_switch(inputs):
    """One's own loop: check every epoch and ignore the rule, for a convergence plot."""
    model = MLP(5, [16, 8], 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    monitor = StructureMonitor(probe=inputs)
    targets = torch.randn(32, 3)
    for _ in range(4):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        monitor.check(model, steps=1)
    assert len(monitor.checks_) == 3
    assert all(check.path_distance is not None for check in monitor.checks_)
