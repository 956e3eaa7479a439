"""Evidence that `.keras` and `.weights.h5` files written by modelio load in real Keras 3.

Runs in the Keras 3 environment, with modelio importable from this checkout (the Keras venv has
numpy, h5py and pyyaml, all modelio needs to read and write these files):

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_keras3_files_in_keras.py

For every archive in fixtures/keras3_files/ (written by Keras 3, or by tf-keras 2.21 for the
`tf_keras_*` ones; see tools/keras3_file_fixtures.py):

1. modelio loads it and predicts on the recorded inputs (difference to the outputs Keras recorded);
2. modelio writes it back as `.keras` and as `.weights.h5` into a temporary folder;
3. real Keras loads modelio's `.keras` with `keras.saving.load_model` and predicts;
4. real Keras loads modelio's `.weights.h5` with `model.load_weights` into a model it built itself
   (from the original Keras 3 archive; for tf-keras archives, which Keras 3 cannot load, from
   modelio's `.keras`), after zeroing its weights, and predicts;
5. for Keras 3 originals, the HDF5 paths (groups, datasets and shapes) of modelio's `.weights.h5`
   are compared with those of the `.weights.h5` Keras wrote.

Every difference is the max |prediction - recorded Keras output|. The table is written to
fixtures/evidence/keras3_loads_modelio_keras_files.txt.
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

import h5py  # noqa: E402
import keras  # noqa: E402
from fixture_models import fixture_arrays, recorded_inputs, recorded_outputs  # noqa: E402

import modelio  # noqa: E402
from modelio.formats.keras_zip import load_keras_archive, save_keras_archive  # noqa: E402
from modelio.formats.weights_h5 import save_weights_h5  # noqa: E402

FILES = REPO_ROOT / "fixtures" / "keras3_files"
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_keras_files.txt"


def recorded_arrays(stem: str) -> dict:
    if stem.startswith("tf_keras_"):
        return fixture_arrays("keras2", stem[len("tf_keras_"):])
    if (FILES / f"{stem}.npz").exists():
        with np.load(FILES / f"{stem}.npz") as archive:
            return dict(archive)
    return fixture_arrays("keras3", stem)


def as_list(outputs) -> list:
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def worst(outputs, expected) -> float:
    return max(float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
               for got, want in zip(as_list(outputs), expected))


def keras_predict(model, inputs: dict):
    feed = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    return model.predict(feed, verbose=0)


def h5_layout(path) -> dict:
    layout = {}

    def visit(name, item):
        layout[name] = tuple(item.shape) if isinstance(item, h5py.Dataset) else "group"

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return layout


def check(archive: Path, folder: Path) -> str:
    stem = archive.stem
    arrays = recorded_arrays(stem)
    inputs, expected = recorded_inputs(arrays), recorded_outputs(arrays)
    modelio.clear_session()
    model = load_keras_archive(archive)
    own = worst(model.predict(inputs), expected)
    written_archive = folder / f"{stem}.keras"
    written_weights = folder / f"{stem}.weights.h5"
    save_keras_archive(model, written_archive)
    save_weights_h5(model, written_weights)

    keras_model = keras.saving.load_model(written_archive)
    from_archive = worst(keras_predict(keras_model, inputs), expected)

    if stem.startswith("tf_keras_"):
        host = keras.saving.load_model(written_archive)
        layout = "n/a (tf-keras original)"
    else:
        host = keras.saving.load_model(archive)
        keras_layout = h5_layout(FILES / f"{stem}.weights.h5")
        modelio_layout = h5_layout(written_weights)
        differing = sorted(set(keras_layout.items()) ^ set(modelio_layout.items()))
        layout = ("identical" if not differing else f"DIFFERS at {differing[:3]}") + \
            f" ({len(keras_layout)} paths)"
    host.set_weights([np.zeros_like(value) for value in host.get_weights()])
    host.load_weights(written_weights)
    from_weights = worst(keras_predict(host, inputs), expected)
    return (f"{stem:<28} {own:10.2e} {from_archive:14.2e} {from_weights:14.2e}   {layout}")


def main() -> None:
    header = (f"{'fixture':<28} {'modelio':>10} {'keras .keras':>14} {'keras weights':>14}   "
              f"weights.h5 layout vs Keras's own")
    lines = [
        f"modelio-written .keras and .weights.h5 loaded by keras {keras.__version__} "
        f"(backend {keras.backend.backend()}); made by tools/check_keras3_files_in_keras.py",
        "",
        "Each number is max |prediction - output recorded by Keras| on the recorded inputs:",
        "  modelio        modelio loads the fixture archive (Keras 3, or tf-keras 2.21 for tf_keras_*)",
        "  keras .keras   keras.saving.load_model(<archive modelio wrote>)",
        "  keras weights  a Keras-built model, weights zeroed, then load_weights(<.weights.h5 modelio"
        " wrote>)",
        "",
        header,
        "-" * len(header),
    ]
    with tempfile.TemporaryDirectory() as folder:
        for archive in sorted(FILES.glob("*.keras")):
            try:
                line = check(archive, Path(folder))
            except Exception as exc:  # the evidence records any failure verbatim
                line = f"{archive.stem:<28} FAILED: {type(exc).__name__}: " \
                       f"{str(exc).splitlines()[0][:150]}"
            print(line, flush=True)
            lines.append(line)
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
