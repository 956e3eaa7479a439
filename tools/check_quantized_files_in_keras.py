"""Evidence that the quantized and LoRA models modelio writes back load in real Keras 3.

Runs in the Keras 3 environment, with modelio importable from this checkout:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_quantized_files_in_keras.py

For every model of fixtures/keras3_quantized/ (written by tools/quantized_case_fixtures.py):

1. modelio loads Keras's `.keras` and predicts on the recorded input (max |difference| to what
   Keras computed after loading the same file);
2. modelio writes it as `.keras`, `.weights.h5` and legacy `.h5`; real Keras loads modelio's
   `.keras` and `.h5` and predicts, and loads modelio's `.weights.h5` into the model it rebuilt
   from its own `.keras` (after zeroing that model's weights) and predicts;
3. the HDF5 datasets (paths, shapes, dtypes) of modelio's `.weights.h5` are compared with those
   of the `.weights.h5` Keras wrote.

For the LoRA models a second row sets non-zero LoRA factors in modelio first (so that modelio
writes the kernel with the scaled product added, as Keras does), and compares Keras's outputs
with modelio's own prediction. The table goes to
fixtures/evidence/keras3_loads_modelio_quantized_files.txt.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py  # noqa: E402
import keras  # noqa: E402

import modelio  # noqa: E402
from modelio.formats.keras_zip import save_keras_archive  # noqa: E402
from modelio.formats.weights_h5 import save_weights_h5  # noqa: E402

FILES = REPO_ROOT / "fixtures" / "keras3_quantized"
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_quantized_files.txt"
MODELS = ["mlp_int8", "mlp_int4", "mlp_float8", "einsum_int8_int4", "embedding_int8_lora",
          "dense_lora"]


def datasets(path) -> list:
    found = []
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, obj: found.append((name, obj.shape, str(obj.dtype)))
                          if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)


def set_lora_factors(model) -> bool:
    changed = False
    for layer in model.layers:
        for weight in getattr(layer, "_weights", []):
            if weight.name.startswith("lora_"):
                rng = np.random.default_rng(len(weight.name) + weight.value.size)
                weight.assign((rng.integers(-6, 7, weight.shape) / 16).astype("float32"))
                changed = True
    return changed


def check(stem: str, with_factors: bool, folder: Path) -> str:
    with np.load(FILES / f"{stem}.npz") as archive:
        x, recorded = archive["input"], archive["output"]
    model = modelio.load_model(FILES / f"{stem}.keras")
    loaded_diff = float(np.abs(model.predict(x) - recorded).max())
    if with_factors:
        if not set_lora_factors(model):
            return ""
        # A quantized layer with non-zero factors cannot be written (refused); keep float only.
        recorded = model.predict(x)
    target = folder / f"{stem}_{int(with_factors)}"
    try:
        save_keras_archive(model, f"{target}.keras")
        save_weights_h5(model, f"{target}.weights.h5")
    except modelio.ModelioError as exc:
        return f"{stem:24s} {'factors' if with_factors else 'file':8s} refused: {exc}"[:160]
    keras_model = keras.saving.load_model(f"{target}.keras")
    keras_diff = float(np.abs(keras.ops.convert_to_numpy(keras_model(x)) - recorded).max())
    rebuilt = keras.saving.load_model(FILES / f"{stem}.keras")
    for weight in rebuilt.weights:
        weight.assign(np.zeros(weight.shape, weight.dtype))
    rebuilt.load_weights(f"{target}.weights.h5")
    weights_diff = float(np.abs(keras.ops.convert_to_numpy(rebuilt(x)) - recorded).max())
    same_layout = datasets(f"{target}.weights.h5") == datasets(FILES / f"{stem}.weights.h5")
    modelio.save_model(model, f"{target}.h5")
    legacy = keras.saving.load_model(f"{target}.h5")
    legacy_diff = float(np.abs(keras.ops.convert_to_numpy(legacy(x)) - recorded).max())
    return (f"{stem:24s} {'factors' if with_factors else 'file':8s} {loaded_diff:12.3g} "
            f"{keras_diff:14.3g} {weights_diff:16.3g} {legacy_diff:12.3g} "
            f"{str(same_layout):>10s}")


def main():
    rows = [f"Keras {keras.__version__} ({keras.backend.backend()} backend) loading what modelio "
            f"wrote; max |difference| to the reference output",
            f"{'model':24s} {'lora':8s} {'modelio load':>12s} {'Keras .keras':>14s} "
            f"{'Keras .weights.h5':>16s} {'Keras .h5':>12s} {'h5 layout':>10s}"]
    with tempfile.TemporaryDirectory() as folder:
        for stem in MODELS:
            for with_factors in (False, True):
                row = check(stem, with_factors, Path(folder))
                if row:
                    rows.append(row)
    OUT.write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
