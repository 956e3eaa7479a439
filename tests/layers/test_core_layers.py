"""Core, activation, merge and reshaping layers against what real Keras 3.15.1 computes and writes.

Reference values come from fixtures/keras3/layer_cases.npz, written by
tools/layer_case_fixtures.py in an environment with Keras; these tests never import Keras.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import assert_matches_keras_output, load_case_archive, read_case_array

import modelio
from modelio import layers

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "layer_cases.npz"
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
MERGE_CLASSES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def _load_fixture():
    buffers, document = load_case_archive(FIXTURE)
    return buffers, document


BUFFERS, DOCUMENT = _load_fixture()
CASES = {case["id"]: case for case in DOCUMENT["cases"]}
CASE_IDS = list(CASES)
SYMBOLIC_CASES = [(case_id, index) for case_id, case in CASES.items()
                  for index in range(len(case["symbolic"]))]
FLOAT32_CASE_IDS = [case_id for case_id, case in CASES.items()
                    if case["dtype"] == case["output_dtype"] == "float32"]
CLASS_NAMES = sorted({case["class_name"] for case in CASES.values()})


def case_array(case: dict, key: str) -> np.ndarray:
    return read_case_array(BUFFERS, case, key)


def case_inputs(case: dict) -> list:
    return [case_array(case, f"input:{index}") for index in range(len(case["inputs"]))]


def case_weights(case: dict) -> list:
    count = sum(key.startswith("weight:") for key in case["arrays"])
    return [case_array(case, f"weight:{index}") for index in range(count)]


def make_layer(case: dict, **overrides):
    return getattr(layers, case["class_name"])(**{**case["kwargs"], **overrides})


def call_input(case: dict, inputs: list):
    return list(inputs) if case["multi"] else inputs[0]


def run_eager(case: dict, layer, inputs: list | None = None):
    """Build `layer` on the case's inputs, give it Keras's weights, and return its eager output."""
    inputs = case_inputs(case) if inputs is None else inputs
    kwargs = {"mask": case_array(case, "mask")} if "mask" in case["arrays"] else {}
    layer(call_input(case, inputs), **kwargs)
    weights = case_weights(case)
    assert len(layer.weights) == len(weights)
    if weights:
        layer.set_weights(weights)
    return layer(call_input(case, inputs), **kwargs)


def as_json(value):
    return json.loads(json.dumps(value))


def test_fixture_was_recorded_with_keras_3_15_1():
    assert DOCUMENT["keras_version"] == "3.15.1"
    assert len(CASES) == len(DOCUMENT["cases"])


# ----- 1. eager values and symbolic shapes match Keras ---------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_eager_output_matches_keras_for_the_same_config_weights_and_input(case_id):
    case = CASES[case_id]
    expected = case_array(case, "output")
    output = run_eager(case, make_layer(case))
    assert_matches_keras_output(output, expected, case, **TOLERANCE)


@pytest.mark.parametrize("case_id,index", SYMBOLIC_CASES)
def test_symbolic_output_shape_matches_keras_compute_output_shape(case_id, index):
    case = CASES[case_id]
    tensors = [modelio.Input(batch_shape=tuple(shape), dtype=case["dtype"])
               for shape in case["symbolic"][index]]
    output = make_layer(case)(call_input(case, tensors))
    assert isinstance(output, modelio.SymbolicTensor)
    assert output.shape == tuple(case["output_shapes"][index])
    assert output.dtype == case["output_dtype"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_layer_inside_a_functional_model_predicts_what_keras_computed(case_id):
    case = CASES[case_id]
    if "mask" in case["arrays"]:
        pytest.skip("the mask is a call argument, not a model input")
    inputs = case_inputs(case)
    tensors = [modelio.Input(shape=array.shape[1:], dtype=case["dtype"]) for array in inputs]
    layer = make_layer(case)
    model = modelio.Model(tensors, layer(call_input(case, tensors)))
    weights = case_weights(case)
    if weights:
        layer.set_weights(weights)
    prediction = model.predict(inputs if case["multi"] else inputs[0])
    np.testing.assert_allclose(prediction, case_array(case, "output"), **TOLERANCE)


@pytest.mark.parametrize("class_name", [
    "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "ActivityRegularization", "Identity"])
def test_training_only_layers_are_the_identity_at_inference(class_name):
    case = next(case for case in CASES.values() if case["class_name"] == class_name)
    inputs = case_inputs(case)
    layer = make_layer(case)
    np.testing.assert_array_equal(layer(inputs[0]), inputs[0])
    np.testing.assert_array_equal(layer(inputs[0], training=False), inputs[0])
    assert layer.weights == []


def test_dense_on_rank_4_input_contracts_only_the_last_axis():
    case = CASES["dense_rank4_bias_sigmoid"]
    x = case_inputs(case)[0]
    kernel, bias = case_weights(case)
    expected = 1 / (1 + np.exp(-(np.einsum("abci,io->abco", x.astype(np.float64), kernel) + bias)))
    np.testing.assert_allclose(run_eager(case, make_layer(case)), expected, **TOLERANCE)


def test_relu_at_exactly_the_threshold_gives_zero():
    layer = layers.ReLU(negative_slope=0.5, threshold=1.5, max_value=4.0)
    x = np.array([[1.5, 1.0, 2.0, 10.0, -1.0]], np.float32)
    np.testing.assert_allclose(layer(x), [[0.0, -0.25, 2.0, 4.0, -1.25]], **TOLERANCE)


def test_softmax_gives_zero_to_a_fully_masked_row():
    case = CASES["softmax_bool_mask"]
    mask = case_array(case, "mask")
    output = run_eager(case, make_layer(case))
    fully_masked = ~mask.any(axis=-1)
    assert fully_masked.any()
    assert (output[fully_masked] == 0).all()
    np.testing.assert_allclose(output[~fully_masked].sum(axis=-1), 1.0, **TOLERANCE)


def test_dot_normalize_leaves_a_zero_vector_at_zero_instead_of_nan():
    case = CASES["dot_rank2_normalize"]
    output = run_eager(case, make_layer(case))
    assert np.isfinite(output).all()
    assert output[1, 0] == 0.0


def test_flatten_channels_first_flattens_in_channels_last_order():
    x = np.arange(24, dtype=np.float32).reshape(1, 3, 4, 2)
    first = layers.Flatten(data_format="channels_first")(x)
    last = layers.Flatten()(np.moveaxis(x, 1, -1))
    np.testing.assert_array_equal(first, last)


def test_reshape_infers_minus_one_from_input_size():
    layer = layers.Reshape((-1, 2))
    assert layer(np.zeros((3, 4, 5), np.float32)).shape == (3, 10, 2)
    assert layer(modelio.Input((4, 5))).shape == (None, 10, 2)
    assert layer(modelio.Input((None, 5))).shape == (None, None, 2)


def test_merge_inserts_axes_after_the_batch_axis_for_lower_rank_inputs():
    # With batch 3 and 3 rows, plain numpy broadcasting would line the batch of `b` up with the
    # rows of `a`; Keras expands `b` to (3, 1, 2) instead.
    a = np.arange(18, dtype=np.float32).reshape(3, 3, 2)
    b = np.array([[10.0, 20.0], [1.0, 2.0], [100.0, 200.0]], np.float32)
    expected = a + b[:, None, :]
    np.testing.assert_array_equal(layers.Add()([a, b]), expected)
    np.testing.assert_array_equal(layers.Add()([b, a]), expected)
    np.testing.assert_array_equal(layers.Maximum()([b, a]), np.maximum(a, b[:, None, :]))
    assert layers.Add()([modelio.Input((3, 2)), modelio.Input((2,))]).shape == (None, 3, 2)


# ----- 2. configs round-trip and match Keras ------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_round_trips_through_from_config(case_id):
    layer = make_layer(CASES[case_id])
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert as_json(rebuilt.get_config()) == as_json(config)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_matches_what_keras_get_config_returns(case_id):
    case = CASES[case_id]
    assert as_json(make_layer(case).get_config()) == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_written_by_keras_loads_and_is_written_back_unchanged(case_id):
    case = CASES[case_id]
    layer = getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))
    assert as_json(layer.get_config()) == case["keras_config"]


def test_default_glorot_uniform_kernel_initializer_config_matches_keras():
    expected = CASES["dense_rank2_bias_linear"]["keras_config"]["kernel_initializer"]
    assert as_json(layers.Dense(2).get_config()["kernel_initializer"]) == expected


def test_config_survives_layer_serialization_into_a_model_config():
    x = modelio.Input((3, 4))
    y = layers.Dense(2, name="projection")(layers.PReLU(shared_axes=[1])(x))
    model = modelio.Model(x, y)
    rebuilt = modelio.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()


# ----- 3. Keras 2 spellings load ------------------------------------------------------------------

# What tf-keras 2.21 wrote for LeakyReLU(0.1), SpatialDropout1D/2D(0.2) and Dense(2, input_shape=(3,)).
KERAS2_LEAKY_RELU = {"name": "leaky_re_lu", "trainable": True, "dtype": "float32",
                     "alpha": 0.10000000149011612}
KERAS2_SPATIAL_DROPOUT = {"name": "spatial_dropout", "trainable": True, "dtype": "float32",
                          "rate": 0.2, "noise_shape": None, "seed": None}
KERAS2_POLICY_FLOAT64 = {"module": "keras.mixed_precision", "class_name": "Policy",
                         "config": {"name": "float64"}, "registered_name": None}
KERAS3_POLICY_FLOAT64 = {"module": "keras", "class_name": "DTypePolicy",
                         "config": {"name": "float64"}, "registered_name": None}


def test_leaky_relu_keras2_alpha_loads_as_negative_slope():
    layer = layers.LeakyReLU.from_config(dict(KERAS2_LEAKY_RELU))
    config = layer.get_config()
    assert config["negative_slope"] == pytest.approx(0.1)
    assert "alpha" not in config
    np.testing.assert_allclose(layer(np.array([[-2.0, 3.0]], np.float32)), [[-0.2, 3.0]],
                               **TOLERANCE)


def test_leaky_relu_accepts_alpha_as_a_constructor_argument_like_keras_3():
    layer = layers.LeakyReLU(alpha=0.25)
    assert layer.get_config()["negative_slope"] == 0.25
    assert "alpha" not in layer.get_config()


@pytest.mark.parametrize("class_name,data_format", [
    ("SpatialDropout1D", None), ("SpatialDropout2D", "channels_last"),
    ("SpatialDropout3D", "channels_last")])
def test_spatial_dropout_keras2_config_with_noise_shape_and_trainable_loads(class_name,
                                                                             data_format):
    layer = getattr(layers, class_name).from_config(dict(KERAS2_SPATIAL_DROPOUT))
    expected = {"rate": 0.2, "seed": None, "name": "spatial_dropout", "dtype": "float32"}
    if data_format is not None:
        expected["data_format"] = data_format
    assert layer.get_config() == expected


def test_keras2_sequential_config_with_batch_input_shape_on_the_first_layer_loads():
    dense = {"name": "dense", "trainable": True, "dtype": "float32",
             "batch_input_shape": [None, 3], "units": 2, "activation": "linear",
             "use_bias": True, "activity_regularizer": None,
             "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                    "config": {"seed": None}, "registered_name": None},
             "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                  "config": {}, "registered_name": None},
             "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
             "bias_constraint": None}
    leaky = {"name": "leaky_re_lu", "trainable": True, "dtype": "float32", "alpha": 0.5}
    config = {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": dense,
         "registered_name": None},
        {"module": "keras.layers", "class_name": "LeakyReLU", "config": leaky,
         "registered_name": None}]}
    model = modelio.Sequential.from_config(config)
    assert model.built
    assert model.inputs[0].shape == (None, 3)
    assert model.outputs[0].shape == (None, 2)
    kernel = np.array([[1.0, -1.0], [0.0, 2.0], [1.0, 0.0]], np.float32)
    model.layers[0].set_weights([kernel, np.zeros(2, np.float32)])
    np.testing.assert_allclose(model.predict(np.array([[1.0, 1.0, 1.0]], np.float32)),
                               [[2.0, 1.0]], **TOLERANCE)
    x = np.array([[-1.0, 0.0, 0.0]], np.float32)
    np.testing.assert_allclose(model.predict(x), [[-0.5, 1.0]], **TOLERANCE)  # alpha=0.5


def test_batch_input_shape_argument_on_the_first_sequential_layer_builds_the_model():
    model = modelio.Sequential([layers.Dense(4, batch_input_shape=(None, 3)), layers.ReLU()])
    assert model.built
    assert model.inputs[0].shape == (None, 3)
    assert model.outputs[0].shape == (None, 4)
    assert "batch_input_shape" not in model.layers[0].get_config()


@pytest.mark.parametrize("dtype", ["float64", KERAS2_POLICY_FLOAT64, KERAS3_POLICY_FLOAT64],
                         ids=["string", "keras2_policy", "keras3_dtype_policy"])
def test_dtype_given_as_string_or_policy_dict_loads_as_a_keras3_dtype_policy(dtype):
    layer = layers.Dense.from_config({"name": "d", "units": 2, "dtype": dtype})
    assert layer.get_config()["dtype"] == KERAS3_POLICY_FLOAT64
    output = layer(np.ones((1, 3), np.float32))
    assert output.dtype == np.float64
    assert layer.kernel.value.dtype == np.float64


@pytest.mark.parametrize("dtype", [
    "mixed_float16",
    {"module": "keras.mixed_precision", "class_name": "Policy",
     "config": {"name": "mixed_float16"}, "registered_name": None}],
    ids=["string", "keras2_policy"])
def test_mixed_precision_policy_computes_in_float16_with_float32_weights(dtype):
    layer = layers.Dense.from_config({"name": "d", "units": 2, "dtype": dtype})
    output = layer(np.ones((1, 3), np.float32))
    assert output.dtype == np.float16
    assert layer.kernel.value.dtype == np.float32
    assert layer.get_config()["dtype"]["config"] == {"name": "mixed_float16"}


# ----- 4. errors are ModelioErrors naming the layer and the argument -----------------------------

WRONG_TYPES = [
    ("Dense", {"units": "3"}, "units"),
    ("Dense", {"units": 2.5}, "units"),
    ("Dense", {"units": 3, "use_bias": "yes"}, "use_bias"),
    ("Dense", {"units": 3, "activation": 3}, "activation"),
    ("Dense", {"units": 3, "kernel_initializer": 5}, "kernel_initializer"),
    ("Dense", {"units": 3, "bias_initializer": 0.0}, "bias_initializer"),
    ("Dense", {"units": 3, "kernel_regularizer": 0.01}, "kernel_regularizer"),
    ("Dense", {"units": 3, "trainable": "yes"}, "trainable"),
    ("Dense", {"units": 3, "dtype": 5}, "dtype"),
    ("Activation", {"activation": ["relu"]}, "activation"),
    ("ReLU", {"max_value": "6"}, "max_value"),
    ("ReLU", {"negative_slope": None}, "negative_slope"),
    ("ReLU", {"threshold": [0.5]}, "threshold"),
    ("LeakyReLU", {"negative_slope": "0.1"}, "negative_slope"),
    ("PReLU", {"shared_axes": "1"}, "shared_axes"),
    ("PReLU", {"alpha_initializer": 0.25}, "alpha_initializer"),
    ("ELU", {"alpha": "1"}, "alpha"),
    ("Softmax", {"axis": 1.5}, "axis"),
    ("Softmax", {"axis": "last"}, "axis"),
    ("Flatten", {"data_format": 3}, "data_format"),
    ("Reshape", {"target_shape": "2,3"}, "target_shape"),
    ("Reshape", {"target_shape": [2.0, 3]}, "target_shape"),
    ("Permute", {"dims": "21"}, "dims"),
    ("RepeatVector", {"n": "3"}, "n"),
    ("Concatenate", {"axis": "1"}, "axis"),
    ("Dot", {"axes": "1"}, "axes"),
    ("Dot", {"axes": [1, "2"]}, "axes"),
    ("Dot", {"axes": 1, "normalize": "yes"}, "normalize"),
    ("Dropout", {"rate": "0.5"}, "rate"),
    ("Dropout", {"rate": 0.5, "seed": "1"}, "seed"),
    ("Dropout", {"rate": 0.5, "noise_shape": 3}, "noise_shape"),
    ("Dropout", {"rate": 0.5, "noise_shape": "abc"}, "noise_shape"),
    ("GaussianNoise", {"stddev": "0.1"}, "stddev"),
    ("GaussianDropout", {"rate": None}, "rate"),
    ("AlphaDropout", {"rate": [0.1]}, "rate"),
    ("SpatialDropout1D", {"rate": "0.1"}, "rate"),
    ("SpatialDropout2D", {"rate": 0.1, "data_format": 5}, "data_format"),
    ("SpatialDropout3D", {"rate": 0.1, "seed": 1.5}, "seed"),
    ("ActivityRegularization", {"l1": "0.1"}, "l1"),
]


@pytest.mark.parametrize("class_name,kwargs,argument", WRONG_TYPES,
                         ids=[f"{c}-{a}-{i}" for i, (c, _, a) in enumerate(WRONG_TYPES)])
def test_wrong_argument_type_raises_config_error_naming_layer_and_argument(class_name, kwargs,
                                                                           argument):
    with pytest.raises(modelio.ConfigError) as info:
        getattr(layers, class_name)(name="suspect_layer", **kwargs)
    message = str(info.value)
    assert "suspect_layer" in message or class_name in message
    assert argument in message


REQUIRED_ARGUMENTS = {
    "Dense": {"units": 2}, "Activation": {"activation": "relu"}, "Reshape": {"target_shape": [2]},
    "Permute": {"dims": [1]}, "RepeatVector": {"n": 2}, "Dot": {"axes": 1}, "Dropout": {"rate": 0.1},
    "AlphaDropout": {"rate": 0.1}, "GaussianDropout": {"rate": 0.1},
    "GaussianNoise": {"stddev": 0.1}, "SpatialDropout1D": {"rate": 0.1},
    "SpatialDropout2D": {"rate": 0.1}, "SpatialDropout3D": {"rate": 0.1},
}


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_unknown_constructor_argument_raises_unsupported_error_naming_layer_and_argument(
        class_name):
    cls = getattr(layers, class_name)
    with pytest.raises(modelio.UnsupportedError) as info:
        cls(**REQUIRED_ARGUMENTS.get(class_name, {}), frobnicate=1)
    message = str(info.value)
    assert class_name in message
    assert "frobnicate" in message


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_unknown_config_key_raises_unsupported_error_naming_layer_and_key(class_name):
    cls = getattr(layers, class_name)
    config = cls(**REQUIRED_ARGUMENTS.get(class_name, {}), name="odd").get_config()
    config["frobnicate"] = True
    with pytest.raises(modelio.UnsupportedError) as info:
        cls.from_config(config)
    assert "odd" in str(info.value)
    assert "frobnicate" in str(info.value)


def test_spatial_dropout_1d_has_no_data_format_argument():
    with pytest.raises(modelio.UnsupportedError, match="data_format"):
        layers.SpatialDropout1D(0.1, data_format="channels_last")


@pytest.mark.parametrize("class_name", MERGE_CLASSES + ["Concatenate", "Dot"])
def test_merge_layer_called_on_a_single_symbolic_tensor_raises_modelio_error(class_name):
    layer = getattr(layers, class_name)(**REQUIRED_ARGUMENTS.get(class_name, {}))
    with pytest.raises(modelio.ModelioError):
        layer(modelio.Input((3, 4)))


@pytest.mark.parametrize("batch", [2, 3])
@pytest.mark.parametrize("class_name", MERGE_CLASSES + ["Concatenate", "Dot"])
def test_merge_layer_called_on_a_single_array_raises_modelio_error(class_name, batch):
    layer = getattr(layers, class_name)(**REQUIRED_ARGUMENTS.get(class_name, {}))
    with pytest.raises(modelio.ModelioError):
        layer(np.ones((batch, 3, 4), np.float32))


def test_subtract_of_three_inputs_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.Subtract()([modelio.Input((2,)) for _ in range(3)])
    with pytest.raises(modelio.ModelioError):
        layers.Subtract()([np.ones((1, 2), np.float32)] * 3)


def test_elementwise_merge_of_incompatible_shapes_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.Add()([modelio.Input((3, 4)), modelio.Input((3, 5))])
    with pytest.raises(modelio.ModelioError):
        layers.Add()([np.ones((2, 3, 4), np.float32), np.ones((2, 3, 5), np.float32)])


@pytest.mark.parametrize("shapes,axis", [
    ([(3, 4), (2, 5)], 1), ([(3, 4), (3,)], -1), ([(3, 4), (3, 4)], 3), ([(3, 4), (3, 4)], 0)],
    ids=["other_axis_differs", "ranks_differ", "axis_out_of_range", "batch_axis"])
def test_concatenate_with_mismatched_shapes_raises_modelio_error_symbolically(shapes, axis):
    with pytest.raises(modelio.ModelioError):
        layers.Concatenate(axis=axis)([modelio.Input(shape) for shape in shapes])


@pytest.mark.parametrize("shapes,axis", [
    ([(3, 4), (2, 5)], 1), ([(3, 4), (3,)], -1), ([(3, 4), (3, 4)], 3)],
    ids=["other_axis_differs", "ranks_differ", "axis_out_of_range"])
def test_concatenate_with_mismatched_shapes_raises_modelio_error_eagerly(shapes, axis):
    arrays = [np.ones((2, *shape), np.float32) for shape in shapes]
    with pytest.raises(modelio.ModelioError):
        layers.Concatenate(axis=axis)(arrays)


@pytest.mark.parametrize("shapes,axes", [
    ([(3,), (4,)], 1), ([(3, 4), (3, 5)], 2), ([(3, 4), (5, 3)], [2, 2]), ([(3,), (3,)], 0)],
    ids=["rank2", "rank3", "pair", "batch_axis"])
def test_dot_with_mismatched_axes_raises_modelio_error_symbolically(shapes, axes):
    with pytest.raises(modelio.ModelioError):
        layers.Dot(axes=axes)([modelio.Input(shape) for shape in shapes])


@pytest.mark.parametrize("shapes,axes", [
    ([(3,), (4,)], 1), ([(3, 4), (3, 5)], 2), ([(3, 4), (5, 3)], [2, 2]), ([(2,), (4,)], 1),
    ([(3,), (3,)], 0)],
    ids=["rank2", "rank3", "pair", "divisible_sizes", "batch_axis"])
def test_dot_with_mismatched_axes_raises_modelio_error_eagerly(shapes, axes):
    arrays = [np.ones((2, *shape), np.float32) for shape in shapes]
    with pytest.raises(modelio.ModelioError):
        layers.Dot(axes=axes)(arrays)


def test_dot_of_three_inputs_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.Dot(axes=1)([modelio.Input((2,)) for _ in range(3)])
    with pytest.raises(modelio.ModelioError):
        layers.Dot(axes=1)([np.ones((1, 2), np.float32)] * 3)


@pytest.mark.parametrize("target_shape,input_shape", [
    ([5], (3, 4)), ([-1, 5], (3, 4)), ([2, 2, 2], (3, 3))])
def test_reshape_to_an_impossible_size_raises_modelio_error(target_shape, input_shape):
    with pytest.raises(modelio.ModelioError):
        layers.Reshape(target_shape)(modelio.Input(input_shape))
    with pytest.raises(modelio.ModelioError):
        layers.Reshape(target_shape)(np.ones((2, *input_shape), np.float32))


@pytest.mark.parametrize("target_shape", [[-1, -1], [0, 3], [-2, 3]])
def test_reshape_with_an_invalid_target_shape_raises_config_error(target_shape):
    with pytest.raises(modelio.ConfigError, match="target_shape"):
        layers.Reshape(target_shape)


@pytest.mark.parametrize("dims", [[1, 1], [0, 1], [1, 3], [2, 3], [-1, 1]])
def test_permute_with_a_bad_permutation_raises_config_error(dims):
    with pytest.raises(modelio.ConfigError, match="dims"):
        layers.Permute(dims)


def test_permute_of_an_input_of_the_wrong_rank_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.Permute((2, 1))(modelio.Input((3, 4, 5)))
    with pytest.raises(modelio.ModelioError):
        layers.Permute((2, 1))(np.ones((2, 3, 4, 5), np.float32))


def test_repeat_vector_of_a_rank_3_input_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.RepeatVector(2)(modelio.Input((3, 4)))
    with pytest.raises(modelio.ModelioError):
        layers.RepeatVector(2)(np.ones((2, 3, 4), np.float32))


def test_prelu_shared_axis_beyond_the_input_rank_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.PReLU(shared_axes=[3])(np.ones((2, 3), np.float32))


def test_dense_on_an_input_with_unknown_last_dimension_raises_modelio_error():
    with pytest.raises(modelio.ModelioError):
        layers.Dense(2)(modelio.Input((None,)))


# ----- 5. dtypes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_float64_layer_computes_in_float64(case_id):
    case = CASES[case_id]
    layer = make_layer(case, dtype="float64")
    inputs = [array.astype(np.float32) for array in case_inputs(case)]
    output = run_eager(case, layer, inputs)
    assert output.dtype == np.float64
    assert all(weight.value.dtype == np.float64 for weight in layer.weights)
    np.testing.assert_allclose(output, case_array(case, "output"), **TOLERANCE)
    symbolic = make_layer(case, dtype="float64")(
        call_input(case, [modelio.Input(array.shape[1:]) for array in inputs]))
    assert symbolic.dtype == "float64"


def test_float64_dense_is_exact_in_float64():
    layer = layers.Dense(1, use_bias=False, dtype="float64")
    x = np.array([[1.0, 1e-12]])
    layer(x)
    layer.set_weights([np.array([[1.0], [1.0]])])
    assert layer(x)[0, 0] == 1.0 + 1e-12


@pytest.mark.parametrize("case_id", FLOAT32_CASE_IDS)
def test_float32_inputs_stay_float32(case_id):
    case = CASES[case_id]
    assert run_eager(case, make_layer(case)).dtype == np.float32


@pytest.mark.parametrize("case_id", FLOAT32_CASE_IDS)
def test_float64_inputs_are_cast_to_a_float32_layer_compute_dtype(case_id):
    case = CASES[case_id]
    inputs = [array.astype(np.float64) for array in case_inputs(case)]
    output = run_eager(case, make_layer(case), inputs)
    assert output.dtype == np.float32
    np.testing.assert_allclose(output, case_array(case, "output"), **TOLERANCE)


def test_float32_stays_float32_through_a_model_of_every_layer_kind():
    x = modelio.Input((4, 6))
    y = layers.Dense(6, activation="gelu")(x)
    y = layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.1)(y)
    y = layers.LeakyReLU()(y)
    y = layers.PReLU(shared_axes=[1])(y)
    y = layers.ELU()(y)
    y = layers.Softmax(axis=[1, 2])(y)
    y = layers.Dropout(0.5)(layers.GaussianNoise(0.1)(layers.AlphaDropout(0.1)(y)))
    y = layers.SpatialDropout1D(0.2)(layers.GaussianDropout(0.1)(y))
    y = layers.ActivityRegularization(l1=0.1)(layers.Identity()(y))
    permuted = layers.Permute((2, 1))(y)                                    # (6, 4)
    joined = layers.Concatenate(axis=1)([layers.Reshape((4, 6))(permuted), y])  # (8, 6)
    merged = [layer([joined, layers.Dense(6)(joined)]) for layer in (
        layers.Add(), layers.Subtract(), layers.Multiply(), layers.Average(), layers.Maximum(),
        layers.Minimum())]
    summed = layers.Add()(merged)
    dotted = layers.Dot(axes=[2, 2], normalize=True)([summed, joined])      # (8, 8)
    flat = layers.Flatten()(dotted)
    out = layers.RepeatVector(2)(layers.Activation("tanh")(flat))
    model = modelio.Model(x, out)
    assert out.dtype == "float32"
    prediction = model.predict(np.random.default_rng(0).normal(size=(3, 4, 6)).astype(np.float32))
    assert prediction.dtype == np.float32
    assert prediction.shape == (3, 2, 64)
    assert np.isfinite(prediction).all()


# ----- 6. automatic names -------------------------------------------------------------------------

def test_two_dense_layers_are_named_dense_and_dense_1():
    assert [layers.Dense(2).name, layers.Dense(2).name] == ["dense", "dense_1"]


@pytest.mark.parametrize("class_name,expected", [
    ("ReLU", "re_lu"), ("PReLU", "p_re_lu"), ("LeakyReLU", "leaky_re_lu"), ("ELU", "elu"),
    ("SpatialDropout1D", "spatial_dropout1d"), ("RepeatVector", "repeat_vector"),
    ("ActivityRegularization", "activity_regularization")])
def test_automatic_name_is_the_snake_case_keras_uses(class_name, expected):
    layer = getattr(layers, class_name)(**REQUIRED_ARGUMENTS.get(class_name, {}))
    assert layer.name == expected


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_first_automatic_name_of_every_layer_class_matches_keras(class_name):
    case = next(case for case in CASES.values() if case["class_name"] == class_name)
    assert make_layer(case).name == case["keras_config"]["name"]


def test_automatic_names_count_per_class_and_skip_explicit_names():
    names = [layers.ReLU().name, layers.ReLU(name="mine").name, layers.PReLU().name,
             layers.ReLU().name, layers.PReLU().name]
    assert names == ["re_lu", "mine", "p_re_lu", "re_lu_1", "p_re_lu_1"]


def test_clear_session_resets_automatic_names():
    layers.Dense(2)
    assert layers.Dense(2).name == "dense_1"
    modelio.clear_session()
    assert layers.Dense(2).name == "dense"


def test_regularizer_and_constraint_names_are_written_as_keras3_configs():
    # Keras 3.15: Dense(2, kernel_regularizer="l2", kernel_constraint="max_norm").get_config()
    config = layers.Dense(2, kernel_regularizer="l2", kernel_constraint="max_norm").get_config()
    assert config["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                            "config": {"l2": 0.01}, "registered_name": None}
    assert config["kernel_constraint"] == {"module": "keras.constraints", "class_name": "MaxNorm",
                                           "config": {"max_value": 2, "axis": 0},
                                           "registered_name": None}
    with pytest.raises(modelio.ConfigError, match="kernel_regularizer"):
        layers.Dense(2, kernel_regularizer="l3")


def test_softmax_over_the_same_axis_twice_is_refused():
    inputs = modelio.Input((3, 4))
    with pytest.raises(modelio.ConfigError, match="names an axis twice"):
        modelio.layers.Softmax(axis=[1, -2])(inputs)
