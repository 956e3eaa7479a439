"""Evidence that files modelio writes for RNN with cells, StackedRNNCells, ConvLSTM and the
CuDNN layers (as LSTM/GRU) load in real Keras with the outputs Keras recorded.

Run from the repository root, with modelio importable from this checkout:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/check_rnn_cell_files_in_keras.py
    TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python tools/check_rnn_cell_files_in_keras.py --tf-keras

Sources: every model file in fixtures/rnn_cell_files/ (written by Keras 3.15.1 or tf-keras 2.21:
tools/rnn_cell_case_fixtures.py) and every recorded case of fixtures/keras3/rnn_cell_cases.npz.
For each, modelio loads it and predicts (difference to Keras's recorded outputs), then writes it
back; then:

* Keras 3 (default): `keras.saving.load_model` on modelio's `.keras` and on its `.h5`
  (`save_h5_model`, Keras 3's legacy layout), and `keras.models.model_from_json` on modelio's
  JSON + `load_weights` of its `.weights.h5`, each predicting on the recorded inputs;
* tf-keras (`--tf-keras`, tf-keras 2.21 files only): `model.load_weights` of modelio's
  tf-keras-style weights file (`save_h5_weights`) into the model tf-keras builds (for the CuDNN
  file: the LSTM/GRU model with the CuDNN-equivalent settings, since tf-keras cannot run CuDNN
  layers on CPU), predicting on the recorded inputs.

Every number is max |prediction - recorded Keras output|. The tables are written to
fixtures/evidence/keras3_loads_modelio_rnn_cells.txt and tf_keras_loads_modelio_rnn_cells.txt.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tools"))

FILES = REPO_ROOT / "fixtures" / "rnn_cell_files"
EVIDENCE = REPO_ROOT / "fixtures" / "evidence"
SOURCES = [  # (model file, its inputs/outputs archive)
    ("stacked_cells_convlstm.keras", "stacked_cells_convlstm.npz"),
    ("stacked_cells_convlstm.h5", "stacked_cells_convlstm.npz"),
    ("stacked_cells_convlstm.json", "stacked_cells_convlstm.npz"),
    ("tf_keras_cells_convlstm.h5", "tf_keras_cells_convlstm.h5.npz"),
    ("tf_keras_cudnn.h5", "tf_keras_cudnn.h5.npz"),
]


def as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def worst(outputs, expected) -> float:
    outputs = as_list(outputs)
    if len(outputs) != len(expected):
        raise AssertionError(f"{len(outputs)} outputs, {len(expected)} recorded")
    return max(float(np.max(np.abs(np.asarray(o, np.float64) - np.asarray(e, np.float64))))
               for o, e in zip(outputs, expected))


def file_sources() -> list:
    """(label, modelio model, inputs dict, expected outputs)."""
    import modelio

    sources = []
    for name, arrays_name in SOURCES:
        with np.load(FILES / arrays_name) as archive:
            arrays = dict(archive)
        inputs = {key[6:]: value for key, value in arrays.items() if key.startswith("input:")}
        expected = [arrays[f"output:{index}"] for index in range(
            sum(key.startswith("output:") for key in arrays))]
        sources.append((name, modelio.load_model(FILES / name), inputs, expected))
    return sources


def case_sources() -> list:
    import modelio

    with np.load(REPO_ROOT / "fixtures" / "keras3" / "rnn_cell_cases.npz") as archive:
        arrays = dict(archive)
    document = json.loads(arrays.pop("cases_json").tobytes())
    sources = []
    for case in document["cases"]:
        if "masked" in case["id"]:
            continue  # its extra outputs are masks, which a loaded Keras model does not return
        case_id = case["id"]
        model = modelio.model_from_json(json.dumps(case["model"]))
        for layer_name, count in case["weights"].items():
            model.get_layer(layer_name).set_weights(
                [arrays[f"{case_id}/weight:{layer_name}:{index}"] for index in range(count)])
        inputs = {name: arrays[f"{case_id}/input:{name}"] for name in case["inputs"]}
        expected = [arrays[f"{case_id}/output:{index}"] for index in range(case["outputs"])]
        sources.append((f"case {case_id}", model, inputs, expected))
    return sources


def _recurrent_activations(model) -> list:
    cells = [getattr(layer, "cell", None) for layer in model.layers]
    return [getattr(cell, "recurrent_activation_name", None) for cell in cells]


def attempt(lines, label, run, *args):
    """One table row: `run(*args)` gives the max difference, or the refusal is recorded."""
    try:
        lines.append(f"    {label:<40}: loads, max |keras - recorded| = {run(*args):.2e}")
    except Exception as exc:  # noqa: BLE001 - the evidence records any refusal
        lines.append(f"    {label:<40}: refused: {type(exc).__name__}: {str(exc)[:200]}")


def modelio_difference(model, inputs, expected) -> float:
    return worst(model.predict(inputs), expected)


def keras3_file_difference(keras, path, feed, expected) -> float:
    loaded = keras.saving.load_model(path, compile=False)
    return worst(loaded.predict(feed, verbose=0), expected)


def keras3_json_difference(keras, folder, feed, expected) -> float:
    loaded = keras.models.model_from_json((folder / "back.json").read_text())
    loaded.load_weights(folder / "back.weights.h5")
    return worst(loaded.predict(feed, verbose=0), expected)


def keras3_main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    import modelio
    from modelio.formats.legacy_h5 import save_h5_model

    lines = [
        "Files modelio writes for RNN with cells, StackedRNNCells, ConvLSTM1D/2D/3D and",
        "tf-keras's CuDNNLSTM/CuDNNGRU (written as LSTM/GRU), loaded by real Keras 3 and run on",
        "the recorded inputs (tools/check_rnn_cell_files_in_keras.py). Differences are against",
        "the outputs Keras (3.15.1, or tf-keras 2.21 for tf_keras_* files) recorded.",
        f"Keras {keras.__version__}, backend {keras.backend.backend()}",
        "",
    ]
    for label, model, inputs, expected in file_sources() + case_sources():
        lines.append(label)
        attempt(lines, "modelio predicts", modelio_difference, model, inputs, expected)
        ordered = [inputs[tensor.name] for tensor in model.inputs]
        feed = ordered if len(ordered) > 1 else ordered[0]
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            modelio.save_model(model, folder / "back.keras")
            save_h5_model(model, folder / "back.h5")
            (folder / "back.json").write_text(model.to_json())
            model.save_weights(folder / "back.weights.h5")
            for label_text, name in (("Keras 3 load_model(modelio .keras)", "back.keras"),
                                     ("Keras 3 load_model(modelio .h5)", "back.h5")):
                attempt(lines, label_text, keras3_file_difference, keras, folder / name, feed,
                        expected)
            attempt(lines, "Keras 3 json + load_weights(.weights.h5)", keras3_json_difference,
                    keras, folder, feed, expected)
        if any(activation == "modelio>hard_sigmoid_keras2"
               for activation in _recurrent_activations(model)):
            lines.append("        (as intended: the model uses Keras 2's hard_sigmoid, 0.2x+0.5 -- tf-keras's "
                         "ConvLSTM2D default --\n         which Keras 3 has no name for; the "
                         "tf-keras table shows tf-keras loading modelio's weights)")
    out = EVIDENCE / "keras3_loads_modelio_rnn_cells.txt"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def tf_keras_difference(built, path, feed, expected) -> float:
    """`built` (a tf-keras model) with zeroed weights, then modelio's weights file loaded."""
    built.set_weights([np.zeros_like(w) for w in built.get_weights()])
    built.load_weights(path)
    return worst(built.predict(feed, verbose=0), expected)


def tf_keras_main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import rnn_cell_case_fixtures as fixtures
    import tf_keras

    from modelio.formats.legacy_h5 import save_h5_weights

    lines = [
        "tf-keras-style weights files (save_h5_weights) that modelio writes for tf-keras 2.21",
        "models with RNN cells, ConvLSTM2D and CuDNNLSTM/CuDNNGRU (loaded by modelio as LSTM/GRU),",
        "loaded by tf-keras's load_weights into the model tf-keras builds, run on the recorded",
        "inputs (tools/check_rnn_cell_files_in_keras.py --tf-keras). Differences are against the",
        f"outputs tf-keras recorded. tf_keras {tf_keras.__version__}",
        "",
    ]

    def lstm(units, **kwargs):
        return tf_keras.layers.LSTM(units, activation="tanh", recurrent_activation="sigmoid",
                                    **kwargs)

    def gru(units, **kwargs):
        return tf_keras.layers.GRU(units, activation="tanh", recurrent_activation="sigmoid",
                                   reset_after=True, **kwargs)

    for label, model, inputs, expected in file_sources():
        if not label.startswith("tf_keras_"):
            continue
        lines.append(label)
        attempt(lines, "modelio predicts", modelio_difference, model, inputs, expected)
        ordered = [inputs[tensor.name] for tensor in model.inputs]
        feed = ordered if len(ordered) > 1 else ordered[0]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "back_weights.h5"
            save_h5_weights(model, path)
            if "cudnn" in label:
                built = fixtures._cudnn_model(tf_keras, lstm, gru)
            else:
                built = tf_keras.models.load_model(FILES / label, compile=False)
            attempt(lines, "tf-keras load_weights(modelio .h5)", tf_keras_difference, built,
                    path, feed, expected)
    out = EVIDENCE / "tf_keras_loads_modelio_rnn_cells.txt"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    tf_keras_main() if "--tf-keras" in sys.argv else keras3_main()
