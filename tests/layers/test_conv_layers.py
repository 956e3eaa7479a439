"""Convolution layers against what real Keras 3.15.1 and tf-keras 2.21 compute and write, and the
numpy kernels against direct loop implementations.

Reference values come from fixtures/keras3/conv_cases.npz and fixtures/keras2/conv_configs.json,
written by tools/conv_case_fixtures.py in environments with Keras; these tests never import Keras.
"""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import assert_matches_keras_output, load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.graph import keras2_semantics
from modelio.kernels import convolution

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


BUFFERS, DOCUMENT = load_case_archive(FIXTURES / "keras3" / "conv_cases.npz")
CASES = {case["id"]: case for case in DOCUMENT["cases"]}
CASE_IDS = list(CASES)
SYMBOLIC_CASES = [(case_id, index) for case_id, case in CASES.items()
                  for index in range(len(case["symbolic"]))]
KERAS2 = json.loads((FIXTURES / "keras2" / "conv_configs.json").read_text(encoding="utf-8"))
KERAS2_CASES = {case["id"]: case for case in KERAS2["cases"]}
CLASS_NAMES = ["Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
               "SeparableConv1D", "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose",
               "Conv3DTranspose"]


def case_array(case: dict, key: str) -> np.ndarray:
    return read_case_array(BUFFERS, case, key)


def case_weights(case: dict) -> list:
    count = sum(key.startswith("weight:") for key in case["arrays"])
    return [case_array(case, f"weight:{index}") for index in range(count)]


def make_layer(case: dict, **overrides):
    return getattr(layers, case["class_name"])(**{**case["kwargs"], **overrides})


def run_eager(case: dict, layer):
    x = case_array(case, "input:0")
    layer(x)  # builds
    layer.set_weights(case_weights(case))
    return layer(x)


def as_json(value):
    return json.loads(json.dumps(value))


def test_fixtures_were_recorded_with_keras_3_15_1_and_cover_every_layer():
    assert DOCUMENT["keras_version"] == "3.15.1"
    assert KERAS2["tf_keras_version"].startswith("2.")
    assert {case["class_name"] for case in CASES.values()} == set(CLASS_NAMES)


# ----- 1. values, shapes and weights match Keras 3 -------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_eager_output_matches_keras_for_the_same_config_weights_and_input(case_id):
    case = CASES[case_id]
    expected = case_array(case, "output")
    output = run_eager(case, make_layer(case))
    assert_matches_keras_output(output, expected, case, **TOLERANCE)


@pytest.mark.parametrize("case_id,index", SYMBOLIC_CASES)
def test_symbolic_output_shape_matches_keras_compute_output_shape(case_id, index):
    case = CASES[case_id]
    tensor = modelio.Input(batch_shape=tuple(case["symbolic"][index]), dtype=case["dtype"])
    output = make_layer(case)(tensor)
    assert output.shape == tuple(case["output_shapes"][index])
    assert output.dtype == case["output_dtype"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_weights_have_keras_names_shapes_and_order(case_id):
    case = CASES[case_id]
    layer = make_layer(case)
    layer.build(tuple(case["inputs"][0]))
    assert [weight.name for weight in layer.weights] == case["weight_names"]
    assert [weight.shape for weight in layer.weights] == [w.shape for w in case_weights(case)]


@pytest.mark.parametrize("case_id", [case_id for case_id in CASE_IDS if case_id.endswith(
    ("_k3", "_3x3", "stride2", "multiplier2", "_2x2x2"))])
def test_layer_inside_a_functional_model_predicts_what_keras_computed(case_id):
    case = CASES[case_id]
    x = case_array(case, "input:0")
    tensor = modelio.Input(shape=x.shape[1:], dtype=case["dtype"])
    layer = make_layer(case)
    model = modelio.Model(tensor, layer(tensor))
    layer.set_weights(case_weights(case))
    np.testing.assert_allclose(model.predict(x), case_array(case, "output"), **TOLERANCE)


def test_depthwise_conv2d_kernel_is_named_kernel_with_output_channel_c_times_m_plus_m():
    layer = layers.DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    layer(x)  # builds
    assert [w.name for w in layer.weights] == ["kernel"]
    kernel = np.array([[[[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]]], np.float32)
    layer.set_weights([kernel])
    expected = np.stack([x[..., c] * kernel[0, 0, c, m] for c in range(3) for m in range(2)], -1)
    np.testing.assert_array_equal(layer(x), expected)


def test_float64_layer_computes_in_float64_and_integer_inputs_are_cast():
    layer = layers.Conv1D(2, 2, dtype="float64")
    assert layer(np.ones((1, 4, 3))).dtype == np.float64
    assert layers.Conv1D(2, 2)(np.ones((1, 4, 3), np.int64)).dtype == np.float32


def test_build_config_records_the_input_shape_and_layers_are_not_built_at_init():
    layer = layers.Conv2D(2, 3)
    assert not layer.built and layer.get_build_config() is None
    layer(np.zeros((1, 5, 5, 3), np.float32))
    assert layer.get_build_config() == {"input_shape": [1, 5, 5, 3]}


# ----- 2. configs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_matches_what_keras_get_config_returns(case_id):
    case = CASES[case_id]
    assert as_json(make_layer(case).get_config()) == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_round_trips_through_from_config(case_id):
    layer = make_layer(CASES[case_id])
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_written_by_keras_loads_and_is_written_back_unchanged(case_id):
    case = CASES[case_id]
    layer = getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))
    assert as_json(layer.get_config()) == case["keras_config"]


def test_keras3_aliases_are_registered():
    from modelio.graph.registry import LAYER_CLASSES

    assert LAYER_CLASSES["Convolution2D"] is layers.Conv2D
    assert LAYER_CLASSES["SeparableConvolution2D"] is layers.SeparableConv2D
    assert LAYER_CLASSES["Convolution3DTranspose"] is layers.Conv3DTranspose


def test_conv_layers_survive_a_model_config_round_trip():
    x = modelio.Input((8, 8, 3))
    hidden = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    hidden = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(hidden)
    y = layers.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1)(hidden)
    model = modelio.Model(x, y)
    rebuilt = modelio.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    assert rebuilt.outputs[0].shape == (None, 8, 8, 2)


# ----- 3. Keras 2 (tf-keras) configs ----------------------------------------------------------------

@pytest.mark.parametrize("case_id", list(KERAS2_CASES))
def test_keras2_config_loads_and_computes_what_tf_keras_computed(case_id):
    case = KERAS2_CASES[case_id]
    with keras2_semantics():
        layer = getattr(layers, case["class_name"]).from_config(dict(case["config"]))
    x = np.array(case["input"], np.float32)
    layer(x)  # builds
    assert [weight.name for weight in layer.weights] == [
        name.split(":")[0].replace("depthwise_kernel", "kernel")
        if case["class_name"].startswith("Depthwise") else name.split(":")[0]
        for name in case["weight_names"]]
    layer.set_weights([np.array(w, np.float32) for w in case["weights"]])
    np.testing.assert_allclose(layer(x), np.array(case["output"], np.float32), **TOLERANCE)
    config = layer.get_config()
    assert "groups" not in config or case["class_name"] in ("Conv1D", "Conv2D", "Conv3D")
    assert "kernel_initializer" not in config or "Separable" not in case["class_name"]


def test_teachable_machine_depthwise_conv2d_with_groups_1_loads_without_keras2_mode():
    config = dict(KERAS2_CASES["depthwise_conv2d_teachable_machine"]["config"])
    assert config["groups"] == 1
    layer = layers.DepthwiseConv2D.from_config(config)
    assert layer.trainable is False
    assert layer.get_config()["kernel_size"] == (3, 3)


@pytest.mark.parametrize("class_name", ["DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"])
def test_keras2_groups_other_than_1_is_refused_on_layers_without_groups(class_name):
    config = next(dict(case["config"]) for case in KERAS2_CASES.values()
                  if case["class_name"] == class_name)
    config["groups"] = 2
    with pytest.raises(modelio.UnsupportedError, match="groups"):
        getattr(layers, class_name).from_config(config)


def test_separable_conv1d_causal_padding_is_keras2_only():
    config = dict(KERAS2_CASES["separable_conv1d_causal"]["config"])
    with pytest.raises(modelio.ConfigError, match="padding"):
        layers.SeparableConv1D.from_config(dict(config))
    with keras2_semantics():
        assert layers.SeparableConv1D.from_config(config).padding == "causal"


def test_keras2_conv3d_transpose_config_without_dilation_rate_loads_with_dilation_1():
    config = KERAS2_CASES["conv3d_transpose_valid_stride2"]["config"]
    assert "dilation_rate" not in config
    assert layers.Conv3DTranspose.from_config(dict(config)).dilation_rate == (1, 1, 1)


# ----- 4. bad arguments and shapes ------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("Conv2D", {"filters": 2, "kernel_size": 0}, "kernel_size"),
    ("Conv2D", {"filters": 2, "kernel_size": [3, 0]}, "kernel_size"),
    ("Conv2D", {"filters": 2, "kernel_size": [3, 3, 3]}, "kernel_size"),
    ("Conv2D", {"filters": 2, "kernel_size": "3"}, "kernel_size"),
    ("Conv2D", {"filters": 2, "kernel_size": 3.0}, "kernel_size"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "full"}, "padding"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": [1, 1]}, "padding"),
    ("Conv3D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding"),
    ("DepthwiseConv1D", {"kernel_size": 3, "padding": "causal"}, "padding"),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding"),
    ("Conv2D", {"filters": 3, "kernel_size": 3, "groups": 2}, "groups"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "groups": 0}, "groups"),
    ("Conv2D", {"filters": 0, "kernel_size": 3}, "filters"),
    ("Conv2D", {"filters": "8", "kernel_size": 3}, "filters"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 0}, "strides"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": -1}, "dilation_rate"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "data_format": "NHWC"}, "data_format"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "use_bias": "yes"}, "use_bias"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "kernel_initializer": 5}, "kernel_initializer"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "activation": 3}, "activation"),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 0}, "depth_multiplier"),
    ("SeparableConv2D", {"filters": 2, "kernel_size": 3, "depth_multiplier": 1.5},
     "depth_multiplier"),
    ("SeparableConv2D", {"filters": 2, "kernel_size": 3, "pointwise_regularizer": 0.1},
     "pointwise_regularizer"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2},
     "output_padding"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "output_padding": -1}, "output_padding"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
     "dilation_rate"),
]


@pytest.mark.parametrize("class_name,kwargs,argument", BAD_ARGUMENTS,
                         ids=[f"{c}-{a}-{i}" for i, (c, _, a) in enumerate(BAD_ARGUMENTS)])
def test_bad_argument_raises_config_error_naming_layer_and_argument(class_name, kwargs, argument):
    with pytest.raises(modelio.ConfigError) as info:
        getattr(layers, class_name)(name="suspect_layer", **kwargs)
    assert "suspect_layer" in str(info.value)
    assert argument in str(info.value)


REQUIRED = {"DepthwiseConv1D": {"kernel_size": 3}, "DepthwiseConv2D": {"kernel_size": 3}}


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_unknown_constructor_argument_raises_unsupported_error_naming_it(class_name):
    kwargs = REQUIRED.get(class_name, {"filters": 2, "kernel_size": 3})
    with pytest.raises(modelio.UnsupportedError, match="frobnicate"):
        getattr(layers, class_name)(name="suspect_layer", frobnicate=1, **kwargs)


@pytest.mark.parametrize("class_name", [name for name in CLASS_NAMES
                                        if name not in ("Conv1D", "Conv2D", "Conv3D")])
def test_groups_is_not_a_constructor_argument_of_layers_keras3_gives_no_groups(class_name):
    kwargs = REQUIRED.get(class_name, {"filters": 2, "kernel_size": 3})
    with pytest.raises(modelio.UnsupportedError, match="groups"):
        getattr(layers, class_name)(name="suspect_layer", groups=1, **kwargs)


def test_lora_rank_is_refused_naming_the_argument():
    with pytest.raises(modelio.UnsupportedError, match="lora_rank"):
        layers.Conv2D(2, 3, lora_rank=4, name="suspect_layer")


def test_input_channels_not_divisible_by_groups_is_refused_at_build():
    layer = layers.Conv2D(4, 3, groups=2, name="suspect_layer")
    with pytest.raises(modelio.ConfigError, match="suspect_layer.*groups"):
        layer(modelio.Input((6, 6, 3)))


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(2, 3), (5, 5)),              # rank 3 input for a 2D conv
    (lambda: layers.Conv1D(2, 3), (5, 5, 5)),           # rank 4 input for a 1D conv
    (lambda: layers.Conv2D(2, 3), (2, 5, 3)),           # 2 rows < kernel 3, valid padding
    (lambda: layers.Conv2D(2, 3, dilation_rate=3), (6, 9, 3)),  # dilated kernel 7 > 6 rows
    (lambda: layers.DepthwiseConv2D(3), (5, 5, None)),  # unknown channels
])
def test_impossible_input_shapes_are_refused_with_a_modelio_error(make, shape):
    with pytest.raises((modelio.ConfigError, modelio.GraphError)):
        make()(modelio.Input(shape))


def test_calling_a_built_layer_with_other_channel_counts_is_refused():
    layer = layers.Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(modelio.ConfigError, match="3 channels"):
        layer(np.zeros((1, 5, 5, 4), np.float32))


# ----- 5. kernels against direct loops ----------------------------------------------------------------

def loop_conv(x, kernel, strides, pads, dilation, groups):
    rank = x.ndim - 2
    padded = np.pad(x, [(0, 0), *pads, (0, 0)])
    window = kernel.shape[:rank]
    group_in, filters = kernel.shape[-2:]
    group_out = filters // groups
    sizes = [(padded.shape[1 + i] - (window[i] - 1) * dilation[i] - 1) // strides[i] + 1
             for i in range(rank)]
    out = np.zeros((x.shape[0], *sizes, filters))
    for position in itertools.product(*map(range, sizes)):
        for offset in itertools.product(*map(range, window)):
            index = tuple(position[i] * strides[i] + offset[i] * dilation[i] for i in range(rank))
            pixel = padded[(slice(None), *index)]
            for g in range(groups):
                out[(slice(None), *position, slice(g * group_out, (g + 1) * group_out))] += (
                    pixel[:, g * group_in:(g + 1) * group_in]
                    @ kernel[offset][:, g * group_out:(g + 1) * group_out])
    return out


def loop_conv_transpose(x, kernel, strides, dilation, crops):
    rank = x.ndim - 2
    window = kernel.shape[:rank]
    full = [(n - 1) * s + (k - 1) * d + 1 for n, k, s, d in zip(x.shape[1:-1], window, strides,
                                                                  dilation)]
    lead = [max(0, -start) for start, _ in crops]
    trail = [max(0, -end) for _, end in crops]
    out = np.zeros((x.shape[0], *(f + a + b for f, a, b in zip(full, lead, trail)),
                    kernel.shape[-2]))
    for position in itertools.product(*(range(n) for n in x.shape[1:-1])):
        for offset in itertools.product(*map(range, window)):
            index = tuple(lead[i] + position[i] * strides[i] + offset[i] * dilation[i]
                          for i in range(rank))
            out[(slice(None), *index)] += x[(slice(None), *position)] @ kernel[offset].T
    keep = tuple(slice(a + s, a + f - e) for a, f, (s, e) in zip(lead, full, crops))
    return out[(slice(None), *keep)]


def random_geometry(rng, rank):
    return {"size": [int(rng.integers(4, 8)) for _ in range(rank)],
            "window": tuple(int(rng.integers(1, 4)) for _ in range(rank)),
            "strides": [int(rng.integers(1, 3)) for _ in range(rank)],
            "dilation": [int(rng.integers(1, 3)) for _ in range(rank)],
            "pads": [(int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(rank)]}


@pytest.mark.parametrize("rank,seed", [(rank, seed) for rank in (1, 2, 3) for seed in range(4)])
def test_conv_kernel_matches_a_direct_loop_for_any_blocking_and_layout(rank, seed):
    rng = np.random.default_rng(seed)
    geometry = random_geometry(rng, rank)
    groups = 1 + seed % 2
    x = rng.standard_normal((3, *geometry["size"], 4))
    kernel = rng.standard_normal((*geometry["window"], 4 // groups, 6))
    expected = loop_conv(x, kernel, geometry["strides"], geometry["pads"], geometry["dilation"],
                         groups)
    for block_bytes in (convolution.IM2COL_BLOCK_BYTES, 1, 1000):  # whole, per row, a few rows
        got = convolution.conv(x, kernel, geometry["strides"], geometry["pads"],
                               geometry["dilation"], groups, block_bytes=block_bytes)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    first = convolution.conv(np.moveaxis(x, -1, 1), kernel, geometry["strides"], geometry["pads"],
                             geometry["dilation"], groups, channels_first=True)
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("rank,seed", [(rank, seed) for rank in (1, 2, 3) for seed in range(3)])
def test_depthwise_kernel_matches_a_grouped_convolution_for_any_blocking_and_layout(rank, seed):
    rng = np.random.default_rng(seed)
    geometry = random_geometry(rng, rank)
    x = rng.standard_normal((2, *geometry["size"], 3))
    kernel = rng.standard_normal((*geometry["window"], 3, 2))
    # A depthwise conv is a conv with one group per channel, filters ordered c * mult + m.
    expected = loop_conv(x, kernel.reshape(*geometry["window"], 1, 6), geometry["strides"],
                         geometry["pads"], geometry["dilation"], groups=3)
    for block_bytes in (convolution.DEPTHWISE_BLOCK_BYTES, 1, 500):
        got = convolution.depthwise_conv(x, kernel, geometry["strides"], geometry["pads"],
                                         geometry["dilation"], block_bytes=block_bytes)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    first = convolution.depthwise_conv(np.moveaxis(x, -1, 1), kernel, geometry["strides"],
                                       geometry["pads"], geometry["dilation"], channels_first=True)
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("rank,seed", [(rank, seed) for rank in (1, 2, 3) for seed in range(3)])
def test_conv_transpose_kernel_matches_a_direct_scatter_loop(rank, seed):
    rng = np.random.default_rng(seed)
    window = tuple(int(rng.integers(1, 5)) for _ in range(rank))
    strides = [int(rng.integers(1, 4)) for _ in range(rank)]
    dilation = [1 if s > 1 else int(rng.integers(1, 3)) for s in strides]
    padding = ["valid", "same"][seed % 2]
    output_padding = [None if seed < 2 else int(rng.integers(0, s)) for s in strides]
    crops = [convolution.conv_transpose_crops(k, s, d, padding, p)
             for k, s, d, p in zip(window, strides, dilation, output_padding)]
    x = rng.standard_normal((2, *(int(rng.integers(2, 5)) for _ in range(rank)), 3))
    kernel = rng.standard_normal((*window, 2, 3))
    expected = loop_conv_transpose(x, kernel, strides, dilation, crops)
    for block_bytes in (convolution.IM2COL_BLOCK_BYTES, 1):  # all samples at once, one by one
        got = convolution.conv_transpose(x, kernel, strides, dilation, crops,
                                         block_bytes=block_bytes)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    first = convolution.conv_transpose(np.moveaxis(x, -1, 1), kernel, strides, dilation, crops,
                                       channels_first=True)
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), expected, rtol=1e-10, atol=1e-10)
    assert got.shape[1:-1] == tuple(
        convolution.conv_transpose_output_length(n, k, s, d, padding, p)
        for n, k, s, d, p in zip(x.shape[1:-1], window, strides, dilation, output_padding))


@pytest.mark.parametrize("size,kernel,stride,dilation", [
    (7, 3, 2, 1), (8, 3, 2, 1), (6, 4, 1, 1), (7, 2, 3, 1), (5, 3, 1, 2), (3, 5, 1, 1),
    (1, 3, 2, 1)])
def test_same_padding_is_tensorflows_asymmetric_rule(size, kernel, stride, dilation):
    before, after = convolution.padding_amounts(size, kernel, stride, dilation, "same")
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    assert (before, after) == (total // 2, total - total // 2)
    assert convolution.conv_output_length(size, kernel, stride, dilation, "same") == out
    assert convolution.padding_amounts(size, kernel, stride, dilation, "causal") == (
        (kernel - 1) * dilation, 0)


def test_a_dilated_kernel_wider_than_any_real_one_is_refused_from_its_config():
    with pytest.raises(modelio.ConfigError, match="dilated by"):
        modelio.layers.Conv2D(4, 3, dilation_rate=2147483647, padding="same")
