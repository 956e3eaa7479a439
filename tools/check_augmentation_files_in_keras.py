"""Evidence that the augmentation models modelio writes back load in real Keras 3 and compute
what Keras computed. Runs in the Keras 3 environment:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_augmentation_files_in_keras.py

For each augmentation_* model in fixtures/keras3_files/ (tools/augmentation_case_fixtures.py) it
runs tools/check_keras3_files_in_keras.py's `check` (modelio loads and predicts; modelio writes
`.keras` and `.weights.h5`; Keras loads both and predicts; HDF5 layouts compared), plus, for the
`.h5` files Keras wrote, modelio's load of the legacy file. It also records the output shapes each
reloaded Keras model declares. The table goes to
fixtures/evidence/keras3_loads_modelio_augmentation.txt.

augmentation_contrast holds CLAHE, on which Keras's backends disagree: its numbers are against the
PyTorch backend's outputs (this script runs Keras with the PyTorch backend), while modelio follows
the TensorFlow backend (its own column is measured against `tf_output:<i>` here).
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_keras3_files_in_keras as base  # noqa: E402  (sets up keras and modelio)

keras, modelio = base.keras, base.modelio
OUT = base.REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_augmentation.txt"


def tf_column(stem: str) -> str:
    arrays = base.recorded_arrays(stem)
    if "tf_output:0" not in arrays:
        return ""
    model = modelio.load_model(base.FILES / f"{stem}.keras")
    expected = [arrays[f"tf_output:{i}"] for i in range(len(base.recorded_outputs(arrays)))]
    return f"   modelio vs TensorFlow backend: {base.worst(model.predict(base.recorded_inputs(arrays)), expected):.2e}"


def h5_column(stem: str) -> str:
    path = base.FILES / f"{stem}.h5"
    if not path.exists():
        return "   (Keras 3 could not write .h5)"
    arrays = base.recorded_arrays(stem)
    expected = [arrays.get(f"tf_output:{i}", arrays[f"output:{i}"])
                for i in range(len(base.recorded_outputs(arrays)))]
    model = modelio.load_model(path)
    return f"   modelio loads Keras's .h5: {base.worst(model.predict(base.recorded_inputs(arrays)), expected):.2e}"


def declared_column(stem: str, folder: Path) -> str:
    model = modelio.load_model(base.FILES / f"{stem}.keras")
    written = folder / f"{stem}-declared.keras"
    modelio.save_model(model, written)
    reloaded = keras.saving.load_model(written)
    shapes = reloaded.output_shape if isinstance(reloaded.output_shape, list) else [reloaded.output_shape]
    arrays = base.recorded_arrays(stem)
    same = all(list(shape) == [None if d < 0 else int(d) for d in arrays[f"declared:{i}"]]
               for i, shape in enumerate(shapes))
    return f"   declared shapes as Keras's: {'yes' if same else 'NO'}"


def main() -> None:
    header = (f"{'fixture':<28} {'modelio':>10} {'keras .keras':>14} {'keras weights':>14}   "
              f"weights.h5 layout vs Keras's own")
    lines = [
        f"modelio-written augmentation models loaded by keras {keras.__version__} (backend "
        f"{keras.backend.backend()}); made by tools/check_augmentation_files_in_keras.py",
        "",
        "Each number is max |prediction - output recorded by Keras (PyTorch backend)|:",
        "  modelio        modelio loads the fixture archive Keras wrote",
        "  keras .keras   keras.saving.load_model(<archive modelio wrote>)",
        "  keras weights  a Keras-built model, weights zeroed, then load_weights(<.weights.h5 modelio wrote>)",
        "augmentation_contrast: Keras's backends disagree on CLAHE; modelio follows TensorFlow's.",
        "",
        header,
        "-" * len(header),
    ]
    with tempfile.TemporaryDirectory() as folder:
        for archive in sorted(base.FILES.glob("augmentation_*.keras")):
            stem = archive.stem
            try:
                line = base.check(archive, Path(folder))
                line += h5_column(stem) + declared_column(stem, Path(folder)) + tf_column(stem)
            except Exception as exc:  # the evidence records any failure verbatim
                line = f"{stem:<28} FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            print(line, flush=True)
            lines.append(line)
    OUT.write_text("\n".join(lines) + "\n")
    np.set_printoptions()


if __name__ == "__main__":
    main()
