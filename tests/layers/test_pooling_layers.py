"""Pooling layers against what real Keras 3.15.1 (and tf-keras 2.21) computes and writes.

Reference values come from fixtures/keras3/image_cases.npz and fixtures/keras2/image_configs.json,
written by tools/image_case_fixtures.py in environments with Keras; these tests never import Keras.
"""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.graph import keras2_semantics
from modelio.graph.registry import LAYER_CLASSES

ROOT = Path(__file__).resolve().parents[2]
KERAS3_FIXTURE = ROOT / "fixtures" / "keras3" / "image_cases.npz"
KERAS2_FIXTURE = ROOT / "fixtures" / "keras2" / "image_configs.json"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


BUFFERS, DOCUMENT = load_case_archive(KERAS3_FIXTURE)
CASES = {case["id"]: case for case in DOCUMENT["cases"] if "Pooling" in case["class_name"]}
CASE_IDS = list(CASES)
SYMBOLIC_CASES = [(case_id, index) for case_id, case in CASES.items()
                  for index in range(len(case["symbolic"]))]
KERAS2_CASES = {case["id"]: case
                for case in json.loads(KERAS2_FIXTURE.read_text(encoding="utf-8"))["cases"]
                if "Pooling" in case["class_name"]}
POOLING_CLASSES = [f"{kind}Pooling{dims}D" for kind in ("Max", "Average") for dims in (1, 2, 3)]
GLOBAL_CLASSES = [f"Global{kind}Pooling{dims}D" for kind in ("Max", "Average")
                  for dims in (1, 2, 3)]


def case_array(case: dict, key: str) -> np.ndarray:
    return read_case_array(BUFFERS, case, key)


def make_layer(case: dict):
    return getattr(layers, case["class_name"])(**case["kwargs"])


def as_json(value):
    return json.loads(json.dumps(value))


def test_fixture_was_recorded_with_keras_3_15_1_and_covers_every_pooling_layer():
    assert DOCUMENT["keras_version"] == "3.15.1"
    assert {case["class_name"] for case in CASES.values()} == set(POOLING_CLASSES + GLOBAL_CLASSES)


# ----- 1. values and shapes match Keras ------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_eager_output_matches_keras_for_the_same_config_and_input(case_id):
    case = CASES[case_id]
    # `expected` (tf-keras) replaces Keras 3's PyTorch-backend output where that backend
    # averages replicated edge cells (see the fixture tool); elsewhere they are the same.
    expected = case_array(case, "expected" if "expected" in case["arrays"] else "output")
    kwargs = {"mask": case_array(case, "mask")} if "mask" in case["arrays"] else {}
    output = make_layer(case)(case_array(case, "input:0"), **kwargs)
    assert isinstance(output, np.ndarray)
    assert output.shape == expected.shape
    assert output.dtype == np.dtype(case["output_dtype"])
    np.testing.assert_allclose(output, expected, equal_nan=True, **TOLERANCE)


@pytest.mark.parametrize("case_id,index", SYMBOLIC_CASES)
def test_symbolic_output_shape_matches_keras_compute_output_shape(case_id, index):
    case = CASES[case_id]
    shape = tuple(case["symbolic"][index][0])
    layer = make_layer(case)
    assert layer.compute_output_shape(shape) == tuple(case["output_shapes"][index])
    output = layer(modelio.Input(batch_shape=shape, dtype=case["dtype"]))
    assert output.shape == tuple(case["output_shapes"][index])


@pytest.mark.parametrize("case_id", [case_id for case_id in CASE_IDS
                                     if "mask" not in CASES[case_id]["arrays"]])
def test_layer_inside_a_functional_model_predicts_what_keras_computed(case_id):
    case = CASES[case_id]
    x = case_array(case, "input:0")
    inputs = modelio.Input(shape=x.shape[1:], dtype=case["dtype"])
    model = modelio.Model(inputs, make_layer(case)(inputs))
    expected = case_array(case, "expected" if "expected" in case["arrays"] else "output")
    np.testing.assert_allclose(model.predict(x), expected, **TOLERANCE)


def test_keras3_torch_backend_output_differs_only_where_uneven_same_padding_is_averaged():
    # The recorded PyTorch-backend values replicate edge cells into uneven "same" padding and
    # average them; modelio (like TF, JAX, NumPy and tf-keras) leaves padding out of the mean.
    # Both agree on every window that holds no padding.
    case = CASES["avg1d_pool4_stride1_same_uneven_padding"]  # 6 steps: padding (1, 2)
    torch_output = case_array(case, "output")
    ours = make_layer(case)(case_array(case, "input:0"))
    np.testing.assert_allclose(ours[:, 1:4], torch_output[:, 1:4], **TOLERANCE)
    assert not np.allclose(ours[:, 4:], torch_output[:, 4:])


def test_average_pooling_same_leaves_padding_out_of_the_mean():
    x = np.arange(4, dtype=np.float32).reshape(1, 4, 1)
    layer = layers.AveragePooling1D(4, strides=1, padding="same")  # pads 1 before, 2 after
    np.testing.assert_allclose(layer(x).ravel(), [1.0, 1.5, 2.0, 2.5])


def test_max_pooling_same_pads_with_minus_infinity_not_zero():
    x = -np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4, 1)
    output = layers.MaxPooling2D(2, strides=2, padding="same")(x)
    assert output.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(output[0, :, :, 0], [[-1.0, -3.0], [-9.0, -11.0]])


def _reference_pool(x, pool, strides, padding, mode, channels_first):
    """A loop over output cells, for checking the vectorized kernel."""
    if channels_first:
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    begins, outs = [], []
    for size, k, s in zip(spatial, pool, strides):
        if padding == "valid":
            outs.append((size - k) // s + 1)
            begins.append(0)
        else:
            out = -(-size // s)
            outs.append(out)
            begins.append(max((out - 1) * s + k - size, 0) // 2)
    result = np.zeros((x.shape[0], *outs, x.shape[-1]), np.float64)
    for cell in itertools.product(*(range(out) for out in outs)):
        index = [slice(None)]
        for o, s, k, begin, size in zip(cell, strides, pool, begins, spatial):
            start = o * s - begin
            index.append(slice(max(start, 0), min(start + k, size)))
        window = x[tuple(index)]
        axes = tuple(range(1, len(spatial) + 1))
        result[(slice(None), *cell)] = (window.max(axis=axes) if mode == "max"
                                        else window.mean(axis=axes))
    return np.moveaxis(result, -1, 1) if channels_first else result


POOL_GRID = [  # spatial size, pool_size, strides (None: pool_size)
    ((5,), (2,), None), ((4,), (3,), (1,)), ((9, 8), (3, 2), (2, 3)), ((7, 6), (1, 4), (3, 1)),
    ((6, 5), (2, 2), None), ((4, 5, 3), (2, 3, 2), (1, 2, 1)), ((5, 4, 6), (3, 2, 2), (2, 1, 3)),
]

@pytest.mark.parametrize("spatial,pool,strides", POOL_GRID)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("mode", ["Max", "Average"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_vectorized_pooling_matches_a_loop_over_output_cells(spatial, pool, strides, padding,
                                                             mode, data_format):
    dims = len(spatial)
    rng = np.random.default_rng(sum(spatial) * 31 + sum(pool))
    channels_first = data_format == "channels_first"
    shape = (2, 3, *spatial) if channels_first else (2, *spatial, 3)
    x = rng.normal(size=shape).astype(np.float32)
    layer = getattr(layers, f"{mode}Pooling{dims}D")(pool_size=pool, strides=strides,
                                                     padding=padding, data_format=data_format)
    expected = _reference_pool(x, pool, strides or pool, padding, mode.lower(), channels_first)
    output = layer(x)
    assert output.shape == layer.compute_output_shape(shape) == expected.shape
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)


# ----- 2. masks, dtypes, flags ----------------------------------------------------------------------

def test_global_average_pooling1d_averages_only_unmasked_steps():
    x = np.array([[[1.0], [2.0], [3.0], [10.0]]], np.float32)
    mask = np.array([[True, True, True, False]])
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x, mask=mask), [[2.0]])
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x), [[4.0]])


def test_global_average_pooling1d_gives_nan_for_a_fully_masked_sample_like_keras():
    case = CASES["gap1d_bool_mask_fully_masked_sample"]
    output = make_layer(case)(case_array(case, "input:0"), mask=case_array(case, "mask"))
    assert np.isnan(output[1]).all() and np.isfinite(output[[0, 2]]).all()


def test_global_max_pooling1d_ignores_the_mask_like_keras():
    case = CASES["gmp1d_mask_is_ignored"]
    x = case_array(case, "input:0")
    layer = make_layer(case)
    np.testing.assert_array_equal(layer(x, mask=case_array(case, "mask")), layer(x))
    assert layers.GlobalMaxPooling1D.supports_masking is False


def test_global_average_pooling1d_consumes_the_mask():
    layer = layers.GlobalAveragePooling1D()
    assert layer.supports_masking is True
    assert layer.compute_mask(np.zeros((1, 3, 2)), np.ones((1, 3), bool)) is None


def test_embedding_mask_reaches_gap1d_as_a_call_argument_but_not_gmp1d_as_in_keras():
    # Keras 3.15.1 writes this graph with `"kwargs": {"mask": <not_equal tensor>}` on the
    # GlobalAveragePooling1D node and `"kwargs": {}` on the GlobalMaxPooling1D node, whose call
    # takes no mask (Keras would refuse one when loading the model).
    ids = modelio.Input((None,), dtype="int32")
    embedded = layers.Embedding(10, 3, mask_zero=True)(ids)
    model = modelio.Model(ids, [layers.GlobalAveragePooling1D()(embedded),
                                layers.GlobalMaxPooling1D()(embedded)])
    nodes = {entry["class_name"]: entry["inbound_nodes"][0]
             for entry in model.get_config()["layers"] if entry["inbound_nodes"]}
    mask_argument = nodes["GlobalAveragePooling1D"]["kwargs"]["mask"]
    assert mask_argument["config"]["keras_history"][0] == "not_equal"
    assert nodes["GlobalMaxPooling1D"]["kwargs"] == {}
    model.layers[1].set_weights([np.arange(30, dtype=np.float32).reshape(10, 3)])
    average, maximum = model.predict(np.array([[1, 2, 0, 0], [3, 0, 0, 0]]))
    np.testing.assert_allclose(average, [[4.5, 5.5, 6.5], [9.0, 10.0, 11.0]])
    np.testing.assert_allclose(maximum, [[6.0, 7.0, 8.0], [9.0, 10.0, 11.0]])


@pytest.mark.parametrize("class_name", POOLING_CLASSES + GLOBAL_CLASSES)
def test_pooling_layers_are_built_at_init_and_only_gap1d_supports_masking(class_name):
    layer = getattr(layers, class_name)(**({"pool_size": 2} if "Average" in class_name
                                           and "Global" not in class_name else {}))
    assert layer.built
    assert layer.weights == []
    assert type(layer).supports_masking is (class_name == "GlobalAveragePooling1D")


@pytest.mark.parametrize("class_name,alias", [
    ("MaxPooling2D", "MaxPool2D"), ("AveragePooling1D", "AvgPool1D"),
    ("GlobalAveragePooling2D", "GlobalAvgPool2D"), ("GlobalMaxPooling3D", "GlobalMaxPool3D")])
def test_keras_aliases_resolve_to_the_pooling_classes(class_name, alias):
    assert LAYER_CLASSES[alias] is getattr(layers, class_name)


def test_float64_stays_float64_and_integers_are_pooled_as_floats():
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    assert layers.MaxPooling2D(dtype="float64")(x).dtype == np.float64
    ints = np.arange(16, dtype=np.int64).reshape(1, 4, 4, 1)
    output = layers.AveragePooling2D(2)(ints)
    assert output.dtype == np.float32
    np.testing.assert_allclose(output[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_symbolic_pooling_keeps_unknown_spatial_sizes_unknown():
    output = layers.MaxPooling2D(3, strides=2, padding="same")(modelio.Input((None, 7, 4)))
    assert output.shape == (None, None, 4, 4)
    output = layers.GlobalAveragePooling2D(keepdims=True, data_format="channels_first")(
        modelio.Input((5, None, None)))
    assert output.shape == (None, 5, 1, 1)


# ----- 3. configs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_matches_what_keras_get_config_returns(case_id):
    case = CASES[case_id]
    assert as_json(make_layer(case).get_config()) == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_round_trips_through_from_config(case_id):
    layer = make_layer(CASES[case_id])
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_written_by_keras_loads_and_is_written_back_unchanged(case_id):
    case = CASES[case_id]
    layer = getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))
    assert as_json(layer.get_config()) == case["keras_config"]


@pytest.mark.parametrize("case_id", list(KERAS2_CASES))
def test_keras2_config_loads_and_computes_what_tf_keras_computed(case_id):
    case = KERAS2_CASES[case_id]
    with keras2_semantics():
        layer = getattr(layers, case["class_name"]).from_config(dict(case["config"]))
    x = np.asarray(case["input"], dtype=case["input_dtype"])
    kwargs = {} if case["mask"] is None else {"mask": np.asarray(case["mask"])}
    output = layer(x, **kwargs)
    expected = np.asarray(case["output"], dtype=case["output_dtype"])
    assert output.dtype == expected.dtype
    np.testing.assert_allclose(output, expected, **TOLERANCE)
    keras3 = layer.get_config()
    assert keras3["data_format"] == case["config"]["data_format"]
    assert isinstance(keras3["dtype"], dict)  # written back as a Keras 3 DTypePolicy


# ----- 4. errors ----------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("MaxPooling2D", {"pool_size": "2"}, "pool_size"),
    ("MaxPooling2D", {"pool_size": [2, 2, 2]}, "pool_size"),
    ("MaxPooling1D", {"pool_size": 0}, "pool_size"),
    ("MaxPooling3D", {"pool_size": [2, 2.0, 2]}, "pool_size"),
    ("AveragePooling2D", {"pool_size": 2, "strides": 0}, "strides"),
    ("AveragePooling1D", {"pool_size": 2, "strides": [1, 1]}, "strides"),
    ("AveragePooling2D", {"pool_size": True}, "pool_size"),
    ("MaxPooling2D", {"padding": "causal"}, "padding"),
    ("MaxPooling2D", {"padding": 1}, "padding"),
    ("AveragePooling3D", {"pool_size": 2, "data_format": "NCHW"}, "data_format"),
    ("GlobalAveragePooling1D", {"keepdims": "yes"}, "keepdims"),
    ("GlobalMaxPooling2D", {"data_format": 1}, "data_format"),
]


@pytest.mark.parametrize("class_name,kwargs,argument", BAD_ARGUMENTS,
                         ids=[f"{c}-{a}-{i}" for i, (c, _, a) in enumerate(BAD_ARGUMENTS)])
def test_bad_argument_raises_config_error_naming_layer_and_argument(class_name, kwargs, argument):
    with pytest.raises(modelio.ConfigError) as info:
        getattr(layers, class_name)(name="suspect_layer", **kwargs)
    assert "suspect_layer" in str(info.value)
    assert argument in str(info.value)


@pytest.mark.parametrize("class_name", POOLING_CLASSES + GLOBAL_CLASSES)
def test_unknown_argument_raises_unsupported_error_naming_it(class_name):
    kwargs = {"pool_size": 2} if class_name.startswith("Average") else {}
    with pytest.raises(modelio.UnsupportedError, match="frobnicate"):
        getattr(layers, class_name)(name="suspect_layer", frobnicate=1, **kwargs)


def test_average_pooling_requires_pool_size_like_keras():
    with pytest.raises(TypeError):
        layers.AveragePooling2D()


def test_valid_pooling_larger_than_the_input_is_refused_when_the_graph_is_built():
    with pytest.raises(modelio.ModelioError, match="pool_size"):
        layers.MaxPooling2D(4)(modelio.Input((3, 8, 2)))
    with pytest.raises(modelio.ModelioError, match="pool_size"):
        layers.AveragePooling1D(5)(np.zeros((1, 4, 2), np.float32))


@pytest.mark.parametrize("class_name,kwargs,shape", [
    ("MaxPooling2D", {}, (4, 2)), ("GlobalAveragePooling1D", {}, (4, 4, 2)),
    ("AveragePooling1D", {"pool_size": 2}, (4, 4, 2)), ("GlobalMaxPooling3D", {}, (4, 4, 2))])
def test_input_of_the_wrong_rank_is_refused_naming_the_expected_rank(class_name, kwargs, shape):
    layer = getattr(layers, class_name)(**kwargs)
    with pytest.raises(modelio.ModelioError, match=f"rank {len(shape) + 1}|of rank"):
        layer(modelio.Input(shape))
    with pytest.raises(modelio.ModelioError, match="rank"):
        layer(np.zeros((1, *shape), np.float32))
