"""`custom_objects`: files naming the user's own activations and layers (written by Keras 3.15.1
and tf-keras 2.21, see tools/save_variant_fixtures.py) load with the user's modelio definitions
(tests/custom_fixture_objects.py), match Keras, export to ONNX, and are refused by name without
them. No code from a file ever runs."""

import numpy as np
import pytest
from custom_fixture_objects import CUSTOM_OBJECTS, MyScale, scaled_swish
from fixture_models import FIXTURES
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import ConfigError, UnsafeContentError, UnsupportedError

VARIANTS = FIXTURES / "save_variants"
FILES = ["custom_objects.keras", "tf_keras_custom.h5"]


def recorded(name: str):
    with np.load(VARIANTS / f"{name.rsplit('.', 1)[0]}.npz") as arrays:
        return arrays["input:x"], arrays["output:0"]


@pytest.mark.parametrize("name", FILES)
def test_custom_objects_load_and_match_keras(name):
    model = modelio.load_model(VARIANTS / name, custom_objects=CUSTOM_OBJECTS)
    x, expected = recorded(name)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name,error,match", [
    ("custom_objects.keras", UnsupportedError,
     "custom activation function 'modelio_fixtures>scaled_swish' is not supported"),
    ("tf_keras_custom.h5", UnsafeContentError, "the activation is a Python lambda"),
])
def test_without_custom_objects_the_names_stay_refused(name, error, match):
    with pytest.raises(error, match=match):
        modelio.load_model(VARIANTS / name)


def test_a_custom_layer_class_alone_is_refused_by_name():
    objects = {key: value for key, value in CUSTOM_OBJECTS.items() if key != "MyScale"}
    with pytest.raises(UnsupportedError, match="'modelio_fixtures>MyScale'"):
        modelio.load_model(VARIANTS / "tf_keras_custom.h5", custom_objects=objects)


@pytest.mark.parametrize("name", FILES)
def test_custom_objects_export_to_onnx_and_match_onnxruntime(name):
    model = modelio.load_model(VARIANTS / name, custom_objects=CUSTOM_OBJECTS)
    x, expected = recorded(name)
    outputs = run_onnx(modelio.export_onnx(model), {model.input_names[0]: x})
    np.testing.assert_allclose(outputs[0], model.predict(x), atol=1e-5)
    np.testing.assert_allclose(outputs[0], expected, rtol=1e-4, atol=1e-4)


def test_the_custom_activation_is_exported_as_the_ops_it_was_built_from():
    model = modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=CUSTOM_OBJECTS)
    ops = [node.op_type for node in modelio.export_onnx(model).graph.node]
    assert "Sigmoid" in ops and "LeakyRelu" in ops


def test_a_saved_model_keeps_the_files_custom_names(tmp_path):
    model = modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=CUSTOM_OBJECTS)
    model.save(tmp_path / "back.keras")
    config = modelio.model_to_config(model)
    scale = next(entry for entry in config["config"]["layers"] if entry["class_name"] == "MyScale")
    assert scale["registered_name"] == "modelio_fixtures>MyScale"
    dense = config["config"]["layers"][1]["config"]["activation"]
    assert dense["config"] == "modelio_fixtures>scaled_swish"
    again = modelio.load_model(tmp_path / "back.keras", custom_objects=CUSTOM_OBJECTS)
    x, expected = recorded("custom_objects.keras")
    np.testing.assert_allclose(again.predict(x), expected, rtol=1e-4, atol=1e-4)


def test_a_tf_keras_lambda_is_written_back_as_its_name_never_as_its_code():
    model = modelio.load_model(VARIANTS / "tf_keras_custom.h5", custom_objects=CUSTOM_OBJECTS)
    activation = model.get_layer("lambda_dense").get_config()["activation"]
    assert activation == {"module": "builtins", "class_name": "function", "config": "<lambda>",
                          "registered_name": "function"}
    assert model.get_layer("scale").__class__._registered_name == "modelio_fixtures>MyScale"


@pytest.mark.parametrize("value", ["leaky_relu", ("leaky_relu", {"negative_slope": 0.1}),
                                   ("relu", {"negative_slope": 0.1}),
                                   lambda x: layers.LeakyReLU(negative_slope=0.1)(x)])
def test_an_activation_name_a_spec_or_a_function_mean_the_same(value):
    objects = {**CUSTOM_OBJECTS, "leaky_tenth": value}
    model = modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=objects)
    x, expected = recorded("custom_objects.keras")
    tenth = not (isinstance(value, str))
    assert np.allclose(model.predict(x), expected, atol=1e-4) == tenth


@pytest.mark.parametrize("objects,match", [
    ([("a", 1)], "must be a dict"),
    ({"": MyScale}, "non-empty name"),
    ({"x": int}, "subclass of modelio.Layer"),
    ({"x": 3}, "expected a function"),
])
def test_bad_custom_objects_are_config_errors(objects, match):
    with pytest.raises(ConfigError, match=match):
        modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=objects)


@pytest.mark.parametrize("function,match", [
    (lambda x: 3, "must return the symbolic tensor"),
    (lambda x: x.undefined, "calling it on a symbolic tensor failed"),
    (lambda x: layers.Dense(5)(x), "creates weights"),
    (lambda x: layers.Dense(2, use_bias=False)(x), "creates weights"),
])
def test_a_custom_activation_that_is_not_an_activation_is_refused(function, match):
    objects = {**CUSTOM_OBJECTS, "scaled_swish": function}
    with pytest.raises(ConfigError, match=match):
        modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=objects)


def test_an_unknown_builtin_in_a_spec_is_refused_by_name():
    objects = {**CUSTOM_OBJECTS, "leaky_tenth": ("no_such_activation", {})}
    with pytest.raises(UnsupportedError, match="no_such_activation"):
        modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=objects)


def test_a_custom_layer_without_an_onnx_lowering_is_refused_at_export_by_class():
    class Unlowered(modelio.Layer):  # MyScale's math, without MyScale's lowering
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.scale = self.add_weight("scale", (input_shape[-1],))

        def call(self, inputs):
            return inputs * self.value_of(self.scale) * self.factor

    model = modelio.load_model(VARIANTS / "custom_objects.keras",
                               custom_objects={**CUSTOM_OBJECTS, "MyScale": Unlowered})
    with pytest.raises(UnsupportedError, match=r"no ONNX export yet for Unlowered \(scale\)"):
        modelio.export_onnx(model)


def test_a_scope_maps_names_only_inside_it():
    assert scaled_swish is CUSTOM_OBJECTS["scaled_swish"]
    modelio.load_model(VARIANTS / "custom_objects.keras", custom_objects=CUSTOM_OBJECTS)
    with pytest.raises(UnsupportedError):
        modelio.load_model(VARIANTS / "custom_objects.keras")


def test_model_from_json_takes_custom_objects_and_an_rnn_runs_them():
    x = modelio.Input((5, 3))
    reference = modelio.Model(x, layers.SimpleRNN(4, activation="tanh")(x))
    text = reference.to_json().replace('"activation": "tanh"', '"activation": "my_tanh"')
    model = modelio.model_from_json(text, custom_objects={
        "my_tanh": lambda t: layers.Activation("tanh")(t)})
    model.set_weights(reference.get_weights())
    inputs = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(inputs), reference.predict(inputs), atol=1e-6)
    with pytest.raises(UnsupportedError, match="'my_tanh' inside a recurrent layer"):
        modelio.export_onnx(model)
