"""PyTorch models exported to ONNX (fixtures/torch_onnx/, made by tools/torch_onnx_fixtures.py
with torch 2.13): they import (the MLP and the CNN into Keras layers only), predict what torch
computed, and keep their predictions when saved as .keras / .yaml / .h5, reloaded, and exported
back to ONNX."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

import modelio

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "torch_onnx"
MODELS = {
    "mlp": ["Dense", "Activation", "Dense"],
    "small_cnn": ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D", "Conv2D",
                  "Activation", "GlobalAveragePooling2D", "Flatten", "Dense"],
    # PyTorch's time-major LSTM/GRU graph: shape arithmetic and transposes around two
    # OnnxRecurrent layers (checked below by class count, the rest is the core importer's).
    "small_rnn": None,
}
KERAS_ONLY = sorted(name for name, layers in MODELS.items() if layers is not None)


def recorded(name: str):
    arrays = np.load(FIXTURES / f"{name}.npz")
    inputs = {key.split(":", 1)[1]: arrays[key] for key in arrays.files if key.startswith("input:")}
    return inputs, arrays["output:0"]


def only_output(outputs) -> np.ndarray:
    if isinstance(outputs, (list, tuple)):
        assert len(outputs) == 1
        return np.asarray(outputs[0])
    return np.asarray(outputs)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_model_imports_into_keras_layers_and_matches_torch(name):
    model = modelio.load_model(FIXTURES / f"{name}.onnx")
    inputs, expected = recorded(name)
    classes = [type(layer).__name__ for layer in model.layers[1:]]
    if MODELS[name] is not None:
        assert classes == MODELS[name]
    else:
        assert classes.count("OnnxRecurrent") == 2 and classes[-1] == "Dense"
    assert model.inputs[0].shape[0] is None  # the exported dynamic batch stays free
    np.testing.assert_allclose(only_output(model.predict(inputs["input"])), expected,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".yaml", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_imported_torch_model_saves_and_reloads_unchanged(name, suffix, tmp_path):
    model = modelio.load_model(FIXTURES / f"{name}.onnx")
    inputs, expected = recorded(name)
    before = only_output(model.predict(inputs["input"]))
    path = tmp_path / f"{name}{suffix}"
    modelio.save_model(model, path)
    reloaded = modelio.load_model(path)
    after = only_output(reloaded.predict(inputs["input"]))
    np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-5)


EXPORTABLE = [*KERAS_ONLY, "small_rnn"]


@pytest.mark.parametrize("name", EXPORTABLE)
def test_imported_torch_model_exports_back_to_onnx_unchanged(name, tmp_path):
    model = modelio.load_model(FIXTURES / f"{name}.onnx")
    inputs, expected = recorded(name)
    before = only_output(model.predict(inputs["input"]))
    path = tmp_path / f"{name}.onnx"
    modelio.export_onnx(model, path)
    onnx.checker.check_model(str(path), full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: inputs["input"]})
    np.testing.assert_allclose(output, before, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)
    # the in-memory export (every initializer built at once) is the same graph
    in_memory = modelio.export_onnx(model)
    assert in_memory.graph.node == onnx.load(str(path)).graph.node
    session = onnxruntime.InferenceSession(in_memory.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: inputs["input"]})
    np.testing.assert_allclose(output, before, rtol=1e-5, atol=1e-6)
    # and the exported file imports again, to the same numbers
    again = modelio.load_model(path)
    np.testing.assert_allclose(only_output(again.predict(inputs["input"])), before,
                               rtol=1e-6, atol=1e-6)


def test_keras3_evidence_records_the_keras_only_torch_models_loading():
    """tools/check_imported_onnx_in_keras.py (run in the Keras 3 environment) recorded that real
    Keras loads modelio's .keras files of these models and predicts torch's outputs."""
    evidence = (FIXTURES.parent / "evidence" / "keras3_loads_imported_onnx.txt").read_text()
    for name in KERAS_ONLY:
        (line,) = [line for line in evidence.splitlines()
                   if line.startswith(f"torch_onnx/{name}.onnx ")]
        assert line.split()[1] == "ok"
    assert evidence.rstrip().endswith(", 0 mismatched")
