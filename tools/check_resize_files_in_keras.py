"""Evidence that the `.keras` files modelio writes for models with bicubic / lanczos / area
Resizing and UpSampling2D (and uneven "same" AveragePooling2D) load in real Keras 3 and compute
what Keras computed on the original file.

Keras 3's backends disagree on these layers (see tools/resize_case_fixtures.py), so this runs on
each backend and compares with that backend's own recorded numbers:

    TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=tensorflow /work/k2env/bin/python tools/check_resize_files_in_keras.py
    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_resize_files_in_keras.py

For every archive in fixtures/keras3_resize/ (written by Keras 3's TensorFlow backend):

1. modelio loads it and predicts (difference to the TensorFlow backend's recorded outputs);
2. modelio writes it back as `.keras` into a temporary folder;
3. real Keras loads modelio's `.keras` with `keras.saving.load_model` and predicts; the difference
   is to the recorded outputs of the backend it runs on (`output:i` for TensorFlow,
   `torch_output:i` for PyTorch; a backend that refuses the model's interpolations is recorded
   as such).

The table goes to fixtures/evidence/keras3_loads_modelio_resize_files_<backend>.txt.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

import modelio  # noqa: E402

FILES = REPO_ROOT / "fixtures" / "keras3_resize"


def worst(outputs, expected) -> float:
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return max(float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
               for got, want in zip(outputs, expected))


def check(archive: Path, folder: Path, backend: str) -> str:
    with np.load(FILES / f"{archive.stem}.npz") as recorded:
        arrays = dict(recorded)
    x = arrays["input:image"]
    count = sum(key.startswith("output:") for key in arrays)
    tf_outputs = [arrays[f"output:{i}"] for i in range(count)]
    prefix = "output" if backend == "tensorflow" else "torch_output"
    own_outputs = [arrays[f"{prefix}:{i}"] for i in range(count) if f"{prefix}:{i}" in arrays]
    modelio.clear_session()
    model = modelio.load_model(archive)
    own = worst(model.predict(x), tf_outputs)
    written = folder / archive.name
    modelio.save_model(model, written)
    keras_model = keras.saving.load_model(written)
    try:
        predicted = keras_model.predict(x, verbose=0)
    except ValueError as exc:
        reason = next(line for line in str(exc).splitlines() if "interpolation" in line)
        reason = reason.replace("\x1b[1m", "").replace("\x1b[0m", "")
        return (f"{archive.stem:<26} {own:10.2e}   loads; predict refused by this backend: "
                f"{reason.strip()[:60]}...")
    if len(own_outputs) != count:
        return f"{archive.stem:<26} {own:10.2e}   loads and predicts; no recording to compare"
    return f"{archive.stem:<26} {own:10.2e} {worst(predicted, own_outputs):16.2e}"


def main() -> None:
    backend = keras.backend.backend()
    header = f"{'fixture':<26} {'modelio':>10} {'keras (.keras)':>16}"
    lines = [
        f"modelio-written .keras loaded by keras {keras.__version__} (backend {backend}); made by "
        f"tools/check_resize_files_in_keras.py",
        "",
        "modelio         max |modelio prediction - TensorFlow backend's recorded output|",
        f"keras (.keras)  max |keras.saving.load_model(<archive modelio wrote>) prediction - "
        f"the {backend} backend's recorded output|",
        "",
        header,
        "-" * len(header),
    ]
    with tempfile.TemporaryDirectory() as folder:
        for archive in sorted(FILES.glob("*.keras")):
            try:
                line = check(archive, Path(folder), backend)
            except Exception as exc:  # the evidence records any failure verbatim
                line = f"{archive.stem:<26} FAILED: {type(exc).__name__}: " \
                       f"{str(exc).splitlines()[0][:150]}"
            print(line, flush=True)
            lines.append(line)
    out = REPO_ROOT / "fixtures" / "evidence" / f"keras3_loads_modelio_resize_files_{backend}.txt"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
