"""glai bench faults and fuzz in quick mode: kills resume bit-identically, and random
settings or malformed data never crash without a clear message."""

import dataclasses

import pytest

import glai
from glai_bench.faults import FAULTS_QUICK, run_faults
from glai_bench.fuzz import NOT_DRAWN, SETTINGS, outcome, run_fuzz


@pytest.mark.slow
def test_killed_runs_resume_bit_identically(tmp_path):
    result = run_faults(FAULTS_QUICK, tmp_path, progress=False)
    assert len(result["runs"]) == FAULTS_QUICK.runs
    assert all(row["identical"] for row in result["runs"])
    assert "| **all** |" in (tmp_path / "faults.md").read_text()


def test_fuzzed_fits_end_trained_or_refused(tmp_path):
    result = run_fuzz(40, tmp_path)
    assert result["counts"].get("crash", 0) == 0, result["crashes"]
    assert result["counts"]["trained"] > 0 and result["counts"]["refused"] > 0


def test_the_fuzz_counts_an_unclear_error_as_a_crash(monkeypatch):
    import glai

    def broken(*args, **kwargs):
        raise KeyError("x")

    monkeypatch.setattr(glai, "fit", broken)
    assert outcome("mlp", None, {})[0] == "crash"


def test_the_fuzz_draws_every_setting_of_fit():
    flat = {f.name for f in dataclasses.fields(glai.FitConfig)}
    flat |= {f.name for f in dataclasses.fields(glai.SwitchRule)}
    assert flat - set(NOT_DRAWN) == set(SETTINGS)
