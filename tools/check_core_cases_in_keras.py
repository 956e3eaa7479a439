"""Evidence that the files modelio writes for the models of fixtures/{keras3,keras2}/core_cases.npz
(EinsumDense, ReversibleEmbedding, GroupQueryAttention, SpectralNormalization, adaptive pooling,
the keras.applications classes; tf-keras's LocallyConnected1D/2D, ThresholdedReLU,
SyncBatchNormalization, experimental.EinsumDense) load in real Keras and compute what Keras
computed when the fixtures were recorded.

Run from the repository root in the Keras 3 environment; it runs itself again under tf-keras 2.21
for the `.h5` column of the Keras 2 cases:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_core_cases_in_keras.py

For every case modelio rebuilds the model from the JSON Keras wrote plus Keras's weights, then
writes it as `.keras` and as a legacy full-model `.h5`:

* `keras3 .keras`  keras.saving.load_model(<modelio's .keras>) in Keras 3.15.1 (torch);
* `keras3 .h5`     keras.saving.load_model(<modelio's .h5>) in Keras 3.15.1, told about the
                   keras.applications classes (Keras 3 reads none of them from a legacy .h5 by
                   itself);
* `tf-keras wts`   tf-keras 2.21 builds the model from the JSON it wrote and load_weights(<the
                   weights-only .h5 modelio writes in tf-keras's layout>) (Keras 2 cases; modelio's
                   full-model .h5 holds a Keras 3 config, which tf-keras cannot read).

Each number is max |Keras's prediction - the output Keras recorded|; a refusal is recorded
verbatim. The table goes to fixtures/evidence/keras_loads_modelio_core_cases.txt.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "fixtures" / "evidence" / "keras_loads_modelio_core_cases.txt"
KERAS2_PYTHON = os.environ.get("KERAS2_PYTHON", "/work/k2env/bin/python")


def load_cases(dialect: str):
    with np.load(REPO_ROOT / "fixtures" / dialect / "core_cases.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    document = json.loads(arrays.pop("cases_json").tobytes().decode("utf-8"))
    for case in document["cases"]:
        prefix = f"{case['id']}/"
        case["arrays"] = {key[len(prefix):]: value for key, value in arrays.items()
                          if key.startswith(prefix)}
    return document["cases"]


def inputs_of(case) -> list:
    return [case["arrays"][f"input:{name}"] for name in case["inputs"]]


def outputs_of(case) -> list:
    return [case["arrays"][f"output:{index}"] for index in range(case["outputs"])]


def worst(got, expected) -> float:
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    return max(float(np.max(np.abs(np.asarray(g, np.float64) - np.asarray(e, np.float64))))
               for g, e in zip(got, expected))


def failure(exc) -> str:
    text = str(exc).strip().splitlines()
    return f"REFUSED {type(exc).__name__}: {(text[0] if text else '')[:110]}"


def write_files(folder: Path) -> None:
    """modelio's .keras and .h5 of every case (run with modelio importable)."""
    sys.path.insert(0, str(REPO_ROOT))
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from fixture_models import set_recorded_weights

    import modelio
    from modelio.formats.legacy_h5 import save_h5_weights

    for dialect in ("keras3", "keras2"):
        for case in load_cases(dialect):
            modelio.clear_session()
            model = modelio.model_from_json(json.dumps(case["model_json"]))
            set_recorded_weights(model, case["arrays"])
            for suffix in ("keras", "h5"):
                modelio.save_model(model, folder / f"{dialect}-{case['id']}.{suffix}")
            save_h5_weights(model, folder / f"{dialect}-{case['id']}.weights-k2.h5")


def keras3_column(folder: Path, dialect: str, case, suffix: str) -> str:
    import keras
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    custom = {"LayerScale": LayerScale, "StochasticDepth": StochasticDepth,
              "CustomScaleLayer": CustomScaleLayer} if suffix == "h5" else None
    try:
        model = keras.saving.load_model(folder / f"{dialect}-{case['id']}.{suffix}",
                                        custom_objects=custom)
        inputs = inputs_of(case)
        return f"{worst(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0), outputs_of(case)):.2e}"
    except Exception as exc:  # the evidence records any refusal verbatim
        return failure(exc)


def tf_keras_column(folder: str) -> None:
    """Run under tf-keras: print one JSON line {case id: result} for the Keras 2 cases."""
    import tf_keras

    results = {}
    for case in load_cases("keras2"):
        try:
            model = tf_keras.models.model_from_json(json.dumps(case["model_json"]))
            model.load_weights(os.path.join(folder, f"keras2-{case['id']}.weights-k2.h5"))
            inputs = inputs_of(case)
            results[case["id"]] = f"{worst(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0), outputs_of(case)):.2e}"
        except Exception as exc:  # the evidence records any refusal verbatim
            results[case["id"]] = failure(exc)
    print("RESULTS " + json.dumps(results))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--tf-keras":
        tf_keras_column(sys.argv[2])
        return
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_files(folder)
        run = subprocess.run([KERAS2_PYTHON, __file__, "--tf-keras", name], capture_output=True,
                             text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        line = [row for row in run.stdout.splitlines() if row.startswith("RESULTS ")]
        tf_results = json.loads(line[0][len("RESULTS "):]) if line else {}
        header = f"{'case':<40} {'keras3 .keras':>14} {'keras3 .h5':>14} {'tf-keras wts':>14}"
        lines = [
            f"modelio-written files of the core cases loaded by keras {keras.__version__} "
            f"(backend {keras.backend.backend()}) and tf-keras 2.21; made by "
            f"tools/check_core_cases_in_keras.py",
            "",
            "Each number is max |Keras's prediction on modelio's file - the output Keras recorded|.",
            "keras3 .keras / .h5: keras.saving.load_model of modelio's .keras / full-model .h5;",
            "tf-keras wts: tf-keras's own model from its JSON, load_weights(modelio's weights .h5).",
            "Keras 3 has no LocallyConnected1D/2D: modelio writes them under their tf-keras name",
            "and config, which tf-keras loads and Keras 3 refuses. ThresholdedReLU is written as",
            "ReLU(threshold=theta) and SyncBatchNormalization as BatchNormalization.",
            "",
            header,
            "-" * len(header),
        ]
        for dialect in ("keras3", "keras2"):
            for case in load_cases(dialect):
                columns = [keras3_column(folder, dialect, case, suffix) for suffix in ("keras", "h5")]
                columns.append(tf_results.get(case["id"], "n/a") if dialect == "keras2" else "n/a")
                row = f"{dialect + ':' + case['id']:<40} " + " ".join(
                    f"{column:>14}" for column in columns)
                print(row, flush=True)
                lines.append(row)
        if not line:
            lines.append(f"tf-keras run failed: {run.stderr.strip().splitlines()[-1:]}")
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
