"""ONNX import of a ResNet50-sized model (98 MiB of weights): time and peak memory of
`modelio.load_model("x.onnx")` as a whole process, beside a process that only runs `onnx.load`
and turns the initializers into numpy arrays (what an importer built on onnx.load holds at
least). Imported by tools/bench.py."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent

LOAD_WITH_MODELIO = "import sys, modelio; modelio.load_model(sys.argv[1])"
LOAD_WITH_ONNX = ("import sys, onnx; from onnx import numpy_helper; proto = onnx.load(sys.argv[1]); "
                  "arrays = [numpy_helper.to_array(t) for t in proto.graph.initializer]")
BASELINE = "import modelio, onnx, numpy"
# Made in its own process: Linux counts a child's peak memory from the fork, so the parent must
# stay small while it starts the measured processes.
MAKE_FILE = ("import sys; sys.path.insert(0, sys.argv[2]); import modelio; "
             "from bench_io import resnet50; modelio.export_onnx(resnet50(), sys.argv[1])")


def measured(code: str, *arguments: str) -> tuple[float, float]:
    """(best wall seconds of 3, peak resident MiB) of `python -c code arguments`."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(REPOSITORY) + os.pathsep + env.get("PYTHONPATH", "")
    best, peak = float("inf"), 0.0
    for _ in range(3):
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", code, *arguments], env=env,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        error = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        if status:
            raise RuntimeError(error[-2000:])
        best = min(best, time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
    return best, peak


def import_report() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "resnet50.onnx"
        measured(MAKE_FILE, str(path), str(Path(__file__).resolve().parent))
        size = path.stat().st_size / 2**20
        _, base = measured(BASELINE)
        seconds, peak = measured(LOAD_WITH_MODELIO, str(path))
        onnx_seconds, onnx_peak = measured(LOAD_WITH_ONNX, str(path))
    return [
        f"ResNet50 exported by modelio: {size:.1f} MiB; Python with modelio, onnx and numpy "
        f"imported: {base:.0f} MiB",
        f"{'load':<34}{'seconds':>9}{'peak MiB':>10}{'above base':>12}",
        f"{'modelio.load_model (import)':<34}{seconds:>9.2f}{peak:>10.0f}"
        f"{(peak - base) / size:>11.2f}x",
        f"{'onnx.load + numpy_helper only':<34}{onnx_seconds:>9.2f}{onnx_peak:>10.0f}"
        f"{(onnx_peak - base) / size:>11.2f}x",
        "('above base': peak memory beyond the imports, as a multiple of the file's size)",
    ]


if __name__ == "__main__":
    print("\n".join(import_report()))
