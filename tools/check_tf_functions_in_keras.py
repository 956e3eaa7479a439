"""Evidence that tf-keras models with TFOpLambda nodes, once modelio has translated those nodes
into Keras 3 operations, load in real Keras 3 and compute what tf-keras computed.

Runs in the Keras 3 environment with modelio importable from this checkout:

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_tf_functions_in_keras.py

For each fixture of tools/tf_op_lambda_fixtures.py (the tf_keras.applications models and the
allowlist model), modelio loads the tf-keras file, writes it as `.keras`, and Keras 3's
`keras.saving.load_model` loads that archive and predicts on the recorded input. The table goes to
fixtures/evidence/keras3_loads_translated_tf_functions.txt.
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
from formula_weights import set_fixture_weights  # noqa: E402

import modelio  # noqa: E402

APPLICATIONS = REPO_ROOT / "fixtures" / "keras2" / "applications"
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_translated_tf_functions.txt"


def cases():
    for name in ("mobilenet_v3_small", "mobilenet_v3_large", "regnet_x002", "regnet_y002"):
        model = modelio.load_model(APPLICATIONS / f"{name}.json")
        with np.load(APPLICATIONS / f"{name}.npz") as archive:
            arrays = dict(archive)
        set_fixture_weights(model, arrays)
        yield name, model, arrays["input"], [arrays["output"]]
    path = REPO_ROOT / "fixtures" / "keras2" / "tf_functions.h5"
    try:
        model = modelio.load_model(path)
    except modelio.ModelioError as error:
        yield "tf_functions", error, None, None
        return
    with np.load(f"{path}.npz") as archive:
        arrays = dict(archive)
    count = sum(key.startswith("output:") for key in arrays)
    yield "tf_functions", model, arrays["input:x"], [arrays[f"output:{i}"] for i in range(count)]


def as_list(outputs):
    return [np.asarray(item) for item in outputs] if isinstance(outputs, (list, tuple)) \
        else [np.asarray(outputs)]


def main():
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, model, inputs, expected in cases():
            if isinstance(model, Exception):
                rows.append(f"{name:22s} modelio refuses it: {model}")
                continue
            ours = max(np.abs(got - want).max()
                       for got, want in zip(as_list(model.predict(inputs)), expected))
            path = os.path.join(folder, f"{name}.keras")
            modelio.save_model(model, path)
            try:
                loaded = keras.saving.load_model(path)
                theirs = max(np.abs(got - want).max() for got, want in
                             zip(as_list(loaded.predict(inputs, verbose=0)), expected))
                rows.append(f"{name:22s} {ours:12.2e} {theirs:14.2e}")
            except Exception as error:  # the evidence records Keras's refusal as it is
                rows.append(f"{name:22s} {ours:12.2e}   keras fails: {type(error).__name__}: "
                            f"{str(error)[:200]}")
    header = [f"modelio-translated tf-keras models loaded by keras {keras.__version__} "
              f"(backend {keras.backend.backend()}); made by tools/check_tf_functions_in_keras.py",
              "", "Each number is max |prediction - output recorded by tf-keras 2.21|:",
              "  modelio   modelio loads the tf-keras file (TFOpLambda nodes -> Keras 3 operations)",
              "  keras     keras.saving.load_model(<the .keras modelio wrote>)", "",
              f"{'model':22s} {'modelio':>12s} {'keras':>14s}", "-" * 52]
    OUT.write_text("\n".join(header + rows) + "\n")
    print("\n".join(header + rows))


if __name__ == "__main__":
    main()
