"""Evidence that the save variants modelio writes load in real Keras 3 with the same outputs.

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_save_variants_in_keras.py

For the fixtures of tools/save_variant_fixtures.py (written by Keras 3.15.1 / tf-keras 2.21):
modelio loads each (custom objects through tests/custom_fixture_objects.py), writes it back as
an unzipped folder (`zipped=False`), as sharded weights (`max_shard_size`) beside a JSON
architecture, and as a `.keras` archive; real Keras loads each of those (custom objects
registered by tools/save_variant_fixtures.define_custom, `<lambda>` given as custom_objects)
and predicts. Every number is max |prediction - output recorded by Keras|. Written to
fixtures/evidence/keras3_loads_modelio_save_variants.txt.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "tools"))
os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from custom_fixture_objects import CUSTOM_OBJECTS  # noqa: E402
from save_variant_fixtures import define_custom  # noqa: E402

import modelio  # noqa: E402

FILES = REPO_ROOT / "fixtures" / "save_variants"
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras3_loads_modelio_save_variants.txt"
CASES = [("mlp_folder", "mlp"), ("mlp.json", "mlp"), ("custom_objects.keras", "custom_objects"),
         ("tf_keras_custom.h5", "tf_keras_custom")]


def worst(got, want) -> float:
    return float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))


def check(source: str, stem: str, folder: Path, keras_objects: dict) -> str:
    with np.load(FILES / f"{stem}.npz") as recorded:
        x = next(recorded[key] for key in recorded if key.startswith("input:"))
        expected = recorded["output:0"]
    model = modelio.load_model(FILES / source, custom_objects=CUSTOM_OBJECTS)
    own = worst(model.predict(x), expected)
    unzipped, architecture = folder / f"{stem}_unzipped", folder / f"{stem}.json"
    archive, legacy = folder / f"{stem}.keras", folder / f"{stem}.h5"
    modelio.save_model(model, unzipped, zipped=False)
    modelio.save_model(model, archive)
    modelio.save_model(model, legacy)
    architecture.write_text(model.to_json())
    model.save_weights(folder / f"{stem}.weights.json", max_shard_size=1.5e-6)
    shards = len(list(folder.glob(f"{stem}_0*.weights.h5")))
    from_folder = keras.saving.load_model(unzipped, custom_objects=keras_objects)
    from_archive = keras.saving.load_model(archive, custom_objects=keras_objects)
    from_legacy = keras.saving.load_model(legacy, custom_objects=keras_objects, compile=False)
    host = keras.models.model_from_json(architecture.read_text(), custom_objects=keras_objects)
    host.load_weights(folder / f"{stem}.weights.json")
    return (f"{source:<24} {own:10.2e} {worst(from_folder.predict(x, verbose=0), expected):14.2e} "
            f"{worst(host.predict(x, verbose=0), expected):14.2e} ({shards} shards) "
            f"{worst(from_archive.predict(x, verbose=0), expected):12.2e} "
            f"{worst(from_legacy.predict(x, verbose=0), expected):10.2e}")


def main() -> None:
    _, _, my_scale = define_custom(keras, keras.saving.register_keras_serializable)
    keras_objects = {"<lambda>": lambda t: t * 0.5, "modelio_fixtures>MyScale": my_scale,
                     "MyScale": my_scale}
    header = (f"{'fixture':<24} {'modelio':>10} {'keras folder':>14} {'keras sharded':>14} "
              f"{'':12}{'keras .keras':>12} {'keras .h5':>10}")
    lines = [f"modelio-written save variants loaded by keras {keras.__version__} (backend "
             f"{keras.backend.backend()}); made by tools/check_save_variants_in_keras.py", "",
             "Each number is max |prediction - output recorded by Keras| on the recorded inputs:",
             "  modelio        modelio loads the fixture (custom objects: tests/"
             "custom_fixture_objects.py)",
             "  keras folder   keras.saving.load_model(<folder modelio wrote, zipped=False>)",
             "  keras sharded  keras model_from_json(<modelio's JSON>) + load_weights(<modelio's "
             ".weights.json>)",
             "  keras .keras   keras.saving.load_model(<.keras modelio wrote>)",
             "  keras .h5      keras.saving.load_model(<legacy .h5 modelio wrote>)", "",
             header, "-" * len(header)]
    with tempfile.TemporaryDirectory() as folder:
        for source, stem in CASES:
            try:
                line = check(source, stem, Path(folder), keras_objects)
            except Exception as exc:  # the evidence records any failure verbatim
                line = f"{source:<24} FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:150]}"
            print(line, flush=True)
            lines.append(line)
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
