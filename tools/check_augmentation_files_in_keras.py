"""Evidence that the augmentation models modelio writes back load in real Keras 3 and compute
what Keras computed. Runs in the Keras 3 environment:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_augmentation_files_in_keras.py

For each augmentation_* model in fixtures/keras3_files/ (tools/augmentation_case_fixtures.py) it
runs tools/check_keras3_files_in_keras.py's `check` (modelio loads and predicts; modelio writes
`.keras` and `.weights.h5`; Keras loads both and predicts; HDF5 layouts compared), plus, for the
`.h5` files Keras wrote, modelio's load of the legacy file. It also records the output shapes each
reloaded Keras model declares. The table goes to
fixtures/evidence/keras3_loads_modelio_augmentation.txt.

augmentation_contrast holds CLAHE, on which Keras's backends disagree: its recorded outputs are
the TensorFlow backend's, which modelio follows; this script runs Keras with the PyTorch backend,
so one more column compares that with Keras's own PyTorch-backend outputs (`torch_output:<i>`).
The crop model lives in keras3_files/onnx_refused/ (modelio refuses its ONNX export).
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_keras3_files_in_keras as base  # noqa: E402  (sets up keras and modelio)

keras, modelio = base.keras, base.modelio
OUT = base.REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_augmentation.txt"


def recorded(archive: Path) -> dict:
    with np.load(archive.with_suffix(".npz")) as handle:
        return dict(handle)


def torch_column(archive: Path, folder: Path) -> str:
    """For the CLAHE model: Keras (PyTorch backend) on modelio's file vs its own outputs."""
    arrays = recorded(archive)
    if "torch_output:0" not in arrays:
        return ""
    written = folder / f"{archive.stem}-torch.keras"
    modelio.save_model(modelio.load_model(archive), written)
    expected = [arrays[f"torch_output:{i}"] for i in range(len(base.recorded_outputs(arrays)))]
    got = base.keras_predict(keras.saving.load_model(written), base.recorded_inputs(arrays))
    return f"   keras(torch) on modelio's .keras vs Keras's torch outputs: {base.worst(got, expected):.2e}"


def h5_column(archive: Path) -> str:
    path = archive.with_suffix(".h5")
    if not path.exists():
        return "   (Keras 3 could not write .h5)"
    arrays = recorded(archive)
    expected = base.recorded_outputs(arrays)
    model = modelio.load_model(path)
    return f"   modelio loads Keras's .h5: {base.worst(model.predict(base.recorded_inputs(arrays)), expected):.2e}"


def declared_column(archive: Path, folder: Path) -> str:
    stem = archive.stem
    model = modelio.load_model(archive)
    written = folder / f"{stem}-declared.keras"
    modelio.save_model(model, written)
    reloaded = keras.saving.load_model(written)
    shapes = reloaded.output_shape if isinstance(reloaded.output_shape, list) else [reloaded.output_shape]
    arrays = recorded(archive)
    same = all(list(shape) == [None if d < 0 else int(d) for d in arrays[f"declared:{i}"]]
               for i, shape in enumerate(shapes))
    return f"   declared shapes as Keras's: {'yes' if same else 'NO'}"


def check(archive: Path, folder: Path) -> str:
    """`base.check` on an archive that may sit in a subfolder (its recordings beside it)."""
    if archive.parent == base.FILES:
        return base.check(archive, folder)
    original = base.FILES
    base.FILES = archive.parent
    try:
        return base.check(archive, folder)
    finally:
        base.FILES = original


def main() -> None:
    header = (f"{'fixture':<28} {'modelio':>10} {'keras .keras':>14} {'keras weights':>14}   "
              f"weights.h5 layout vs Keras's own")
    lines = [
        f"modelio-written augmentation models loaded by keras {keras.__version__} (backend "
        f"{keras.backend.backend()}); made by tools/check_augmentation_files_in_keras.py",
        "",
        "Each number is max |prediction - output recorded by Keras|:",
        "  modelio        modelio loads the fixture archive Keras wrote",
        "  keras .keras   keras.saving.load_model(<archive modelio wrote>)",
        "  keras weights  a Keras-built model, weights zeroed, then load_weights(<.weights.h5 modelio wrote>)",
        "augmentation_contrast holds CLAHE, on which Keras's backends disagree: its recorded outputs",
        "are the TensorFlow backend's (which modelio follows), so the Keras (PyTorch backend) columns",
        "differ by that disagreement; the last column compares Keras-on-modelio's-file with Keras's",
        "own PyTorch-backend outputs.",
        "",
        header,
        "-" * len(header),
    ]
    with tempfile.TemporaryDirectory() as folder:
        archives = [*base.FILES.glob("augmentation_*.keras"),
                    *base.FILES.glob("onnx_refused/augmentation_*.keras")]
        for archive in sorted(archives, key=lambda path: path.stem):
            stem = archive.stem
            try:
                line = check(archive, Path(folder))
                line += (h5_column(archive) + declared_column(archive, Path(folder))
                         + torch_column(archive, Path(folder)))
            except Exception as exc:  # the evidence records any failure verbatim
                line = f"{stem:<28} FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            print(line, flush=True)
            lines.append(line)
    OUT.write_text("\n".join(lines) + "\n")
    np.set_printoptions()


if __name__ == "__main__":
    main()
