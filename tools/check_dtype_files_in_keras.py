"""Evidence that files modelio writes for half-precision models load in real Keras.

Keras 3 (torch backend; modelio importable from this checkout):

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_dtype_files_in_keras.py keras3

For every Keras 3 archive of fixtures/keras3_files/dtypes/ (tools/dtype_policy_fixtures.py):
modelio loads it and writes `.keras`, `.weights.h5` and (no bfloat16 weights) legacy `.h5`; Keras
loads modelio's `.keras` and `.h5` (`keras.saving.load_model`) and, into the model it loaded from
its own archive with its weights zeroed, modelio's `.weights.h5` (`load_weights`); each predicts
on the recorded inputs. The table gives the output dtype Keras reports and the max |difference|
to the outputs Keras recorded (0 means bit-identical: the weights came back exact), and whether
Keras's variables have the dtypes of the original (float16/bfloat16 kept).

tf-keras (`../k2env/bin/python tools/check_dtype_files_in_keras.py tf-keras`): modelio writes the
tf-keras mixed_float16 `.h5` files back as legacy `.h5` (Keras 2 dialect is what tf-keras reads:
modelio's `save_h5_weights` into a tf-keras model loaded from the original file), and tf-keras
predicts.

Tables: fixtures/evidence/keras_loads_modelio_dtype_files.txt (keras3 section) and
fixtures/evidence/tf_keras_loads_modelio_dtype_files.txt.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
FILES = REPO_ROOT / "fixtures" / "keras3_files" / "dtypes"
EVIDENCE = REPO_ROOT / "fixtures" / "evidence"


def difference(got, want) -> float:
    return float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))


def keras3() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import onnxruntime

    import modelio

    recorded = dict(np.load(FILES / "keras3.npz"))
    names = sorted(key[:-len("/input")] for key in recorded if key.endswith("/input"))
    tf_backend = dict(np.load(FILES / "tf_backend.npz"))
    rows = [("model", "Keras output dtype", "modelio (torch)", "modelio (tf)", "onnxruntime",
             "Keras loads .keras", "Keras load_weights(.weights.h5)", "Keras loads .h5",
             "variable dtypes kept")]
    failures = 0
    for name in names:
        x, want = recorded[f"{name}/input"], recorded[f"{name}/output"]
        original = keras.saving.load_model(FILES / f"{name}.keras")
        dtypes = [v.dtype for v in original.weights]
        model = modelio.load_model(FILES / f"{name}.keras")
        mine = difference(model.predict(x), want)
        mine_tf = difference(model.predict(x), tf_backend[f"{name}/output"])
        try:
            proto = modelio.export_onnx(model)
        except modelio.UnsupportedError:
            exported = "refused (bfloat16)"
        else:
            session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                                   providers=["CPUExecutionProvider"])
            got = session.run(None, {session.get_inputs()[0].name: x})[0]
            exported = f"{difference(got, want):.3g} ({got.dtype})"
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            modelio.save_model(model, folder / "m.keras")
            model.save_weights(folder / "m.weights.h5")
            reloaded = keras.saving.load_model(folder / "m.keras")
            output = reloaded.predict(x, verbose=0)
            from_keras = difference(output, want)
            kept = [v.dtype for v in reloaded.weights] == dtypes
            for variable in original.weights:
                variable.assign(np.zeros(variable.shape, "float32"))
            original.load_weights(folder / "m.weights.h5")
            from_weights = difference(original.predict(x, verbose=0), want)
            if any(dtype == "bfloat16" for dtype in dtypes):
                legacy = "refused by modelio (bfloat16)"
            else:
                modelio.save_model(model, folder / "m.h5")
                h5_model = keras.saving.load_model(folder / "m.h5")
                legacy = f"{difference(h5_model.predict(x, verbose=0), want):.3g}"
                kept = kept and [v.dtype for v in h5_model.weights] == dtypes
        dtype = keras.backend.standardize_dtype(output.dtype)
        ok = (dtype == str(recorded[f"{name}/output_dtype"]) and kept
              and from_keras == 0 and from_weights == 0)
        failures += not ok
        rows.append((name, dtype, f"{mine:.3g}", f"{mine_tf:.3g}", exported,
                     f"{from_keras:.3g}", f"{from_weights:.3g}",
                     legacy, "yes" if kept else "NO"))
    write_table(EVIDENCE / "keras_loads_modelio_dtype_files.txt",
                f"Keras {keras.__version__} ({keras.backend.backend()} backend) loads the files "
                f"modelio writes for float16 / bfloat16 / mixed-precision models "
                f"(tools/check_dtype_files_in_keras.py).\nColumns: max |difference| to the outputs "
                f"Keras recorded on the original file (torch backend; 'modelio (tf)': to the "
                f"TensorFlow backend's outputs on the same file; 'onnxruntime': modelio's ONNX "
                f"export run in onnxruntime); 0 = bit-identical.", rows, failures)


def tf_keras() -> None:
    import tf_keras

    import modelio
    from modelio.formats.legacy_h5 import save_h5_weights

    recorded = dict(np.load(FILES / "tf_keras.npz"))
    names = sorted(key[:-len("/input")] for key in recorded if key.endswith("/input"))
    rows = [("model", "tf-keras output dtype", "modelio predict",
             "tf-keras load_weights(modelio .h5)")]
    failures = 0
    for name in names:
        x, want = recorded[f"{name}/input"], recorded[f"{name}/output"]
        model = modelio.load_model(FILES / f"{name}.h5")
        mine = difference(model.predict(x), want)
        target = tf_keras.models.load_model(FILES / f"{name}.h5")
        for variable in target.weights:
            variable.assign(np.zeros(variable.shape, variable.dtype.as_numpy_dtype))
        with tempfile.TemporaryDirectory() as folder:
            save_h5_weights(model, Path(folder) / "w.h5", dialect="keras2")
            target.load_weights(Path(folder) / "w.h5")
        output = target.predict(x, verbose=0)
        loaded = difference(output, want)
        failures += loaded != 0 or str(output.dtype) != "float16"
        rows.append((name, str(output.dtype), f"{mine:.3g}", f"{loaded:.3g}"))
    write_table(EVIDENCE / "tf_keras_loads_modelio_dtype_files.txt",
                f"tf-keras {tf_keras.__version__} loads the legacy .h5 weights modelio writes for "
                f"its mixed_float16 models (tools/check_dtype_files_in_keras.py tf-keras).",
                rows, failures)


def write_table(path: Path, title: str, rows: list, failures: int) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = [title, ""]
    for row in rows:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    lines += ["", f"{len(rows) - 1} models, {failures} failing"]
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    {"keras3": keras3, "tf-keras": tf_keras}[sys.argv[1]]()
