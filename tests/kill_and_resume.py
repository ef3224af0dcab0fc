"""A training script run in a child process that may SIGKILL itself, for the tests that
kill a run and resume it: the script takes ``out directory kill_at quantitative solver``
and saves the model with its ``info``."""

import functools
import subprocess
import sys

import pytest

import glai


def run_script(script, tmp_path, name, quantitative, solver, directory="", kill_at=0):
    """Run ``script``; returns its exit code (``-9`` when it killed itself) and the path of
    the model it saves."""
    out = tmp_path / f"{name}.safetensors"
    arguments = [str(out), str(directory), str(kill_at), quantitative, solver]
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True)
    return result.returncode, out


def trainer_of(script):
    """``run_script`` bound to ``script``: ``train(tmp_path, name, quantitative, solver,
    directory="", kill_at=0)``."""
    return functools.partial(run_script, script)


def uninterrupted_fixture(script):
    """A module-scoped fixture: ``(quantitative, solver) -> (state dict, info)`` of
    ``script``'s uninterrupted run, each run once."""

    @pytest.fixture(scope="module")
    def uninterrupted(tmp_path_factory):
        runs = {}

        def reference(quantitative, solver):
            if (quantitative, solver) not in runs:
                tmp = tmp_path_factory.mktemp("reference")
                code, out = run_script(script, tmp, "reference", quantitative, solver)
                assert code == 0
                info = glai.read_info(out)["info"]
                runs[quantitative, solver] = glai.load(out).state_dict(), info
            return runs[quantitative, solver]

        return reference

    return uninterrupted
