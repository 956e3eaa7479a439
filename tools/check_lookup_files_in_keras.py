"""Evidence that `.keras` archives modelio writes for models with lookup layers (vocabularies in
`assets/`, tf_idf weights) load in real Keras 3 with the same outputs.

TextVectorization and the string lookups need TensorFlow in Keras 3, so this runs on the
TensorFlow backend, with modelio importable from this checkout:

    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python \\
        tools/check_lookup_files_in_keras.py

For every archive in fixtures/keras3_lookup_files/ (tools/lookup_file_fixtures.py): modelio
loads it and predicts on the recorded inputs; modelio writes it back as `.keras`; real Keras
loads modelio's archive (`keras.saving.load_model`, safe mode) and predicts; the member lists of
the two archives are compared (modelio writes the same assets paths as Keras). The table goes to
fixtures/evidence/keras3_loads_modelio_lookup_files.txt.
"""

import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import modelio  # noqa: E402

FILES = REPO_ROOT / "fixtures" / "keras3_lookup_files"
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_lookup_files.txt"


def recorded(stem: str) -> tuple[dict, list]:
    with np.load(FILES / f"{stem}.npz") as archive:
        inputs = {key[len("input:"):]: archive[key] for key in archive.files
                  if key.startswith("input:")}
        outputs = [archive[f"output:{i}"] for i in range(sum(
            key.startswith("output:") for key in archive.files))]
    return inputs, outputs


def worst(outputs, expected) -> float:
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return max(float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
               for got, want in zip(outputs, expected))


def members(path: Path) -> list:
    with zipfile.ZipFile(path) as archive:
        return sorted(name for name in archive.namelist() if name != "metadata.json")


def check(archive: Path, folder: Path) -> str:
    stem = archive.stem
    inputs, expected = recorded(stem)
    modelio.clear_session()
    model = modelio.load_model(archive)
    own = worst(model.predict(inputs if len(inputs) > 1 else next(iter(inputs.values()))),
                expected)
    written = folder / f"{stem}.keras"
    modelio.save_model(model, written)
    keras_model = keras.saving.load_model(written)
    feed = {name: tf.constant(value) if value.dtype.kind == "U" else value
            for name, value in inputs.items()}
    from_archive = worst(keras_model.predict(feed if len(feed) > 1 else next(iter(feed.values())),
                                             verbose=0), expected)
    same = "identical" if members(written) == members(archive) else \
        f"DIFFERS {sorted(set(members(written)) ^ set(members(archive)))}"
    return f"{stem:<22} {own:10.2e} {from_archive:14.2e}   {same} ({len(members(archive))} members)"


def main() -> None:
    header = f"{'fixture':<22} {'modelio':>10} {'keras .keras':>14}   archive members vs Keras's own"
    lines = [
        f"modelio-written .keras archives with lookup layers loaded by keras {keras.__version__} "
        f"(backend {keras.backend.backend()}); made by tools/check_lookup_files_in_keras.py",
        "",
        "Each number is max |prediction - output recorded by Keras| on the recorded inputs:",
        "  modelio        modelio loads the archive Keras wrote",
        "  keras .keras   keras.saving.load_model(<archive modelio wrote>)",
        "",
        header,
        "-" * len(header),
    ]
    with tempfile.TemporaryDirectory() as folder:
        for archive in sorted(FILES.glob("*.keras")):
            try:
                line = check(archive, Path(folder))
            except Exception as exc:  # the evidence records any failure verbatim
                line = f"{archive.stem:<22} FAILED: {type(exc).__name__}: " \
                       f"{str(exc).splitlines()[0][:150]}"
            print(line, flush=True)
            lines.append(line)
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
