"""fit without validation data holds out a split (stratified), or says why it cannot."""

import warnings

import pytest
import torch

from glai import GLAI, MLP, Callback, fit
from glai.training.checkpoint import read_checkpoint
from glai.training.fit_data import FitData, split_validation
from problems import small_problem


def test_fit_without_val_validates_on_a_split_and_stops_early():
    torch.manual_seed(0)
    history = fit(MLP(6, 8, 3), small_problem(400), epochs=300, early_stopping=2, seed=0)
    assert all(record.val_metric is not None for record in history)
    assert len(history) < 300  # early stopping fired on the held-out split
    assert history.best_epoch is not None


def test_a_glai_without_val_switches_and_restores_its_best_epoch():
    torch.manual_seed(0)
    history = fit(
        GLAI(6, 8, 3),
        small_problem(400),
        epochs=5,
        seed=0,
        max_structural_epochs=2,
        min_structural_steps=1,
    )
    assert history.switch_epoch == 2
    assert history.best_epoch >= history.switch_epoch


@pytest.mark.parametrize("fraction", [0.1, 0.25], ids=["tenth", "quarter"])
def test_the_split_is_stratified(fraction):
    x = torch.randn(1000, 4)
    y = torch.cat([torch.zeros(800), torch.ones(150), 2 * torch.ones(50)]).long()
    train, val = split_validation(FitData(x, y), fraction, 3, torch.Generator().manual_seed(0))
    held = torch.bincount(y[val.rows], minlength=3)
    assert held.tolist() == [round(fraction * 800), round(fraction * 150), round(fraction * 50)]
    assert len(train) + len(val) == 1000
    assert not set(train.rows.tolist()) & set(val.rows.tolist())


def test_the_parts_share_the_tensors_instead_of_copying_them():
    x, y = small_problem(400)
    train, val = split_validation(FitData(x, y), 0.1, 3, torch.Generator().manual_seed(0))
    assert train.inputs is x and val.inputs is x


def test_data_too_small_to_validate_trains_on_everything_and_says_so():
    with pytest.warns(UserWarning, match="too few to hold out a validation split"):
        history = fit(MLP(6, 8, 3), small_problem(40), epochs=3, seed=0)
    assert len(history) == 3
    assert all(record.val_metric is None for record in history)


def test_a_zero_fraction_trains_on_everything_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = fit(MLP(6, 8, 3), small_problem(40), epochs=3, seed=0, validation_fraction=0)
    assert [record.val_metric for record in history] == [None] * 3


def test_a_dataset_is_split_at_random():
    x, y = small_problem(300)
    dataset = torch.utils.data.StackDataset(x, y)
    train, val = split_validation(FitData(dataset=dataset), 0.1, 3, torch.Generator())
    assert (len(train), len(val)) == (270, 30)


class StopInSecondEpoch(Callback):
    def on_epoch_complete(self, model, record):
        if record.epoch == 2:  # before the checkpoint of epoch 2 is written
            raise KeyboardInterrupt


def test_a_resumed_run_without_a_seed_keeps_its_split(tmp_path):
    x, y = small_problem(300)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit(
            MLP(6, 8, 3),
            (x, y),
            epochs=3,
            checkpoint_dir=tmp_path,
            callbacks=[StopInSecondEpoch()],
        )
    seed = read_checkpoint(tmp_path)["run"]["random"]["seed"]
    torch.manual_seed(0)
    resumed = fit(MLP(6, 8, 3), (x, y), epochs=3, checkpoint_dir=tmp_path, resume=True)
    torch.manual_seed(0)
    uninterrupted = fit(MLP(6, 8, 3), (x, y), epochs=3, seed=seed)
    assert resumed.column("val_metric") == uninterrupted.column("val_metric")


def test_classes_too_small_for_a_share_each_share_the_count_by_largest_remainders():
    x, y = torch.randn(120, 5), torch.arange(30).repeat_interleave(4)
    train, val = split_validation(FitData(x, y), 0.1, 30, torch.Generator().manual_seed(0))
    assert (len(train), len(val)) == (108, 12)
    assert torch.bincount(y[val.rows], minlength=30).max() == 1  # 12 classes, one each
    history = fit(
        GLAI(5, 8, 30), (x, y), epochs=2, max_structural_epochs=1, min_structural_steps=1, seed=0
    )
    assert all(record.val_metric is not None for record in history)


@pytest.mark.parametrize("seed", range(5))
def test_every_class_keeps_a_training_sample(seed):
    x, y = torch.randn(20, 4), torch.tensor([0] + [1] * 19)
    train, val = split_validation(FitData(x, y), 0.6, 2, torch.Generator().manual_seed(seed))
    assert set(y[train.rows].tolist()) == {0, 1}
    assert len(val) == 12 - 1  # the one-sample class would give its sample: it keeps it


def test_a_split_that_every_class_needs_whole_for_training_is_not_made():
    x, y = torch.randn(12, 4), torch.arange(12)
    train, val = split_validation(FitData(x, y), 0.9, 12, torch.Generator().manual_seed(0))
    assert val is None and train.rows is None
