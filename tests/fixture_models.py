"""Load the model fixtures that tools/make_fixtures.py recorded with real Keras."""

import json
from pathlib import Path

import numpy as np

import modelio

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODEL_NAMES = ["mlp", "two_inputs_two_outputs", "shared_layers", "nested_sequential",
               "nested_functional", "core_layers", "activations_in_dense", "sequential_mlp",
               "layer_called_outside", "tensor_in_call_kwargs", "nested_model_as_output",
               "mask_propagation"]
DIALECTS = ["keras3", "keras2"]
CASES = [(dialect, name) for dialect in DIALECTS for name in MODEL_NAMES]


def fixture_document(dialect: str, name: str) -> dict:
    return json.loads((FIXTURES / dialect / f"{name}.json").read_text())


def fixture_arrays(dialect: str, name: str) -> dict:
    with np.load(FIXTURES / dialect / f"{name}.npz") as archive:
        return dict(archive)


def set_recorded_weights(model, arrays: dict) -> None:
    """Assign `weight:<layer path>:<i>` arrays to the leaf layers they name."""
    by_layer: dict[str, dict[int, np.ndarray]] = {}
    for key, value in arrays.items():
        if key.startswith("weight:"):
            path, index = key[len("weight:"):].rsplit(":", 1)
            by_layer.setdefault(path, {})[int(index)] = value
    for path, weights in by_layer.items():
        layer = model
        for part in path.split("/"):
            layer = layer.get_layer(part)
        layer.set_weights([weights[i] for i in range(len(weights))])


def recorded_inputs(arrays: dict) -> dict:
    return {key[len("input:"):]: value for key, value in arrays.items() if key.startswith("input:")}


def recorded_outputs(arrays: dict) -> list:
    count = sum(key.startswith("output:") for key in arrays)
    return [arrays[f"output:{i}"] for i in range(count)]


def predict_as_list(model, inputs: dict) -> list:
    outputs = model.predict(inputs)
    if isinstance(outputs, dict):
        return list(outputs.values())
    return outputs if isinstance(outputs, list) else [outputs]


def load_fixture_model(dialect: str, name: str):
    """The fixture model rebuilt by modelio from Keras's JSON, with Keras's weights set."""
    model = modelio.model_from_json((FIXTURES / dialect / f"{name}.json").read_text())
    set_recorded_weights(model, fixture_arrays(dialect, name))
    return model
