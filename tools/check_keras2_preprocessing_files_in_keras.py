"""Evidence for the tf-keras preprocessing / RandomFourierFeatures files
(fixtures/keras2_files/preprocessing/, tools/keras2_preprocessing_fixtures.py): what modelio
writes back loads in real Keras with the outputs tf-keras recorded. Two runs:

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_keras2_preprocessing_files_in_keras.py
    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/check_keras2_preprocessing_files_in_keras.py --tf-keras

For every model and every file tf-keras wrote (`.h5`, `.keras`, `.json` + weights): modelio loads
it and predicts (max |difference| to tf-keras's `model.predict`). Keras 3 run: modelio writes
the model as `.keras`; `keras.saving.load_model` loads that and predicts (a refusal by Keras is
recorded with its message: RandomFourierFeatures has no Keras 3 class). tf-keras run (modelio
writes Keras 3 model configs, which tf-keras cannot read, so the check is on weights, as
tools/check_dtype_files_in_keras.py does): tf-keras loads its own `.h5`, its weights are zeroed,
it loads the weights modelio writes in tf-keras's `.h5` weights layout
(`save_h5_weights(dialect="keras2")`) and predicts. The tables go to
fixtures/evidence/keras3_loads_modelio_keras2_preprocessing.txt and
fixtures/evidence/tf_keras_loads_modelio_keras2_preprocessing.txt.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
TF_KERAS = "--tf-keras" in sys.argv
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if TF_KERAS:
    import tf_keras as keras  # noqa: E402
else:
    import keras  # noqa: E402

import modelio  # noqa: E402

FILES = REPO_ROOT / "fixtures" / "keras2_files" / "preprocessing"
MODELS = ("plain_names", "experimental_names", "uint8_crop", "fourier_gaussian",
          "fourier_laplacian")
EVIDENCE = REPO_ROOT / "fixtures" / "evidence"
OUT = EVIDENCE / ("tf_keras_loads_modelio_keras2_preprocessing.txt" if TF_KERAS else
                  "keras3_loads_modelio_keras2_preprocessing.txt")


def worst(got, expected) -> str:
    got = np.asarray(got)
    note = "" if got.dtype == expected.dtype else f" (dtype {got.dtype}, tf-keras {expected.dtype})"
    return f"{np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))):.2e}{note}"


def tf_keras_column(model, x, expected, folder: Path, name: str, original: Path) -> str:
    """tf-keras's own model (loaded from the file it wrote), weights zeroed, then loading the
    weights modelio writes as tf-keras's `save_weights("x.h5")` would."""
    from modelio.formats.legacy_h5 import save_h5_weights

    # tf-keras does not find its own experimental.RandomFourierFeatures by name when loading
    target = keras.models.load_model(original, compile=False, custom_objects={
        "RandomFourierFeatures": keras.layers.experimental.RandomFourierFeatures})
    for variable in target.weights:
        variable.assign(np.zeros(variable.shape, variable.dtype.as_numpy_dtype))
    path = folder / f"{name}-weights.h5"  # not `.weights.h5`: tf-keras reads that as Keras 3's
    save_h5_weights(model, path, dialect="keras2")
    target.load_weights(path)
    return worst(target.predict(x, verbose=0), expected)


def keras_column(model, x, expected, folder: Path, name: str) -> str:
    path = folder / f"{name}.keras"
    try:
        modelio.save_model(model, path)
    except modelio.errors.ModelioError as exc:
        return f"modelio refuses to write it: {str(exc)[:120]}"
    try:
        loaded = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - the refusal is the evidence
        return f"refused: {type(exc).__name__}: {str(exc).splitlines()[0][:110]}"
    return worst(keras.ops.convert_to_numpy(loaded(x, training=False)), expected)


def main() -> None:
    who = f"tf-keras {keras.__version__}" if TF_KERAS else (
        f"Keras {keras.__version__} ({keras.backend.backend()} backend)")
    lines = [f"# {who} on the files modelio writes from tf-keras 2.21's preprocessing models",
             f"# (tools/check_keras2_preprocessing_files_in_keras.py{' --tf-keras' if TF_KERAS else ''}); "
             "max |difference| to tf-keras's recorded predict", ""]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in MODELS:
            with np.load(FILES / f"{name}.npz") as handle:
                x, expected = handle["input:x"], handle["output:0"]
            for suffix in (".h5", ".keras", ".json"):
                model = modelio.load_model(FILES / f"{name}{suffix}")
                stem = name + suffix[1:]
                column = (f"tf-keras's model + modelio's weights .h5: "
                          f"{tf_keras_column(model, x, expected, folder, stem, FILES / f'{name}.h5')}"
                          if TF_KERAS else
                          f"Keras 3 on modelio's .keras: "
                          f"{keras_column(model, x, expected, folder, stem)}")
                line = f"{name}{suffix:7s} modelio: {worst(model.predict(x), expected)}   {column}"
                print(line)
                lines.append(line)
    OUT.write_text("\n".join(lines) + "\n")
    print("wrote", OUT.relative_to(REPO_ROOT))


if __name__ == "__main__":
    main()
