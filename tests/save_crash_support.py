"""Saves stopped on purpose: a process that saves a model and pauses at a chosen point of the
save, where the test kills it with SIGKILL; and helpers to look at the folder afterwards.

One helper process imports modelio once and forks a fresh saver for each request (a new Python
process per kill would cost seconds each). Stages (where the saver pauses):

    writing       inside the writer, after it wrote the content (its file still open)
    committing    everything written, before the first commit (fsync + rename)
    renaming      the new file has a temporary name in the folder, the rename not done yet
    between       a JSON/YAML pair: the weights committed, the architecture not yet
"""

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
OLD_SOURCE = FIXTURES / "keras3_files" / "mlp.keras"
NEW_SOURCE = FIXTURES / "keras3_files" / "shared_layers.keras"

_SERVER_SCRIPT = r"""
import json, os, sys, time
import modelio
from modelio import atomic
from modelio.formats import legacy_h5, weights_h5
from modelio.onnx import export as onnx_export

def pause():
    print(f"paused {os.getpid()}", flush=True)
    time.sleep(600)

def pausing_after(module, name):
    original = getattr(module, name)
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        pause()
        return result
    setattr(module, name, wrapper)

def stop_at(stage):
    if stage == "writing":
        pausing_after(weights_h5, "write_keras3_weights")
        pausing_after(legacy_h5, "_write_plan_to_group")
        pausing_after(onnx_export, "write_model_streaming")
    elif stage == "committing":
        def commit_paused(self):
            pause()
        atomic.NewFile.commit = commit_paused
    elif stage == "renaming":
        def replace_paused(source, destination):
            pause()
        os.replace = replace_paused
    elif stage == "between":
        original_commit = atomic.NewFile.commit
        commits = []
        def second_commit_paused(self):
            if commits:
                pause()
            original_commit(self)
            commits.append(self.target)
        atomic.NewFile.commit = second_commit_paused
    else:
        raise ValueError(stage)

def save(request):
    if request["named_temporaries"]:
        atomic._create_unnamed = lambda folder: None
    stop_at(request["stage"])
    model = modelio.load_model(request["source"])
    if request["target"].endswith(".weights.h5"):
        model.save_weights(request["target"])
    else:
        modelio.save_model(model, request["target"])

print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            save(request)
            print("finished without pausing", flush=True)
        except BaseException as exc:
            print(f"failed {type(exc).__name__}: {exc}".replace(chr(10), " ")[:500], flush=True)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    print(f"ended {os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1}", flush=True)
"""


class SaveKiller:
    """A helper process that runs saves to be killed (see the module docstring)."""

    def __init__(self, timeout: float = 60.0):
        if not sys.platform.startswith("linux"):
            pytest.skip("needs Linux")
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.timeout = timeout
        self.process = subprocess.Popen([sys.executable, "-c", _SERVER_SCRIPT],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO))
        assert self._line() == "ready"

    def kill_save_at(self, stage: str, target: Path, source: Path = NEW_SOURCE,
                     named_temporaries: bool = False, while_paused=None) -> None:
        """Save `source`'s model to `target` in a fresh saver, wait until it pauses at `stage`,
        call `while_paused()` if given, and kill the saver with SIGKILL. `named_temporaries`
        makes the saver use the fallback for file systems without unnamed files."""
        request = {"stage": stage, "target": str(target), "source": str(source),
                   "named_temporaries": named_temporaries}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        said = self._line()
        if not said.startswith("paused "):
            self._line()  # "ended ..."
            pytest.fail(f"the saver did not pause at {stage!r}: {said}")
        try:
            if while_paused is not None:
                while_paused()
        finally:
            os.kill(int(said.split()[1]), signal.SIGKILL)
            assert self._line() == f"ended {int(signal.SIGKILL)}"

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()

    def _line(self) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)  # hang detector
        if not ready:
            self.process.kill()
            pytest.fail(f"no answer from the saver within {self.timeout} s")
        line = self.process.stdout.readline()
        if not line:
            pytest.fail(f"the saver process ended: {self.process.stderr.read()[-800:]}")
        return line.strip()


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of `folder` (not recursive) by name, with its content."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())
