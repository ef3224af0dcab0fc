"""A training script run in a child process that may SIGKILL itself, for the tests that
kill a run and resume it: the script takes ``out directory kill_at quantitative solver``
and saves the model with its ``info``."""

import subprocess
import sys

import glai


def run_script(script, tmp_path, name, quantitative, solver, directory="", kill_at=0):
    """Run ``script``; returns its exit code (``-9`` when it killed itself) and the path of
    the model it saves."""
    out = tmp_path / f"{name}.safetensors"
    arguments = [str(out), str(directory), str(kill_at), quantitative, solver]
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True)
    return result.returncode, out


def reference_runs(tmp_path_factory, script):
    """``(quantitative, solver) -> (state dict, info)`` of ``script``'s uninterrupted run,
    each run once."""
    runs = {}

    def reference(quantitative, solver):
        if (quantitative, solver) not in runs:
            tmp = tmp_path_factory.mktemp("reference")
            code, out = run_script(script, tmp, "reference", quantitative, solver)
            assert code == 0
            runs[quantitative, solver] = glai.load(out).state_dict(), glai.read_info(out)["info"]
        return runs[quantitative, solver]

    return reference
