"""Row-space training: the paths learn on cached products and fold back into the GLAI."""

import pytest
import torch

from glai import GLAI, MLP, MaskCache, StructureMonitor, fit
from glai.nn.losses import nt_xent
from glai.training.quantitative.row_space import RowSpacePaths
from problems import small_problem


@pytest.mark.parametrize(
    ("hidden", "bias"), [(7, True), ([9, 6], True), ([9, 6], False)], ids=["one", "two", "no-bias"]
)
def test_forward_on_projected_inputs_equals_the_folded_model(hidden, bias, inputs):
    model = GLAI(5, hidden, 3, bias=bias).freeze_structure()
    paths = RowSpacePaths(model)
    masks = model.masks(inputs)
    before = model(inputs, masks=masks)
    assert torch.allclose(paths(paths.project(inputs), masks), before, atol=1e-6)
    with torch.no_grad():
        for parameter in paths.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    moved = paths(paths.project(inputs), masks)
    assert not torch.allclose(moved, before, atol=1e-3)
    paths.fold(model)
    assert torch.allclose(model(inputs, masks=masks), moved, atol=1e-5)


def test_inputs_left_on_another_device_are_projected_a_part_at_a_time(inputs, monkeypatch):
    paths = RowSpacePaths(GLAI(5, 7, 3).freeze_structure())
    whole = inputs @ paths.basis.T
    assert torch.allclose(paths.project(inputs, rows=3), whole)
    paths.basis = paths.basis.to("meta")  # the model on a device, the inputs on the CPU
    moved, to = [], torch.Tensor.to

    def recording_to(tensor, *args, **kwargs):
        moved.append(len(tensor))
        return to(tensor, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    projected = paths.project(inputs, rows=3)
    assert projected.device.type == "meta" and projected.shape == whole.shape
    assert max(moved) <= 3 and sum(moved) == len(inputs)  # moved 3 rows at a time


def test_a_fit_whose_inputs_stay_off_the_device_trains_in_row_space(monkeypatch):
    from glai.training import fit_data

    monkeypatch.setattr(fit_data, "DEVICE_COPY_LIMIT", 0)  # every input stays where it is
    history = fit_in_row_space(GLAI(12, 6, 3), samples=200, epochs=4)
    assert [record.phase for record in history][-1] == "quantitative"


def fit_in_row_space(model, samples, epochs, **settings):
    """``fit`` on 12-feature data, switching after 2 epochs, in row space."""
    train, val = small_problem(n=samples, features=12), small_problem(n=100, features=12)
    monitor = StructureMonitor.after(2)
    return fit(
        model,
        train,
        val,
        epochs=epochs,
        seed=0,
        quantitative="row_space",
        monitor=monitor,
        **settings,
    )


def test_needs_a_frozen_glai():
    with pytest.raises(ValueError, match="frozen"):
        RowSpacePaths(GLAI(5, 7, 3))


def first_weight_residual(weight, basis):
    """Part of ``weight``'s rows outside the span of ``basis``'s rows."""
    coefficients = torch.linalg.lstsq(basis.T, weight.T).solution
    return (weight - (basis.T @ coefficients).T).norm() / weight.norm()


def test_fit_trains_the_paths_within_the_first_layer_row_space():
    model = GLAI(12, [6, 5], 3)
    history = fit_in_row_space(model, samples=400, epochs=8, early_stopping=None)
    losses = history.column("train_loss")
    assert losses[-1] < losses[2]  # the quantitative phase learns
    basis = model.structure.linears[0].weight  # the paths' first layer at the switch
    assert not torch.allclose(model.paths[0].weight, basis, atol=1e-3)
    assert float(first_weight_residual(model.paths[0].weight.detach(), basis)) < 1e-4
    assert not torch.allclose(model.paths[1].weight, model.structure.linears[1].weight)


def test_gradient_is_the_full_gradient_seen_through_the_basis(inputs):
    """dL/dM = dL/dW'_1 B^T: row-space training is the full problem, reparametrised."""
    model = GLAI(5, [7, 4], 3).freeze_structure()
    paths = RowSpacePaths(model)
    masks = model.masks(inputs)
    target = torch.randint(3, (len(inputs),))
    loss = torch.nn.functional.cross_entropy
    loss(paths(paths.project(inputs), masks), target).backward()
    loss(model(inputs, masks=masks), target).backward()
    first = model.paths[0]
    assert torch.allclose(paths.mix.weight.grad, first.weight.grad @ paths.basis.T, atol=1e-6)
    assert torch.allclose(paths.mix.bias.grad, first.bias.grad, atol=1e-6)
    assert model.paths[1].weight.grad is not None


@pytest.mark.parametrize(
    ("model", "train", "message"),
    [
        (MLP(6, 8, 3), small_problem(), "needs a GLAI"),
        (GLAI(6, 8, 3), torch.utils.data.StackDataset(*small_problem()), "tensors"),
        (GLAI(6, 8, 3), small_problem(), None),
    ],
    ids=["mlp", "dataset", "unknown-mode"],
)
def test_bad_uses_are_named(model, train, message):
    quantitative = "row_space" if message else "lowrank"
    with pytest.raises(ValueError, match=message or "quantitative must be one of"):
        fit(model, train, epochs=1, quantitative=quantitative)


def test_multi_view_inputs_train_a_projection_head():
    """(n, views, features) inputs with NT-Xent, as for a SimCLR projection head."""
    base = torch.randn(64, 10)
    views = torch.stack([base + 0.1 * torch.randn_like(base) for _ in range(2)], 1)
    model = GLAI(10, 8, 4)
    history = fit(
        model,
        (views, torch.zeros(64)),
        loss=nt_xent,
        epochs=6,
        validation_fraction=0,  # a self-supervised loss: nothing to validate
        batch_size=16,
        seed=0,
        quantitative="row_space",
        monitor=StructureMonitor.after(1),
        early_stopping=None,
    )
    losses = history.column("train_loss")
    assert losses[-1] < losses[1]
    assert model(views).shape == (64, 2, 4)


def test_a_first_layer_as_wide_as_the_input_is_warned_about():
    with pytest.warns(UserWarning, match="no cheaper"):
        fit(GLAI(6, 6, 3), small_problem(), epochs=1, quantitative="row_space")


@pytest.mark.parametrize("trained_paths", [False, True], ids=["at-switch", "trained-paths"])
def test_the_cached_masks_are_the_structures(trained_paths, monkeypatch):
    """At the switch the masks come from the row-space products; when the paths' first layer
    differs from the structure's (a GLAI trained before), from the inputs."""
    train = small_problem(n=300, features=12)
    model = GLAI(12, [6, 4], 3).freeze_structure()
    if trained_paths:
        with torch.no_grad():
            model.paths[0].weight.add_(0.5 * torch.randn_like(model.paths[0].weight))
    basis = model.paths[0].weight.detach().clone()
    built = []
    build = MaskCache.build.__func__

    def spy(cls, *args, **kwargs):
        built.append((build(cls, *args, **kwargs), kwargs.get("first_products") is not None))
        return built[-1][0]

    monkeypatch.setattr(MaskCache, "build", classmethod(spy))
    fit(model, train, epochs=3, seed=0, quantitative="row_space", early_stopping=None)
    ((cache, from_products),) = built
    assert from_products != trained_paths
    expected = model.masks(train[0])
    assert all(torch.equal(cache.get(torch.arange(300))[i], m) for i, m in enumerate(expected))
    assert float(first_weight_residual(model.paths[0].weight.detach(), basis)) < 1e-4
    assert not torch.allclose(model.paths[0].weight, basis, atol=1e-3)
