"""Evidence that models holding Keras 3 operations, written by modelio as `.keras`, load and run
in real Keras 3 with the outputs Keras computed.

Runs in the Keras 3 environment, with modelio importable from this checkout:

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_ops_in_keras.py [GROUP ...]

For every case of fixtures/keras3/ops_cases.npz that modelio loads (tools/ops_case_fixtures.py)
and for fixtures/keras3_files/ops_zoo.keras: modelio builds the model (from Keras's config, or
by loading the archive), predicts on the recorded inputs, saves it as `.keras`; real Keras loads
modelio's file with `keras.saving.load_model` and predicts. Both differences are the max
|prediction - recorded Keras output|. The table goes to
fixtures/evidence/keras3_loads_modelio_ops.txt. Given GROUP names, it checks the cases of each
group's archive fixtures/keras3/ops_GROUP_cases.npz (tools/ops_GROUP_fixtures.py) instead,
writing fixtures/evidence/keras3_loads_modelio_ops_GROUP.txt. Where the group also has
ops_GROUP_cases_tf.npz (the TensorFlow backend's outputs of the cases where Keras's backends
disagree, which modelio matches), modelio's column of those cases is measured against the
TensorFlow backend's outputs, and a column says which backend each row's modelio difference
is measured against; Keras on modelio's file (this, torch, backend) is always measured against
the recorded torch outputs, so it shows the backends' difference on those rows.
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
    return max(_difference(np.asarray(got, np.float64), np.asarray(want, np.float64))
               for got, want in zip(as_list(outputs), expected))


def _difference(got, want) -> float:
    """max |got - want|, equal infinities and NaNs in the same places counting as 0."""
    with np.errstate(invalid="ignore"):
        difference = np.atleast_1d(np.abs(got - want))
    difference[np.atleast_1d((got == want) | (np.isnan(got) & np.isnan(want)))] = 0.0
    return float(np.max(difference)) if difference.size else 0.0


def check(name, model, inputs, expected, folder, reference=None) -> str:
    """A table row; `reference` (backend name, outputs): what modelio's outputs are measured
    against, when not `expected` (Keras's recorded outputs)."""
    feed = inputs if len(inputs) > 1 else inputs[0]
    predicted = model.predict(feed)
    modelio_diff = worst(predicted, reference[1] if reference else expected)
    path = Path(folder) / f"{name}.keras"
    modelio.save_model(model, path)
    backend = (f" {reference[0]:10s} {modelio_diff:12.3g} {worst(predicted, expected):12.3g}"
               if reference else f" {modelio_diff:12.3g}")
    try:
        reloaded = keras.saving.load_model(path)
    except Exception as exc:  # noqa: BLE001 - reported: Keras cannot load the file
        return f"{name:28s}{backend}   Keras cannot load it: {_first_line(exc)}"
    try:
        keras_out = [keras.ops.convert_to_numpy(value) for value in as_list(reloaded(inputs))]
    except Exception as exc:  # noqa: BLE001 - reported: Keras loads but cannot run it
        return f"{name:28s}{backend}   Keras loads it, cannot run it: {_first_line(exc)}"
    return f"{name:28s}{backend} {worst(keras_out, expected):12.3g}"


def _first_line(exc) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:  # the root cause
        exc = exc.__cause__ or exc.__context__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines if not line.startswith("Exception encountered")), "")
    return f"{type(exc).__name__}: {detail}".replace("\x1b[1m", "").replace("\x1b[0m", "")[:110]


# archives a group's generator writes beside ops_GROUP_cases.npz
EXTRA_ARCHIVES = {"nn_more": ["ops_nn_more_eager_cases.npz"]}
NOTES = {
    "nn_more": "# ctc_decode_negative_mask: modelio follows the TensorFlow backend (mask_index -1 "
               "is the last class), torch's finds no blank\n"
               "# ConvTranspose rows: Keras 3.15.1's ConvTranspose.call swaps padding and "
               "output_padding, so Keras runs none of these models (its own either); the "
               "recorded outputs are keras.ops.conv_transpose called eagerly\n"
               "# AdaptiveAveragePool / AdaptiveMaxPool rows: Keras 3.15.1 cannot rebuild a "
               "model holding them from any config (its compute_output_spec adds a list to a "
               "tuple), its own neither\n",
    "numpy_more": "# (empty_like: contents unspecified, so the differences are meaningless; nan: "
                  "outputs holding NaN bit patterns (view); 'Keras fails': Keras cannot run its "
                  "own model of these either (Histogram calls a missing "
                  "backend.math.histogram, a Histogram range written as a list is refused on "
                  "loading, torch has no imag of real tensors nor Cross axis arguments)\n",
}


def main():
    groups = [group for group in sys.argv[1:] if group != "--group"]
    if not groups:
        write_table(CASES, OUT, with_zoo=True)
    for group in groups:
        write_table(CASES.with_name(f"ops_{group}_cases.npz"),
                    OUT.with_name(f"keras3_loads_modelio_ops_{group}.txt"), with_zoo=False,
                    extra=[CASES.with_name(name) for name in EXTRA_ARCHIVES.get(group, [])])


def _cases(*paths):
    """(case, its archive's buffers) of every case of the archives at `paths`."""
    for path in paths:
        buffers, document = load_case_archive(path)
        for case in document["cases"]:
            yield case, buffers


def tf_references(cases_path: Path) -> dict | None:
    """{case name: TensorFlow-backend outputs} of the group's ops_GROUP_cases_tf.npz (None
    without one)."""
    tf_path = cases_path.with_name(cases_path.stem + "_tf.npz")
    if cases_path == CASES or not tf_path.exists():
        return None
    outputs = {}
    with np.load(tf_path) as archive:
        for key in archive.files:
            if ":output_" in key:
                name, index = key.split(":output_")
                outputs.setdefault(name, {})[int(index)] = archive[key]
    # a case with only some outputs recorded (the others agree) is measured against Keras's
    return {name: [by_index[i] for i in range(len(by_index))]
            for name, by_index in outputs.items() if set(by_index) == set(range(len(by_index)))}


def write_table(cases_path: Path, out_path: Path, with_zoo: bool, extra: list = ()) -> None:
    tf_outputs = tf_references(cases_path)
    rows, refused, keras_failed = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for case, buffers in _cases(cases_path, *extra):
            if "config" not in case:
                keras_failed.append(case["name"])
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
            reference = None
            if tf_outputs is not None:
                reference = (("tensorflow", tf_outputs[name]) if name in tf_outputs
                             else (keras.backend.backend(), expected))
            try:
                rows.append(check(name, model, inputs, expected, folder, reference))
            except Exception as exc:  # noqa: BLE001 - Keras itself cannot load or run the file
                rows.append(f"{name:28s} Keras fails on modelio's file: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        if with_zoo:
            with np.load(ZOO.with_suffix(".npz")) as arrays:
                inputs = [arrays["input:x"], arrays["input:image"]]
                expected = [arrays[f"output:{i}"] for i in range(5)]
            rows.append(check("ops_zoo (.keras by Keras)", modelio.load_model(ZOO), inputs,
                              expected, folder))
    backend = keras.backend.backend()
    header = (f"# Keras {keras.__version__} ({backend}) loads the .keras files "
              f"modelio writes for models holding keras.ops operations\n")
    if tf_outputs is None:
        header += (f"# columns: case, max |modelio - Keras recorded|, max |Keras on modelio's "
                   f"file - Keras recorded|\n"
                   f"# cases: {cases_path.relative_to(REPO_ROOT)}\n"
                   f"# (nan: dot and count_nonzero_axis, where the torch backend computes a "
                   f"batched matmul and a transposed count where numpy and TensorFlow do not; "
                   f"modelio follows numpy)\n")
    else:
        header += (f"# columns: case, the Keras backend modelio matches there, max |modelio - "
                   f"that backend's outputs|, max |modelio - Keras ({backend}) recorded|, max "
                   f"|Keras ({backend}) on modelio's file - Keras ({backend}) recorded|\n"
                   f"# cases: {cases_path.relative_to(REPO_ROOT)}; TensorFlow-backend outputs "
                   f"where Keras's backends disagree: "
                   f"{cases_path.with_name(cases_path.stem + '_tf.npz').relative_to(REPO_ROOT)}"
                   f"\n# (on the tensorflow rows the middle column is how far the {backend} "
                   f"backend's numbers are from TensorFlow's, which modelio matches; Keras "
                   f"({backend}) computes its own numbers from modelio's file)\n")
    header += NOTES.get(cases_path.stem[len("ops_"):-len("_cases")], "")
    body = "\n".join(rows)
    tail = "\n# refused by modelio (no file written):\n" + "\n".join(f"#   {item}" for item in refused)
    if tf_outputs is not None and keras_failed:
        tail += (f"\n# Keras ({backend}) fails on (no file checked; the tests match modelio "
                 f"to the TensorFlow backend's outputs in "
                 f"{cases_path.stem}_tf_only.npz where recorded):\n#   "
                 + ", ".join(keras_failed))
    out_path.write_text(header + body + tail + "\n")
    print(header + body + tail)


if __name__ == "__main__":
    main()
