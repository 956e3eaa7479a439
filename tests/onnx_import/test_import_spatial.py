"""ONNX import of Conv, ConvTranspose, pooling, normalization, Pad, Resize and LRN: every case is a
one-node ONNX graph (weights as initializers) run by onnxruntime and by the imported modelio
model; the layer classes the importer chose are checked, and the modelio-only layers round-trip
through JSON and export back to ONNX."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import modelio
from modelio import ops as onnx_spatial
from modelio.errors import FormatError, ModelioError, UnsupportedError
from modelio.onnx import (
    families,  # noqa: F401 - registers the converters
)
from modelio.onnx.importer import import_onnx

RNG = np.random.default_rng(7)


def one_node_model(op_type, x_shape, initializers=(), attributes=None, opset=17, outputs=1,
                   batch=None, output_types=None):
    """A graph `y = op_type(x, *initializers)`; `batch=None` leaves the batch dimension free."""
    names = ["x"] + [f"w{index}" for index in range(len(initializers))]
    inits = [numpy_helper.from_array(np.asarray(value), name)
             for name, value in zip(names[1:], initializers)]
    node = helper.make_node(op_type, names, [f"y{index}" for index in range(outputs)],
                            name="node", **(attributes or {}))
    declared = [batch if batch is not None else "N", *x_shape[1:]]
    graph = helper.make_graph(
        [node], "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT, declared)],
        [helper.make_tensor_value_info(f"y{index}", element_type, None)
         for index, element_type in enumerate(output_types or [TensorProto.FLOAT] * outputs)],
        inits)
    return make_model(graph, opset)


def make_model(graph, opset: int):
    """A ModelProto with the oldest IR version the opset allows (onnxruntime reads it)."""
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets,
                             ir_version=helper.find_min_ir_version_for(opsets))


def onnxruntime_outputs(model, x):
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def check_against_onnxruntime(model, x, atol=1e-5):
    """Import `model`, compare with onnxruntime; returns the modelio model."""
    expected = onnxruntime_outputs(model, x)
    imported = import_onnx(model)
    got = as_list(imported(x))
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        assert value.shape == reference.shape
        np.testing.assert_allclose(value, reference, rtol=1e-5, atol=atol)
    return imported


def layer_classes(model) -> list:
    return [type(layer).__name__ for layer in model.layers[1:]]


def random(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# ----- Conv -----------------------------------------------------------------------------------

CONV_CASES = {
    # name: (x shape, W shape, attributes, bias, expected layer classes)
    "conv2d_symmetric_pads_is_keras_same": (
        (2, 3, 8, 8), (4, 3, 3, 3), {"pads": [1, 1, 1, 1]}, True, ["Conv2D"]),
    "conv2d_asymmetric_pads_zero_pads_first": (
        (2, 3, 8, 7), (4, 3, 3, 2), {"pads": [0, 2, 1, 0], "strides": [2, 1]}, True,
        ["ZeroPadding2D", "Conv2D"]),
    "conv2d_same_upper_dynamic": (
        (2, 3, 9, 9), (4, 3, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, False,
        ["Conv2D"]),
    "conv2d_same_lower": (
        (2, 3, 8, 8), (4, 3, 2, 2), {"auto_pad": "SAME_LOWER"}, True,
        ["ZeroPadding2D", "Conv2D"]),
    "conv2d_valid_dilated": (
        (2, 3, 9, 9), (4, 3, 3, 3), {"auto_pad": "VALID", "dilations": [2, 2]}, True, ["Conv2D"]),
    "conv2d_groups": ((2, 4, 6, 6), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}, True,
                      ["Conv2D"]),
    "conv2d_depthwise_multiplier": (
        (2, 3, 6, 6), (6, 1, 3, 3), {"group": 3}, True, ["DepthwiseConv2D"]),
    "conv2d_strided_and_dilated": (
        (2, 3, 11, 11), (4, 3, 3, 3), {"strides": [2, 2], "dilations": [2, 2],
                                       "pads": [1, 0, 2, 1]}, True, ["OnnxConv"]),
    "conv1d_padded": ((2, 3, 10), (5, 3, 3), {"pads": [2, 1]}, True, ["ZeroPadding1D", "Conv1D"]),
    "conv1d_depthwise": ((2, 4, 10), (4, 1, 3), {"group": 4, "strides": [2]}, False,
                         ["DepthwiseConv1D"]),
    "conv3d": ((1, 2, 5, 6, 5), (3, 2, 3, 3, 3), {"pads": [1, 1, 1, 1, 1, 1]}, True, ["Conv3D"]),
    "conv3d_depthwise_uses_groups": ((1, 2, 5, 5, 5), (4, 1, 2, 2, 2), {"group": 2}, True,
                                     ["Conv3D"]),
}


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv_imports_as_channels_first_layers_and_matches_onnxruntime(name):
    x_shape, w_shape, attributes, use_bias, expected_layers = CONV_CASES[name]
    initializers = [random(*w_shape)] + ([random(w_shape[0])] if use_bias else [])
    model = one_node_model("Conv", x_shape, initializers, attributes)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == expected_layers
    assert all(getattr(layer, "data_format", "channels_first") == "channels_first"
               for layer in imported.layers[1:])


CONV_TRANSPOSE_CASES = {
    "basic": ((2, 3, 5, 5), (3, 4, 3, 3), {}, True, ["Conv2DTranspose"]),
    "strided_with_pads": ((2, 3, 5, 4), (3, 2, 3, 3), {"strides": [2, 2], "pads": [1, 0, 1, 1]},
                          True, ["Conv2DTranspose", "Cropping2D"]),
    "output_padding": ((1, 2, 4, 4), (2, 3, 3, 3), {"strides": [3, 2], "output_padding": [1, 1]},
                       False, ["Conv2DTranspose"]),
    "output_shape": ((1, 2, 3, 3), (2, 3, 3, 3), {"strides": [3, 2], "output_shape": [10, 8]},
                     True, ["OnnxConvTranspose"]),
    "same_upper": ((1, 2, 4, 4), (2, 3, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"},
                   True, ["Conv2DTranspose", "Cropping2D"]),
    "groups": ((2, 4, 4, 4), (4, 3, 2, 2), {"group": 2, "strides": [2, 2]}, True,
               ["OnnxConvTranspose"]),
    "one_dimensional": ((2, 3, 6), (3, 2, 3), {"strides": [2]}, True, ["Conv1DTranspose"]),
    "one_dimensional_pads": ((2, 3, 6), (3, 2, 3), {"strides": [2], "pads": [1, 0]}, True,
                             ["OnnxConvTranspose"]),
}


@pytest.mark.parametrize("name", sorted(CONV_TRANSPOSE_CASES))
def test_conv_transpose_matches_onnxruntime(name):
    x_shape, w_shape, attributes, use_bias, expected_layers = CONV_TRANSPOSE_CASES[name]
    group = attributes.get("group", 1)
    initializers = [random(*w_shape)] + ([random(w_shape[1] * group)] if use_bias else [])
    model = one_node_model("ConvTranspose", x_shape, initializers, attributes)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == expected_layers


# ----- pooling --------------------------------------------------------------------------------

POOL_CASES = {
    "max_valid": ("MaxPool", (2, 3, 8, 8), {"kernel_shape": [2, 2], "strides": [2, 2]},
                  ["MaxPooling2D"]),
    "max_default_strides_are_one": ("MaxPool", (2, 3, 6, 6), {"kernel_shape": [3, 3]},
                                    ["MaxPooling2D"]),
    "max_same_upper": ("MaxPool", (2, 3, 7, 7), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                 "auto_pad": "SAME_UPPER"}, ["MaxPooling2D"]),
    "max_pads_equal_to_keras_same": ("MaxPool", (2, 3, 7, 7), {
        "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, ["MaxPooling2D"]),
    "max_symmetric_pads": ("MaxPool", (2, 3, 8, 8), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                     "pads": [1, 1, 1, 1]}, ["OnnxPool"]),
    "max_ceil_mode": ("MaxPool", (2, 3, 7, 7), {"kernel_shape": [2, 2], "strides": [2, 2],
                                                "ceil_mode": 1}, ["OnnxPool"]),
    "max_ceil_mode_no_change": ("MaxPool", (2, 3, 8, 8), {"kernel_shape": [2, 2],
                                                          "strides": [2, 2], "ceil_mode": 1},
                                ["MaxPooling2D"]),
    "max_dilated": ("MaxPool", (1, 2, 9, 9), {"kernel_shape": [2, 2], "dilations": [2, 2],
                                              "pads": [1, 0, 0, 1]}, ["OnnxPool"]),
    "max_1d": ("MaxPool", (2, 3, 9), {"kernel_shape": [3], "strides": [2]}, ["MaxPooling1D"]),
    "max_3d_pads": ("MaxPool", (1, 2, 5, 5, 5), {"kernel_shape": [2, 2, 2], "pads": [1] * 6},
                    ["OnnxPool"]),
    "average_valid": ("AveragePool", (2, 3, 8, 8), {"kernel_shape": [3, 3], "strides": [2, 2]},
                      ["AveragePooling2D"]),
    "average_same_excluding_pads": ("AveragePool", (2, 3, 7, 7), {
        "kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"}, ["AveragePooling2D"]),
    "average_pads_counted": ("AveragePool", (2, 3, 7, 7), {
        "kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}, ["OnnxPool"]),
    "average_pads_not_counted": ("AveragePool", (2, 3, 7, 7), {
        "kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 1]}, ["OnnxPool"]),
    "average_ceil_mode_counted_pads": ("AveragePool", (1, 2, 6, 6), {
        "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1,
        "count_include_pad": 1}, ["OnnxPool"]),
    "average_1d": ("AveragePool", (2, 3, 9), {"kernel_shape": [2]}, ["AveragePooling1D"]),
}


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pooling_matches_onnxruntime(name):
    op_type, x_shape, attributes, expected_layers = POOL_CASES[name]
    model = one_node_model(op_type, x_shape, attributes=attributes)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == expected_layers


@pytest.mark.parametrize("storage_order", [0, 1])
def test_max_pool_indices_output_matches_onnxruntime(storage_order):
    model = one_node_model("MaxPool", (2, 3, 7, 6), attributes={
        "kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 1, 1], "ceil_mode": 1,
        "storage_order": storage_order}, outputs=2,
        output_types=[TensorProto.FLOAT, TensorProto.INT64])
    x = random(2, 3, 7, 6)
    expected = onnxruntime_outputs(model, x)
    imported = import_onnx(model)
    values, indices = imported(x)
    np.testing.assert_array_equal(values, expected[0])
    assert indices.dtype == np.int64 and imported.outputs[1].dtype == "int64"
    np.testing.assert_array_equal(indices, expected[1])


@pytest.mark.parametrize("op_type, layer", [("GlobalAveragePool", "GlobalAveragePooling"),
                                            ("GlobalMaxPool", "GlobalMaxPooling")])
@pytest.mark.parametrize("x_shape", [(2, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 4)])
def test_global_pooling_keeps_dims_and_matches_onnxruntime(op_type, layer, x_shape):
    model = one_node_model(op_type, x_shape)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == [f"{layer}{len(x_shape) - 2}D"]
    assert imported.outputs[0].shape == (None, 3, *[1] * (len(x_shape) - 2))


# ----- normalization --------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [7, 9, 15])
@pytest.mark.parametrize("x_shape", [(3, 4), (2, 4, 5), (2, 4, 3, 3)])
def test_batch_normalization_uses_keras_layer_and_matches_onnxruntime(opset, x_shape):
    channels = x_shape[1]
    initializers = [random(channels), random(channels), random(channels),
                    RNG.uniform(0.5, 2, channels).astype(np.float32)]
    model = one_node_model("BatchNormalization", x_shape, initializers, {"epsilon": 1e-3},
                           opset=opset)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == ["BatchNormalization"]
    assert imported.layers[1].axis in (1, [1])


@pytest.mark.parametrize("axis, with_bias, expected", [
    (-1, True, "LayerNormalization"), (-2, False, "LayerNormalization"),
    (1, True, "LayerNormalization"), (0, True, "OnnxLayerNormalization")])
def test_layer_normalization_matches_onnxruntime(axis, with_bias, expected):
    x_shape = (2, 3, 4, 5)
    normalized = x_shape[axis:]
    initializers = [random(*normalized)] + ([random(*normalized)] if with_bias else [])
    model = one_node_model("LayerNormalization", x_shape, initializers,
                           {"axis": axis, "epsilon": 1e-4}, batch=2)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == [expected]


def test_layer_normalization_statistics_outputs_match_onnxruntime():
    x_shape = (2, 3, 4)
    model = one_node_model("LayerNormalization", x_shape, [random(4), random(4)], {"axis": -1},
                           outputs=3)
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == ["OnnxLayerNormalization"]


def test_instance_normalization_is_group_normalization():
    x_shape = (2, 3, 5, 4)
    model = one_node_model("InstanceNormalization", x_shape, [random(3), random(3)],
                           {"epsilon": 1e-3})
    imported = check_against_onnxruntime(model, random(*x_shape), atol=1e-4)
    assert layer_classes(imported) == ["GroupNormalization"]


def test_lrn_matches_onnxruntime():
    model = one_node_model("LRN", (2, 7, 3, 3), attributes={"size": 3, "alpha": 0.01,
                                                           "beta": 0.6, "bias": 1.5})
    imported = check_against_onnxruntime(model, random(2, 7, 3, 3))
    assert layer_classes(imported) == ["OnnxLRN"]


def test_lrn_with_even_size_matches_the_onnx_reference():
    """onnxruntime only takes odd sizes; ONNX's reference evaluator defines the even ones. (The
    reference loops its channel index over x.shape[0], so the batch is made as large as the
    channel count for it to fill every channel.)"""
    from onnx.reference import ReferenceEvaluator

    model = one_node_model("LRN", (6, 6, 3, 2), attributes={"size": 4, "alpha": 0.02})
    x = random(6, 6, 3, 2)
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(as_list(import_onnx(model)(x))[0], expected, rtol=1e-5, atol=1e-6)


# ----- Pad ------------------------------------------------------------------------------------

def pad_model(x_shape, pads, mode="constant", value=None, opset=17):
    if opset < 11:
        attributes = {"pads": pads, "mode": mode}
        if value is not None:
            attributes["value"] = value
        return one_node_model("Pad", x_shape, attributes=attributes, opset=opset)
    initializers = [np.asarray(pads, np.int64)]
    if value is not None:
        initializers.append(np.asarray(value, np.float32))
    return one_node_model("Pad", x_shape, initializers, {"mode": mode}, opset=opset)


@pytest.mark.parametrize("x_shape, pads, mode, value, opset, expected", [
    ((2, 3, 4, 4), [0, 0, 1, 2, 0, 0, 2, 1], "constant", None, 17, "ZeroPadding2D"),
    ((2, 3, 4, 4), [0, 0, 1, 2, 0, 0, 2, 1], "constant", None, 7, "ZeroPadding2D"),
    ((2, 3, 5), [0, 0, 1, 0, 0, 2], "constant", None, 13, "ZeroPadding1D"),
    ((2, 3, 4, 4), [0, 0, 1, 1, 0, 0, 1, 1], "constant", 1.5, 17, "OnnxPad"),
    ((2, 3, 4, 4), [0, 1, 1, 0, 0, 0, 1, 1], "constant", None, 17, "OnnxPad"),
    ((2, 3, 4, 4), [0, 0, 2, 1, 0, 0, 1, 2], "reflect", None, 17, "OnnxPad"),
    ((2, 3, 4, 4), [0, 0, 2, 1, 0, 0, 1, 2], "edge", None, 17, "OnnxPad"),
    ((2, 3, 4, 4), [0, 0, 2, 1, 0, 0, 1, 2], "reflect", None, 7, "OnnxPad"),
    ((2, 3, 4, 4), [0, 0, -1, 2, 0, 0, 1, -2], "constant", None, 17, "OnnxPad"),
])
def test_pad_matches_onnxruntime(x_shape, pads, mode, value, opset, expected):
    imported = check_against_onnxruntime(pad_model(x_shape, pads, mode, value, opset),
                                         random(*x_shape))
    assert layer_classes(imported) == [expected]


# ----- Resize / Upsample ----------------------------------------------------------------------

def resize_model(x_shape, scales=None, sizes=None, opset=17, roi=(), **attributes):
    roi = np.asarray(roi, np.float32)
    scales_array = np.asarray(scales if scales is not None else [], np.float32)
    initializers = [roi, scales_array]
    if sizes is not None:
        initializers.append(np.asarray(sizes, np.int64))
    return one_node_model("Resize", x_shape, initializers, attributes, opset=opset, batch=x_shape[0])


@pytest.mark.parametrize("name, model, expected", [
    ("nearest_integer_scales_is_upsampling",
     resize_model((1, 2, 3, 4), [1, 1, 2, 3], mode="nearest"), "UpSampling2D"),
    ("nearest_asymmetric_floor",
     resize_model((1, 2, 3, 4), [1, 1, 2, 2], coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor"), "UpSampling2D"),
    ("nearest_fractional_scales",
     resize_model((1, 2, 4, 5), [1, 1, 1.5, 0.6], mode="nearest"), "OnnxResize"),
    ("nearest_round_prefer_ceil_asymmetric",
     resize_model((1, 2, 4, 4), [1, 1, 2, 2], coordinate_transformation_mode="asymmetric",
                  nearest_mode="round_prefer_ceil"), "OnnxResize"),
    ("linear_half_pixel",
     resize_model((1, 2, 4, 4), [1, 1, 2, 1.5], mode="linear"), "OnnxResize"),
    ("linear_align_corners_sizes",
     resize_model((1, 2, 4, 4), sizes=[1, 2, 7, 3], mode="linear",
                  coordinate_transformation_mode="align_corners"), "OnnxResize"),
    ("linear_pytorch_half_pixel_downsample",
     resize_model((1, 2, 6, 6), [1, 1, 0.5, 0.75], mode="linear",
                  coordinate_transformation_mode="pytorch_half_pixel"), "OnnxResize"),
    ("linear_asymmetric_3d",
     resize_model((1, 2, 3, 3, 3), [1, 1, 2, 2, 1], mode="linear",
                  coordinate_transformation_mode="asymmetric"), "OnnxResize"),
    ("cubic_half_pixel",
     resize_model((1, 2, 4, 4), [1, 1, 2, 1.5], mode="cubic"), "OnnxResize"),
    ("cubic_exclude_outside_downsample",
     resize_model((1, 2, 8, 8), [1, 1, 0.6, 0.8], mode="cubic", cubic_coeff_a=-0.5,
                  exclude_outside=1), "OnnxResize"),
    ("cubic_align_corners_sizes",
     resize_model((1, 2, 4, 5), sizes=[1, 2, 6, 9], mode="cubic",
                  coordinate_transformation_mode="align_corners"), "OnnxResize"),
    ("linear_antialias_downsample",
     resize_model((1, 2, 9, 9), [1, 1, 0.4, 0.7], mode="linear", antialias=1, opset=18),
     "OnnxResize"),
    ("tf_crop_and_resize_extrapolates",
     resize_model((1, 2, 5, 5), sizes=[1, 2, 4, 3], mode="linear",
                  roi=[0, 0, 0.3, -0.2, 1, 1, 0.9, 1.1], extrapolation_value=7.0,
                  coordinate_transformation_mode="tf_crop_and_resize"), "OnnxResize"),
    ("upsample_opset9",
     one_node_model("Upsample", (1, 2, 3, 3), [np.asarray([1, 1, 2, 2], np.float32)],
                    {"mode": "nearest"}, opset=9), "UpSampling2D"),
])
def test_resize_matches_onnxruntime(name, model, expected):
    x_shape = [dim.dim_value or 1 for dim in model.graph.input[0].type.tensor_type.shape.dim]
    imported = check_against_onnxruntime(model, random(*x_shape))
    assert layer_classes(imported) == [expected]


def test_resize_with_an_unknown_mode_is_refused_naming_the_node():
    model = resize_model((1, 2, 3, 3), [1, 1, 2, 2], mode="lanczos")
    with pytest.raises(UnsupportedError, match="node 'node' \\(Resize\\).*lanczos"):
        import_onnx(model)


def test_resize_with_absurd_scales_is_refused_before_allocating():
    model = resize_model((1, 2, 3, 3), [1, 1, 1e9, 1e9])
    with pytest.raises(FormatError, match="scales"):
        import_onnx(model)


# ----- round trips ------------------------------------------------------------------------------

ONNX_LAYER_MODELS = {
    "OnnxConv": lambda: one_node_model("Conv", (2, 3, 9, 9), [random(4, 3, 3, 3), random(4)],
                                       {"strides": [2, 2], "dilations": [2, 2],
                                        "pads": [1, 0, 2, 1]}),
    "OnnxConvTranspose": lambda: one_node_model("ConvTranspose", (2, 4, 4, 4),
                                                [random(4, 3, 2, 2), random(6)],
                                                {"group": 2, "strides": [2, 2],
                                                 "pads": [1, 0, 0, 1]}),
    "OnnxConvTranspose_output_shape": lambda: one_node_model(
        "ConvTranspose", (2, 2, 3, 3), [random(2, 3, 3, 3), random(3)],
        {"strides": [3, 2], "output_shape": [10, 8]}),
    "OnnxPool": lambda: one_node_model("AveragePool", (2, 3, 7, 7), attributes={
        "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1,
        "count_include_pad": 1}),
    "OnnxPool_indices": lambda: one_node_model("MaxPool", (2, 3, 7, 6), attributes={
        "kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 1], "storage_order": 1},
        outputs=2),
    "OnnxPad": lambda: pad_model((2, 3, 4, 4), [0, 0, 2, 1, 0, 0, 1, 2], "reflect"),
    "OnnxResize": lambda: resize_model((2, 2, 4, 4), [1, 1, 2, 1.5], mode="linear"),
    "OnnxResize_cubic": lambda: resize_model((2, 2, 4, 4), [1, 1, 2, 0.5], mode="cubic",
                                             exclude_outside=1, cubic_coeff_a=-0.5),
    "OnnxResize_sizes": lambda: resize_model((2, 2, 4, 4), sizes=[2, 2, 7, 3], mode="linear",
                                             coordinate_transformation_mode="align_corners"),
    "OnnxLRN": lambda: one_node_model("LRN", (2, 5, 3, 3), attributes={"size": 3}),
    "OnnxLayerNormalization": lambda: one_node_model(
        "LayerNormalization", (2, 3, 4), [random(4), random(4)], {"axis": -1}, outputs=3),
}


@pytest.mark.parametrize("name", sorted(ONNX_LAYER_MODELS))
def test_onnx_layer_config_round_trips_and_exports_back(name):
    model = ONNX_LAYER_MODELS[name]()
    x = random(2, *[dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim][1:])
    imported = import_onnx(model)
    expected = as_list(imported(x))
    rebuilt = modelio.model_from_json(imported.to_json())
    rebuilt.set_weights(imported.get_weights())
    assert rebuilt.layers[1].get_config() == imported.layers[1].get_config()
    for got, want in zip(as_list(rebuilt(x)), expected):
        np.testing.assert_array_equal(got, want)
    exported = modelio.export_onnx(imported)
    onnx.checker.check_model(exported, full_check=True)
    session = onnxruntime.InferenceSession(exported.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    for got, want in zip(session.run(None, {session.get_inputs()[0].name: x}), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_onnx_layers_save_as_keras_and_yaml_and_reload(tmp_path):
    model = ONNX_LAYER_MODELS["OnnxPool"]()
    imported = import_onnx(model)
    x = random(2, 3, 7, 7)
    for suffix in (".keras", ".yaml", ".h5"):
        path = tmp_path / f"model{suffix}"
        modelio.save_model(imported, path)
        np.testing.assert_array_equal(as_list(modelio.load_model(path)(x))[0], as_list(imported(x))[0])


# ----- malformed models -----------------------------------------------------------------------

def test_conv_with_run_time_weights_is_refused_naming_the_node():
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv_a")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 5, 5]),
                      helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = make_model(graph, 17)
    with pytest.raises(UnsupportedError, match="conv_a.*constant"):
        import_onnx(model)


@pytest.mark.parametrize("op_type, initializers, attributes, message", [
    ("Conv", [np.zeros((2, 3, 3), np.float32)], {}, "W must have rank 4"),
    ("Conv", [np.zeros((2, 5, 3, 3), np.float32)], {}, "does not fit"),
    ("Conv", [np.zeros((2, 3, 3, 3), np.float32), np.zeros(3, np.float32)], {}, "bias"),
    ("Conv", [np.zeros((2, 3, 3, 3), np.float32)], {"pads": [1, 1]}, "pads must have 4"),
    ("Conv", [np.zeros((2, 3, 3, 3), np.float32)], {"strides": [0, 1]}, "positive"),
    ("MaxPool", [], {}, "kernel_shape"),
    ("MaxPool", [], {"kernel_shape": [2, 2], "auto_pad": "SIDEWAYS"}, "auto_pad"),
    ("BatchNormalization", [np.ones(2, np.float32)] * 4, {}, "shape"),
    ("LRN", [], {}, "size"),
    ("Pad", [np.zeros(3, np.int64)], {}, "pads"),
])
def test_malformed_nodes_are_modelio_errors_naming_the_node(op_type, initializers, attributes,
                                                            message):
    model = one_node_model(op_type, (1, 3, 6, 6), initializers, attributes)
    with pytest.raises(ModelioError, match=f"node 'node' \\({op_type}\\).*{message}"):
        import_onnx(model)


def test_onnx_pool_layer_refuses_bad_configs():
    with pytest.raises(ModelioError, match="mode"):
        onnx_spatial.OnnxPool("median", [2, 2])
    with pytest.raises(ModelioError, match="pads"):
        onnx_spatial.OnnxPool("max", [2, 2], pads=[1, 1])


def test_integer_max_pool_keeps_its_dtype_and_matches_onnxruntime():
    node = helper.make_node("MaxPool", ["x"], ["y"], name="node", kernel_shape=[2, 2],
                            pads=[1, 1, 0, 0])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", 2, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, None)])
    model = make_model(graph, 17)
    x = RNG.integers(0, 255, (2, 2, 5, 5), dtype=np.uint8)
    (expected,) = onnxruntime_outputs(model, x)
    imported = import_onnx(model)
    got = as_list(imported(x))[0]
    assert got.dtype == np.uint8 and imported.outputs[0].dtype == "uint8"
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("model", [
    pad_model((1, 3, 4, 4), [0, 0, 0, 0, 0, 0, 10000, 10000]),
    pad_model((1, 3, 4, 4), [0, 0, 0, 0, 0, 0, 10000, 10000], "reflect"),
    resize_model((1, 3, 64, 64), [1, 1, 160, 160]),
    one_node_model("ConvTranspose", (1, 1, 4, 4), [np.zeros((1, 1, 2, 2), np.float32)],
                   {"strides": [6000, 6000]}),
    pad_model((1, 3, 4, 4), [0, 0, 0, 0, 0, 0, 10**6, 10**6]),
], ids=["zero_pad", "reflect_pad", "resize", "conv_transpose", "huge_pad"])
def test_outputs_of_absurd_size_are_refused_at_import(model):
    with pytest.raises(ModelioError, match="values per sample|too large"):
        import_onnx(model)
