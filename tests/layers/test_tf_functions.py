"""tf-keras's TFOpLambda / SlicingOpLambda nodes (TensorFlow functions called on Keras tensors)
load as Keras 3 operations and compute what tf-keras computed.

Fixtures come from tools/tf_op_lambda_fixtures.py, run with tf-keras 2.21: real
`tf_keras.applications` models (kernels from tests/formula_weights.py, the rest stored) and a
small model calling every allowlisted function.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from formula_weights import set_fixture_weights
from onnx_session import run_onnx

import modelio
from modelio.ops.tf_functions import TF_FUNCTIONS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
APPLICATIONS = FIXTURES / "keras2" / "applications"
APPLICATION_NAMES = ["mobilenet_v3_small", "mobilenet_v3_large", "regnet_x002", "regnet_y002"]


def load_application(name: str):
    model = modelio.load_model(APPLICATIONS / f"{name}.json")
    with np.load(APPLICATIONS / f"{name}.npz") as archive:
        arrays = dict(archive)
    set_fixture_weights(model, arrays)
    return model, arrays


def tf_op_functions(document: dict) -> set:
    return {entry["config"]["function"] for entry in document["config"]["layers"]
            if entry["class_name"] in ("TFOpLambda", "SlicingOpLambda")}


@pytest.mark.parametrize("name", APPLICATION_NAMES)
def test_tf_keras_application_with_tf_op_lambda_nodes_matches_tf_keras(name):
    document = json.loads((APPLICATIONS / f"{name}.json").read_text())
    assert tf_op_functions(document) <= {"__operators__.add", "math.multiply"}
    assert tf_op_functions(document)
    model, arrays = load_application(name)
    expected = arrays["output"]
    assert np.abs(expected[0] - expected[1]).max() > 1e-3  # the output depends on the image
    np.testing.assert_allclose(model.predict(arrays["input"]), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "regnet_y002"])
def test_translated_application_holds_only_keras3_operations_and_round_trips(name):
    model, arrays = load_application(name)
    classes = {type(layer).__name__ for layer in model._operations}
    assert not classes & {"TFOpLambda", "SlicingOpLambda"}
    written = json.loads(model.to_json())
    modules = {entry["module"] for entry in written["config"]["layers"]}
    assert "keras.src.ops.numpy" in modules
    assert not any(module.startswith("tf_keras") for module in modules)
    rebuilt = modelio.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(arrays["input"]), model.predict(arrays["input"]))


def test_translated_mobilenet_v3_exports_to_onnx_matching_tf_keras():
    model, arrays = load_application("mobilenet_v3_small")
    image = arrays["input"]
    (got,) = run_onnx(modelio.export_onnx(model), {model.inputs[0].name: image})
    np.testing.assert_allclose(got, arrays["output"], rtol=1e-4, atol=1e-4)


def test_operation_takes_the_name_tf_keras_gave_the_node():
    model, _ = load_application("regnet_x002")
    names = {layer.name for layer in model._operations if type(layer).__name__ == "Add"}
    assert "tf.__operators__.add" in names or any(name.startswith("tf.__operators__.add")
                                                 for name in names)


def test_every_allowlisted_function_maps_to_parameters_and_a_translation():
    for name, function in TF_FUNCTIONS.items():
        assert function.parameters and callable(function.translate), name
        assert set(function.defaults) <= set(function.parameters), name


@pytest.mark.parametrize("kwargs,message", [
    ({"y": 1.0, "colour": 2}, "unknown argument 'colour'"),
    ({"name": None}, "missing argument"),
])
def test_tf_op_lambda_with_arguments_the_function_does_not_take_is_refused(kwargs, message):
    layer = modelio.ops.TFOpLambda(function="math.add", name="tf.math.add_3")
    tensor = modelio.Input((3,))
    with pytest.raises(modelio.ConfigError, match=message) as caught:
        layer(tensor, **kwargs)
    assert "'tf.math.add_3'" in str(caught.value)


def test_slice_with_a_non_constant_bound_is_refused_naming_the_layer():
    layer = modelio.ops.SlicingOpLambda(function="__operators__.getitem", name="tf.slice_1")
    tensor = modelio.Input((3,))
    spec = [{"start": None, "stop": None, "step": None}, {"start": 0.5, "stop": 2, "step": None}]
    with pytest.raises(modelio.UnsupportedError, match="'tf.slice_1'"):
        layer(tensor, slice_spec=spec)


def test_transpose_with_conjugate_is_refused():
    layer = modelio.ops.TFOpLambda(function="compat.v1.transpose", name="tf.t")
    with pytest.raises(modelio.UnsupportedError, match="conjugate"):
        layer(modelio.Input((3, 2)), perm=[0, 2, 1], conjugate=True)


def test_tf_keras_layer_names_with_slashes_become_names_keras3_accepts():
    # tf-keras's MobileNetV3 names layers "Conv/BatchNorm"; Keras 3 refuses "/" in a name.
    model, _ = load_application("mobilenet_v3_small")
    names = [layer.name for layer in model.layers]
    assert "Conv_BatchNorm" in names and not any("/" in name for name in names)
    assert len(set(names)) == len(names)


def test_renamed_layer_never_takes_a_name_already_in_the_model():
    from modelio.graph.functional_config import keras3_layer_name
    taken = {"a/b", "a_b", "a_b_1"}
    assert keras3_layer_name("a/b", taken) == "a_b_2"
    assert keras3_layer_name("c/d", taken) == "c_d" and "c_d" in taken
