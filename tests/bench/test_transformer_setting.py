"""The ``transformer`` setting: word-list data, the word classifier, the step timer, and
the setting end to end in quick mode."""

import json

import pytest
import torch

import glai
from glai.nn.transformer import GLAITransformerEncoderLayer, MLPTransformerEncoderLayer
from glai_bench.runner import run_bench
from glai_bench.sequences import (
    PAD,
    RESERVED,
    UNKNOWN,
    encode,
    language_words,
    missing_packages,
    read_words,
    word_splits,
)
from glai_bench.transformer import GLAI_NAME, MLP_NAME, SCHEDULE_NAME, StepTimer, WordClassifier

MISSING = missing_packages()
needs_word_lists = pytest.mark.skipif(
    bool(MISSING), reason=f"word lists not installed: apt-get install {' '.join(MISSING)}"
)


def test_encode_pads_cuts_and_marks_unknown_characters():
    vocabulary = (*RESERVED, "a", "b")
    tokens = encode(["ab", "bax", "abab"], vocabulary, 3)
    assert tokens.tolist() == [[2, 3, PAD], [3, 2, UNKNOWN], [2, 3, 2]]


def test_read_words_keeps_lowercase_letters_only(tmp_path):
    path = tmp_path / "words"
    path.write_text("Haus\nl'eau\nDNA-Test\na\ne\u0301cole\n42\nHaus\n", encoding="utf-8")
    assert read_words(path) == {"haus", "\u00e9cole"}  # NFC: one code point for é


def test_missing_word_lists_name_the_packages(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install wamerican wngerman"):
        language_words(tmp_path)


@needs_word_lists
@pytest.mark.parametrize("part", ["train", "val", "test"])
def test_splits_are_balanced_and_deterministic(part):
    first, second = word_splits(60, length=12), word_splits(60, length=12)
    tokens, labels = getattr(first, part)
    assert torch.equal(tokens, getattr(second, part)[0])
    assert torch.equal(labels, getattr(second, part)[1])
    counts = torch.bincount(labels, minlength=len(first.languages))
    assert len(set(counts.tolist())) == 1 and counts[0] > 0
    assert tokens.shape[1] == 12 and tokens.dtype == torch.int64


@needs_word_lists
def test_no_word_is_in_two_splits_or_two_languages():
    splits = word_splits(200, length=64)  # no word cut: rows are words
    rows = [{tuple(row) for row in part[0].tolist()} for part in (splits.train, splits.val)]
    assert not rows[0] & rows[1]
    words = language_words()
    assert not set(words["spanish"]) & set(words["italian"])


@pytest.mark.parametrize(
    "layer_type", [GLAITransformerEncoderLayer, MLPTransformerEncoderLayer], ids=["glai", "mlp"]
)
def test_word_classifier_ignores_padding(layer_type):
    model = WordClassifier(layer_type, 10, 3, 12, 8, 2, 16, 2, 0.1).eval()
    tokens = torch.randint(2, 10, (4, 12))
    tokens[:, 6:] = PAD
    scores = model(tokens)
    assert scores.shape == (4, 3)
    torch.testing.assert_close(model(tokens[:, :6]), scores)  # fewer padded positions


def test_step_timer_counts_the_steps_of_each_phase():
    timer = StepTimer()
    x, y = torch.randn(40, 5), torch.arange(40) % 3
    glai.fit(
        glai.GLAI(5, 8, 3),
        (x, y),
        (x, y),
        callbacks=[timer],
        max_structural_epochs=2,
        min_structural_steps=1,
        epochs=4,
        early_stopping=None,
        batch_size=10,
        solver="minibatch",
        seed=0,
    )
    (run,) = timer.runs
    # 4 batches per epoch: 3 steps timed between them, 2 epochs per phase
    assert {phase: len(steps) for phase, steps in run.items()} == {
        "structural": 6,
        "quantitative": 6,
    }
    assert all(0 < seconds < 10 for steps in run.values() for seconds in steps)


@pytest.fixture(scope="module")
def quick_transformer(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    report = run_bench(["transformer"], out, quick=True)
    return out, report


@pytest.mark.slow
@needs_word_lists
def test_quick_setting_writes_its_json_and_tables(quick_transformer):
    out, report = quick_transformer
    result = json.loads((out / "transformer.json").read_text())
    runs = result["runs"]
    assert [r["candidate"] for r in runs] == [MLP_NAME, SCHEDULE_NAME, GLAI_NAME] * 2
    assert [r["seed"] for r in runs] == [1, 1, 1, 2, 2, 2]
    glai_runs = [r for r in runs if r["candidate"] == GLAI_NAME]
    assert all(r["history"]["switch_epoch"] == 1 for r in glai_runs)
    assert all(
        r["step_seconds"]["structural"] and r["step_seconds"]["quantitative"] for r in glai_runs
    )
    mlp_run = runs[0]
    assert set(mlp_run["step_seconds"]) == {"train"}
    assert "structural step ms" in report and "## transformer" in report
    assert (out / "transformer.md").read_text().strip() in report
    assert (out / "transformer-accuracy.png").is_file()
