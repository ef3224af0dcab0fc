"""Checkpoints: a run killed mid-epoch resumes to the same weights; bad files are named."""

import pytest
import torch

import glai
from glai.training.checkpoint import checkpoint_path, read_checkpoint
from kill_and_resume import trainer_of, uninterrupted_fixture

SCRIPT = """
import os, signal, sys, torch, glai
out, directory, kill_at, quantitative, solver = sys.argv[1:3] + [int(sys.argv[3])] + sys.argv[4:]
torch.manual_seed(0)
x = torch.randn(400, 8)
y = (x[:, 0] + x[:, 1] > 0).long()
calls = [0]
def loss(output, target):  # minibatch: 6 training steps and 1 validation call per epoch
    calls[0] += 1
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return torch.nn.functional.cross_entropy(output, target)
model = glai.GLAI(8, [16, 8], 2)
history = glai.fit(model, (x[:300], y[:300]), (x[300:], y[300:]), loss=loss, metric="accuracy",
         epochs=6, batch_size=50, seed=0, early_stopping=None,
         monitor=glai.StructureMonitor.after(3),
         checkpoint_dir=directory or None, resume=True, quantitative=quantitative,
         solver=solver)
glai.save(model, out, info={"losses": history.column("train_loss")})
"""


train = trainer_of(SCRIPT)
uninterrupted = uninterrupted_fixture(SCRIPT)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_at", "phase", "quantitative", "solver"),
    [
        (10, "structural", "full", "minibatch"),
        (32, "quantitative", "full", "minibatch"),
        (32, "quantitative", "row_space", "minibatch"),
        (24, "quantitative", "full", "lbfgs"),  # 21 structural calls, then the line search
    ],
    ids=["structural", "quantitative", "quantitative-row_space", "quantitative-lbfgs"],
)
def test_sigkill_mid_epoch_then_resume_gives_identical_weights(
    kill_at, phase, quantitative, solver, uninterrupted, tmp_path
):
    directory = tmp_path / "checkpoints"
    code, _ = train(tmp_path, "killed", quantitative, solver, directory, kill_at)
    assert code == -9  # SIGKILL
    state = read_checkpoint(directory)["run"]
    assert state["phase"] == phase
    assert len(state["history"]["records"]) == (kill_at - 1) // 7  # whole epochs only
    assert (state["strategy"] is not None) == (quantitative == "row_space")
    code, out = train(tmp_path, "resumed", quantitative, solver, directory)
    assert code == 0
    resumed = glai.load(out).state_dict()
    weights, info = uninterrupted(quantitative, solver)
    assert (
        glai.read_info(out)["info"]["losses"] == info["losses"]
    )  # the whole run, not only the best
    assert all(torch.equal(resumed[k], v) for k, v in weights.items())


def small_run(directory, data_seed=0, **overrides):
    x = torch.randn(120, 4, generator=torch.Generator().manual_seed(data_seed))
    y = (x[:, 0] > 0).long()
    options = {
        "epochs": 2,
        "seed": 0,
        "checkpoint_dir": directory,
        "resume": True,
        "monitor": glai.StructureMonitor(
            rule=glai.SwitchRule(max_structural_epochs=1, min_structural_steps=1)
        ),
        **overrides,
    }
    return glai.fit(glai.GLAI(4, 8, 2), (x, y), (x, y), **options)


def test_a_finished_run_resumes_to_its_end(tmp_path):
    first = small_run(tmp_path)
    again = small_run(tmp_path)
    assert again.to_dict() == first.to_dict()


def test_truncated_checkpoint_is_an_error_not_a_restart(tmp_path):
    small_run(tmp_path)
    path = checkpoint_path(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="damaged or truncated"):
        small_run(tmp_path)


def test_foreign_checkpoint_is_named(tmp_path):
    torch.save({"weights": torch.zeros(2)}, checkpoint_path(tmp_path))
    with pytest.raises(ValueError, match="not a glai checkpoint"):
        small_run(tmp_path)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    small_run(tmp_path)
    with pytest.raises(ValueError, match="different run \\(batch_size"):
        small_run(tmp_path, batch_size=32)


def test_a_checkpoint_of_other_data_is_refused(tmp_path):
    small_run(tmp_path)
    with pytest.raises(ValueError, match="different run \\(data"):
        small_run(tmp_path, data_seed=1)


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    calls = [0]

    def exploding(output, target):
        calls[0] += 1
        loss = torch.nn.functional.cross_entropy(output, target)
        return loss * float("nan") if calls[0] > 4 else loss  # 1 step + 1 val per epoch

    with pytest.raises(FloatingPointError, match="step 1 of epoch 3 \\(quantitative phase\\)"):
        small_run(tmp_path, loss=exploding, metric="accuracy", batch_size=120, epochs=5)
    assert len(read_checkpoint(tmp_path)["run"]["history"]["records"]) == 2


def glai_run(directory, seed=0, resume=False, **overrides):
    torch.manual_seed(seed)
    model = glai.GLAI(4, 8, 2)
    x = torch.randn(120, 4, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()
    glai.fit(
        model,
        (x, y),
        epochs=3,
        seed=0,
        checkpoint_dir=directory,
        resume=resume,
        max_structural_epochs=1,
        min_structural_steps=1,
        **overrides,
    )
    return model


def test_a_used_directory_without_resume_is_refused(tmp_path):
    glai_run(tmp_path)
    with pytest.raises(FileExistsError, match="pass resume=True to continue that run"):
        glai_run(tmp_path, seed=1)


def test_masks_left_by_another_run_are_refused_without_resume(tmp_path):
    glai_run(tmp_path)
    checkpoint_path(tmp_path).unlink()  # only the mask caches are left
    with pytest.raises(FileExistsError, match="masks-train.pt"):
        glai_run(tmp_path, seed=1)


def test_a_mask_cache_of_another_structure_is_never_used(tmp_path):
    """Resuming into a directory whose mask cache came from another structure rebuilds
    the cache: the model equals the same fit into a fresh directory."""
    glai_run(tmp_path / "first", seed=1)
    fresh = glai_run(tmp_path / "fresh", seed=2)
    stale = tmp_path / "stale"
    stale.mkdir()
    (tmp_path / "first" / "masks-train.pt").rename(stale / "masks-train.pt")
    mixed = glai_run(stale, seed=2, resume=True)
    assert all(torch.equal(v, mixed.state_dict()[k]) for k, v in fresh.state_dict().items())


def test_a_frozen_glai_creates_its_checkpoint_directory(tmp_path):
    model = glai.GLAI.from_mlp(glai.MLP(4, 8, 2))
    x = torch.randn(60, 4)
    directory = tmp_path / "new" / "run"
    y = (x[:, 0] > 0).long()
    glai.fit(model, (x, y), epochs=1, seed=0, checkpoint_dir=directory, validation_fraction=0)
    assert (directory / "masks-train.pt").is_file()
    assert checkpoint_path(directory).is_file()


def test_a_file_as_directory_is_named(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        glai_run(path)
