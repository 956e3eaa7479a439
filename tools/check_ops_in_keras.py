"""Evidence that models holding Keras 3 operations, written by modelio as `.keras`, load and run
in real Keras 3 with the outputs Keras computed.

Runs in the Keras 3 environment, with modelio importable from this checkout:

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_ops_in_keras.py [GROUP]

For every case of fixtures/keras3/ops_cases.npz that modelio loads (tools/ops_case_fixtures.py)
and for fixtures/keras3_files/ops_zoo.keras: modelio builds the model (from Keras's config, or
by loading the archive), predicts on the recorded inputs, saves it as `.keras`; real Keras loads
modelio's file with `keras.saving.load_model` and predicts. Both differences are the max
|prediction - recorded Keras output|. The table goes to
fixtures/evidence/keras3_loads_modelio_ops.txt.

With GROUP (one of GROUPS), the case archives of that group's generator
(tools/ops_GROUP_fixtures.py) are checked instead, into
fixtures/evidence/keras3_loads_modelio_ops_GROUP.txt; where Keras cannot load or run a file, the
row says why.
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
# group -> its case archives (tools/ops_GROUP_fixtures.py)
GROUPS = {"nn_more": ["ops_nn_more_cases.npz", "ops_nn_more_eager_cases.npz"]}
GROUP_NOTES = {"nn_more": (
    "# ctc_decode_negative_mask: modelio follows the TensorFlow backend (mask_index -1 is the "
    "last class), torch's finds no blank\n"
    "# ConvTranspose rows: Keras 3.15.1's ConvTranspose.call swaps padding and output_padding, "
    "so Keras runs none of these models (its own either); the recorded outputs are "
    "keras.ops.conv_transpose called eagerly\n"
    "# AdaptiveAveragePool / AdaptiveMaxPool rows: Keras 3.15.1 cannot rebuild a model holding "
    "them from any config (its compute_output_spec adds a list to a tuple), its own neither\n")}


def as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def worst(outputs, expected):
    if any(np.shape(got) != np.shape(want) for got, want in zip(as_list(outputs), expected)):
        return float("nan")  # the torch backend's shape differs (dot, count_nonzero)
    gaps = []
    for got, want in zip(as_list(outputs), expected):
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        with np.errstate(invalid="ignore"):
            gaps.append(float(np.max(np.where(got == want, 0.0, np.abs(got - want)))))
    return max(gaps)


def check(name, model, inputs, expected, folder) -> str:
    feed = inputs if len(inputs) > 1 else inputs[0]
    modelio_diff = worst(model.predict(feed), expected)
    path = Path(folder) / f"{name}.keras"
    modelio.save_model(model, path)
    try:
        reloaded = keras.saving.load_model(path)
    except Exception as exc:  # noqa: BLE001 - reported: Keras cannot load the file
        return f"{name:28s} {modelio_diff:12.3g}   Keras cannot load it: {_first_line(exc)}"
    try:
        keras_out = [keras.ops.convert_to_numpy(value) for value in as_list(reloaded(inputs))]
    except Exception as exc:  # noqa: BLE001 - reported: Keras loads but cannot run it
        return f"{name:28s} {modelio_diff:12.3g}   Keras loads it, cannot run it: {_first_line(exc)}"
    return f"{name:28s} {modelio_diff:12.3g} {worst(keras_out, expected):12.3g}"


def _first_line(exc) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:  # the root cause
        exc = exc.__cause__ or exc.__context__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines if not line.startswith("Exception encountered")), "")
    return f"{type(exc).__name__}: {detail}".replace("\x1b[1m", "").replace("\x1b[0m", "")[:110]


def check_archive(path, folder, rows, refused) -> None:
    buffers, document = load_case_archive(path)
    for case in document["cases"]:
        if "config" not in case:
            continue
        name = case["name"]
        inputs = [read_case_array(buffers, case, f"input_{i}") for i in range(case["n_inputs"])]
        expected = [read_case_array(buffers, case, f"output_{i}")
                    for i in range(case["n_outputs"])]
        try:
            model = modelio.Model.from_config(case["config"])
        except ModelioError as exc:
            refused.append(f"{name}: {exc}")
            continue
        rows.append(check(name, model, inputs, expected, folder))


def check_group(group: str) -> None:
    out = OUT.with_name(f"keras3_loads_modelio_ops_{group}.txt")
    rows, refused = [], []
    with tempfile.TemporaryDirectory() as folder:
        for archive in GROUPS[group]:
            check_archive(CASES.with_name(archive), folder, rows, refused)
    header = (f"# Keras {keras.__version__} ({keras.backend.backend()}) loads the .keras files "
              f"modelio writes for the models of {', '.join(GROUPS[group])}\n"
              f"# columns: case, max |modelio - Keras recorded|, max |Keras on modelio's file - "
              f"Keras recorded| (or why Keras cannot)\n{GROUP_NOTES.get(group, '')}")
    tail = "\n# refused by modelio (no file written):\n" + "\n".join(f"#   {item}" for item in refused)
    out.write_text(header + "\n".join(rows) + tail + "\n")
    print(header + "\n".join(rows) + tail)


def main():
    if len(sys.argv) > 1:
        if sys.argv[1] not in GROUPS:
            sys.exit(f"usage: check_ops_in_keras.py [{' | '.join(GROUPS)}]")
        check_group(sys.argv[1])
        return
    rows, refused = [], []
    with tempfile.TemporaryDirectory() as folder:
        check_archive(CASES, folder, rows, refused)
        with np.load(ZOO.with_suffix(".npz")) as arrays:
            inputs = [arrays["input:x"], arrays["input:image"]]
            expected = [arrays[f"output:{i}"] for i in range(5)]
        rows.append(check("ops_zoo (.keras by Keras)", modelio.load_model(ZOO), inputs, expected,
                          folder))
    header = (f"# Keras {keras.__version__} ({keras.backend.backend()}) loads the .keras files "
              f"modelio writes for models holding keras.ops operations\n"
              f"# columns: case, max |modelio - Keras recorded|, max |Keras on modelio's file - "
              f"Keras recorded|\n"
              f"# (nan: dot and count_nonzero_axis, where the torch backend computes a batched matmul and a "
              f"transposed count where numpy and TensorFlow do not; modelio follows numpy)\n")
    body = "\n".join(rows)
    tail = "\n# refused by modelio (no file written):\n" + "\n".join(f"#   {item}" for item in refused)
    OUT.write_text(header + body + tail + "\n")
    print(header + body + tail)


if __name__ == "__main__":
    main()
