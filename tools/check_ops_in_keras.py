"""Evidence that models holding Keras 3 operations, written by modelio as `.keras`, load and run
in real Keras 3 with the outputs Keras computed.

Runs in the Keras 3 environment, with modelio importable from this checkout:

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_ops_in_keras.py [GROUP]

For every case of fixtures/keras3/ops_cases.npz that modelio loads (tools/ops_case_fixtures.py)
and for fixtures/keras3_files/ops_zoo.keras: modelio builds the model (from Keras's config, or
by loading the archive), predicts on the recorded inputs, saves it as `.keras`; real Keras loads
modelio's file with `keras.saving.load_model` and predicts. Both differences are the max
|prediction - recorded Keras output|. The table goes to
fixtures/evidence/keras3_loads_modelio_ops.txt. With GROUP (e.g. `image_more`), the cases of
fixtures/keras3/ops_GROUP_cases.npz instead (no zoo), into keras3_loads_modelio_ops_GROUP.txt.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests"))
os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from case_archive import load_case_archive, read_case_array  # noqa: E402

import modelio  # noqa: E402
from modelio.errors import ModelioError  # noqa: E402

CASES = REPO_ROOT / "fixtures" / "keras3" / "ops_cases.npz"
ZOO = REPO_ROOT / "fixtures" / "keras3_files" / "ops_zoo.keras"
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_ops.txt"


def as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def worst(outputs, expected):
    if any(np.shape(got) != np.shape(want) for got, want in zip(as_list(outputs), expected)):
        return float("nan")  # the torch backend's shape differs (dot, count_nonzero)
    return max(float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
               for got, want in zip(as_list(outputs), expected))


def check(name, model, inputs, expected, folder) -> str:
    feed = inputs if len(inputs) > 1 else inputs[0]
    modelio_diff = worst(model.predict(feed), expected)
    path = Path(folder) / f"{name}.keras"
    modelio.save_model(model, path)
    reloaded = keras.saving.load_model(path)
    keras_out = [keras.ops.convert_to_numpy(value) for value in as_list(reloaded(inputs))]
    return f"{name:28s} {modelio_diff:12.3g} {worst(keras_out, expected):12.3g}"


def main(group=None):
    cases, out = CASES, OUT
    if group:
        cases = CASES.with_name(f"ops_{group}_cases.npz")
        out = OUT.with_name(f"keras3_loads_modelio_ops_{group}.txt")
    buffers, document = load_case_archive(cases)
    rows, refused = [], []
    with tempfile.TemporaryDirectory() as folder:
        for case in document["cases"]:
            if "config" not in case:
                continue
            name = case["name"]
            inputs = [read_case_array(buffers, case, f"input_{i}")
                      for i in range(case["n_inputs"])]
            expected = [read_case_array(buffers, case, f"output_{i}")
                        for i in range(case["n_outputs"])]
            try:
                model = modelio.Model.from_config(case["config"])
            except ModelioError as exc:
                refused.append(f"{name}: {exc}")
                continue
            rows.append(check(name, model, inputs, expected, folder))
        if not group:
            with np.load(ZOO.with_suffix(".npz")) as arrays:
                inputs = [arrays["input:x"], arrays["input:image"]]
                expected = [arrays[f"output:{i}"] for i in range(5)]
            rows.append(check("ops_zoo (.keras by Keras)", modelio.load_model(ZOO), inputs,
                              expected, folder))
    header = (f"# Keras {keras.__version__} ({keras.backend.backend()}) loads the .keras files "
              f"modelio writes for models holding keras.ops operations\n"
              f"# columns: case, max |modelio - Keras recorded|, max |Keras on modelio's file - "
              f"Keras recorded|\n"
              + ("# (nan: dot and count_nonzero_axis, where the torch backend computes a batched "
                 "matmul and a transposed count where numpy and TensorFlow do not; modelio "
                 "follows numpy)\n" if not group else
                 f"# (nan or large in the first column only: cases where the torch backend "
                 f"disagrees with TensorFlow, whose outputs modelio matches; see "
                 f"tests/ops/test_ops_{group}.py)\n"))
    body = "\n".join(rows)
    tail = "\n# refused by modelio (no file written):\n" + "\n".join(f"#   {item}" for item in refused)
    out.write_text(header + body + tail + "\n")
    print(header + body + tail)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
