"""Two processes on loopback (gloo) train like one process on the same global batch."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import glai
from glai.training.distributed import gather_rows, shard_indices, world


def data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(240, 16, generator=generator)
    y = (x[:, 0] - x[:, 1] > 0).long()
    return (x[:200], y[:200]), (x[200:], y[200:])


def train(quantitative: str) -> dict:
    torch.manual_seed(0)
    model = glai.GLAI(16, [12, 8], 2)
    validated = [0]  # rows this process evaluated (forward calls in eval mode)

    def count(module, args, kwargs):
        if not module.training:
            validated[0] += len(args[0])

    model.register_forward_pre_hook(count, with_kwargs=True)
    train_set, val_set = data()
    history = glai.fit(
        model,
        train_set,
        val_set,
        epochs=4,
        batch_size=40,
        seed=0,
        early_stopping=None,
        monitor=glai.StructureMonitor(
            rule=glai.SwitchRule(max_structural_epochs=2, min_structural_steps=1)
        ),
        quantitative=quantitative,
        solver="minibatch",  # L-BFGS runs in one process only
    )
    return {
        "state": model.state_dict(),
        "losses": history.column("train_loss"),
        "switch": history.switch_epoch,
        "val_losses": history.column("val_loss"),
        "validated": validated[0],
    }


def worker(rank: int, size: int, port: int, quantitative: str, results) -> None:
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size
    )
    try:
        assert world() == (rank, size)
        indices = shard_indices(10)
        rows = gather_rows(indices.float().unsqueeze(1) * 2, indices, 10)
        result = train(quantitative)
        result["gathered"] = rows.squeeze(1)
        results[rank] = result
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module", params=["full", "row_space"])
def runs(request) -> tuple[dict, dict[int, dict]]:
    """Per quantitative mode: the run of one process, and the runs of two, by rank."""
    quantitative = request.param
    single = train(quantitative)
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(worker, args=(2, free_port(), quantitative, results), nprocs=2, join=True)
        return single, dict(results)


@pytest.mark.slow
@pytest.mark.parametrize("rank", [0, 1])
def test_each_of_two_processes_matches_one_process(runs, rank):
    single, results = runs
    assert torch.equal(results[rank]["gathered"], torch.arange(10.0) * 2)
    assert results[rank]["switch"] == single["switch"] == 2
    for key, value in single["state"].items():
        torch.testing.assert_close(results[rank]["state"][key], value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        torch.tensor(results[rank]["losses"]),
        torch.tensor(single["losses"]),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.slow
@pytest.mark.parametrize("rank", [0, 1])
def test_each_process_validates_its_share_and_all_see_the_whole(runs, rank):
    single, results = runs
    assert single["validated"] == 40 * 4  # 40 validation rows, 4 epochs
    assert results[rank]["validated"] == single["validated"] // 2
    torch.testing.assert_close(
        torch.tensor(results[rank]["val_losses"]), torch.tensor(single["val_losses"])
    )


@pytest.mark.slow
def test_the_two_processes_stay_in_lockstep(runs):
    _, results = runs
    for key, value in results[0]["state"].items():
        assert torch.equal(results[1]["state"][key], value)
