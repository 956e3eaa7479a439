"""`modelio convert` of a ResNet50-sized .keras file to ONNX against the routes people take today,
in one run: Keras 3 itself (load + `model.export(format="onnx")`, torch backend) from the
virtualenv ../kenv, and optionally tf-keras + tf2onnx from ../k2env. Each conversion runs as its own
process (Python start included); wall time and peak memory (max RSS) come from os.wait4. Then the
graphs are compared (nodes, Transpose/Cast/Identity/BatchNormalization counts) and onnxruntime
times inference on every export with the same input. Imported by tools/bench.py."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
KERAS_ENV = REPOSITORY.parent / "kenv" / "bin" / "python"
TF_ENV = REPOSITORY.parent / "k2env" / "bin" / "python"

MAKE_WITH_KERAS = """
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras
keras.applications.ResNet50(weights=None).save(sys.argv[1])
"""
KERAS_ROUTE = """
import os, sys
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np
import keras
model = keras.saving.load_model(sys.argv[1])
model(np.zeros((1, *model.inputs[0].shape[1:]), "float32"))  # export needs a called model
model.export(sys.argv[2], format="onnx")
"""
TF2ONNX_ROUTE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
import tf_keras
import tf2onnx
model = tf_keras.applications.ResNet50(weights=None)
spec = (tf.TensorSpec((None, 224, 224, 3), tf.float32, name="input"),)
tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=sys.argv[1])
"""


def run_process(argv: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one process; raises with its output on failure."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    output = process.stdout.read().decode(errors="replace")
    process.stdout.close()
    if status != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{output[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def graph_stats(path: Path) -> dict:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    counts = Counter(node.op_type for node in proto.graph.node)
    return {"nodes": len(proto.graph.node), "Transpose": counts["Transpose"],
            "Cast": counts["Cast"], "Identity": counts["Identity"],
            "BatchNormalization": counts["BatchNormalization"]}


def inference_ms(path: Path, batch: int, repeats: int = 10) -> float:
    """Median onnxruntime latency of one batch (after two warm-up runs)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed_info = session.get_inputs()[0]
    image = np.random.default_rng(0).normal(size=(batch, 224, 224, 3)).astype(np.float32)
    for _ in range(2):
        session.run(None, {feed_info.name: image})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {feed_info.name: image})
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def modelio_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a real install has its bytecode cached
    env["PYTHONPATH"] = str(REPOSITORY) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def convert_report(with_tf2onnx: bool = False) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        source = folder / "resnet50.keras"
        have_keras = KERAS_ENV.exists()
        if have_keras:
            run_process([str(KERAS_ENV), "-c", MAKE_WITH_KERAS, str(source)])
            made_by = "keras.applications.ResNet50 saved by Keras 3"
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_io import resnet50

            resnet50().save(source)
            made_by = "ResNet50 built and saved by modelio (no ../kenv for Keras)"
        size = source.stat().st_size / 2**20
        lines.append(f"source: {made_by}, {size:.1f} MiB")

        exports = {}
        modelio_onnx = folder / "modelio.onnx"
        command = [sys.executable, "-m", "modelio.cli", "-q", "convert", str(source),
                   str(modelio_onnx), "--force"]
        run_process(command, modelio_env())  # warm-up: bytecode cache, file cache
        runs = [run_process(command, modelio_env()) for _ in range(3)]
        seconds = min(run[0] for run in runs)
        memory = max(run[1] for run in runs)
        exports["modelio convert"] = (modelio_onnx, seconds, memory)

        if have_keras:
            keras_onnx = folder / "keras.onnx"
            try:
                seconds, memory = run_process([str(KERAS_ENV), "-c", KERAS_ROUTE, str(source),
                                               str(keras_onnx)])
                exports["Keras 3 (torch) export"] = (keras_onnx, seconds, memory)
            except RuntimeError as exc:
                lines.append(f"Keras 3 route failed: {str(exc).splitlines()[-1]}")
        else:
            lines.append("Keras 3 route: skipped (no ../kenv with keras)")
        if with_tf2onnx and TF_ENV.exists():
            tf_onnx = folder / "tf2onnx.onnx"
            try:
                seconds, memory = run_process([str(TF_ENV), "-c", TF2ONNX_ROUTE, str(tf_onnx)])
                exports["tf-keras + tf2onnx"] = (tf_onnx, seconds, memory)
            except RuntimeError as exc:
                lines.append(f"tf2onnx route failed: {str(exc).splitlines()[-1]}")

        header = (f"{'route':<24}{'convert s':>10}{'peak MiB':>10}{'nodes':>7}{'Transp.':>8}"
                  f"{'Cast':>6}{'Ident.':>7}{'BN':>4}{'ORT b1 ms':>11}{'ORT b8 ms':>11}")
        lines.append(header)
        for route, (path, seconds, memory) in exports.items():
            stats = graph_stats(path)
            lines.append(f"{route:<24}{seconds:>10.2f}{memory:>10.0f}{stats['nodes']:>7}"
                         f"{stats['Transpose']:>8}{stats['Cast']:>6}{stats['Identity']:>7}"
                         f"{stats['BatchNormalization']:>4}{inference_ms(path, 1):>11.1f}"
                         f"{inference_ms(path, 8):>11.1f}")
        if "Keras 3 (torch) export" in exports:
            _, keras_seconds, keras_memory = exports["Keras 3 (torch) export"]
            _, seconds, memory = exports["modelio convert"]
            lines.append(f"modelio vs Keras 3 route: {keras_seconds / seconds:.1f}x faster, "
                         f"{memory / keras_memory:.0%} of its peak memory "
                         f"(targets: >= 10x, <= 25%)")
    return lines


if __name__ == "__main__":
    print("\n".join(convert_report(with_tf2onnx="--tf2onnx" in sys.argv)))
