"""ONNX export of the spatial layers (convolutions, batch normalization, pooling, padding) in
onnxruntime against modelio's numpy kernels and Keras's recorded outputs, and the transpose
clean-up that leaves channels-last CNNs free of layout Transposes between their convolutions."""


import numpy as np
import onnx
import onnxruntime
import pytest
from case_archive import load_case_archive, read_case_array
from fixture_models import (
    FIXTURES,
    fixture_arrays,
    load_fixture_model,
    predict_as_list,
    recorded_inputs,
    recorded_outputs,
)
from onnx import helper, numpy_helper
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.onnx.export import MAX_OPSET
from modelio.onnx.passes import cancel_transposes
from modelio.onnx.registry import LOWERINGS

OPSETS = [13, 17, MAX_OPSET]


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    weights = model.get_weights()
    model.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype(w.dtype) if "variance" in str(i)
                       else rng.normal(size=w.shape).astype(w.dtype) for i, w in
                       zip(_weight_kinds(model), weights)])


def _weight_kinds(model):
    return [weight.path for weight in model.weights]


def assert_exports_like_numpy(layer, input_shape, opset, seed=0, data_shape=None, dtype="float32"):
    """Export a one-layer model once and run batches of one and five through that graph."""
    x = modelio.Input(input_shape, name="x", dtype=dtype)
    model = modelio.Model(x, layer(x))
    randomize(model, seed)
    proto = modelio.export_onnx(model, opset=opset)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        data = np.random.default_rng(seed + batch).normal(
            size=(batch, *(data_shape or input_shape)))
        data = (np.abs(data) * 60).astype(dtype) if np.dtype(dtype).kind in "iu" else \
            data.astype(dtype)
        expected = model.predict(data)
        got = session.run(None, {"x": data})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    return proto


CONV_CASES = [
    (layers.Conv1D, dict(filters=4, kernel_size=3), (9, 3)),
    (layers.Conv1D, dict(filters=4, kernel_size=2, padding="causal", dilation_rate=2), (9, 3)),
    (layers.Conv1D, dict(filters=4, kernel_size=4, strides=2, padding="same"), (9, 3)),
    (layers.Conv1D, dict(filters=6, kernel_size=3, groups=3, padding="same"), (8, 6)),
    (layers.Conv1D, dict(filters=2, kernel_size=3, data_format="channels_first"), (3, 9)),
    (layers.Conv2D, dict(filters=5, kernel_size=3), (7, 6, 3)),
    (layers.Conv2D, dict(filters=5, kernel_size=(2, 4), strides=(2, 3), padding="same",
                         activation="relu"), (7, 8, 3)),
    (layers.Conv2D, dict(filters=4, kernel_size=3, dilation_rate=2, padding="same",
                         use_bias=False), (9, 9, 2)),
    (layers.Conv2D, dict(filters=4, kernel_size=2, groups=2, strides=2), (6, 6, 4)),
    (layers.Conv2D, dict(filters=3, kernel_size=3, padding="same", strides=2,
                         data_format="channels_first"), (2, 7, 7)),
    (layers.Conv3D, dict(filters=3, kernel_size=2, padding="same", strides=(1, 2, 2)), (4, 5, 5, 2)),
    (layers.DepthwiseConv1D, dict(kernel_size=3, depth_multiplier=2, padding="same"), (8, 3)),
    (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=3, strides=2, padding="same"),
     (7, 7, 2)),
    (layers.DepthwiseConv2D, dict(kernel_size=2, dilation_rate=2, data_format="channels_first"),
     (3, 6, 6)),
    (layers.SeparableConv1D, dict(filters=4, kernel_size=3, depth_multiplier=2), (9, 3)),
    (layers.SeparableConv2D, dict(filters=4, kernel_size=3, strides=2, padding="same",
                                  activation="tanh"), (8, 7, 3)),
    (layers.SeparableConv2D, dict(filters=2, kernel_size=2, data_format="channels_first"),
     (3, 5, 5)),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=3, strides=2), (5, 2)),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=2, strides=3), (5, 2)),
    (layers.Conv1DTranspose, dict(filters=2, kernel_size=4, strides=2, padding="same"), (5, 3)),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same"), (4, 5, 2)),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=(2, 3), strides=(2, 1), padding="same",
                                  output_padding=(1, 0)), (4, 5, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, dilation_rate=2,
                                  data_format="channels_first", activation="relu"), (3, 4, 4)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=3, output_padding=2),
     (3, 3, 2)),
    (layers.Conv3DTranspose, dict(filters=2, kernel_size=2, strides=2, padding="same"),
     (2, 3, 3, 2)),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("cls, config, shape", CONV_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CONV_CASES)])
def test_convolutions_match_numpy(cls, config, shape, opset):
    assert_exports_like_numpy(cls(**config), shape, opset)


OTHER_CASES = [
    (layers.BatchNormalization, dict(), (5, 5, 3)),
    (layers.BatchNormalization, dict(axis=1), (4, 5, 3)),
    (layers.BatchNormalization, dict(axis=[1, 3], center=False), (4, 2, 3)),
    (layers.BatchNormalization, dict(scale=False, epsilon=0.1), (6,)),
    (layers.MaxPooling1D, dict(pool_size=3, strides=2, padding="same"), (8, 3)),
    (layers.MaxPooling2D, dict(pool_size=2), (7, 6, 3)),
    (layers.MaxPooling2D, dict(pool_size=3, strides=2, padding="same",
                               data_format="channels_first"), (2, 7, 6)),
    (layers.MaxPooling3D, dict(pool_size=2, padding="same"), (3, 5, 4, 2)),
    (layers.AveragePooling1D, dict(pool_size=2), (7, 3)),
    (layers.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (7, 8, 3)),
    (layers.AveragePooling2D, dict(pool_size=(2, 3), padding="same",
                                   data_format="channels_first"), (2, 5, 7)),
    (layers.AveragePooling3D, dict(pool_size=2, strides=1, padding="same"), (3, 4, 5, 2)),
    (layers.GlobalAveragePooling1D, dict(), (6, 3)),
    (layers.GlobalMaxPooling1D, dict(keepdims=True), (6, 3)),
    (layers.GlobalAveragePooling2D, dict(data_format="channels_first"), (3, 4, 5)),
    (layers.GlobalMaxPooling2D, dict(), (4, 5, 3)),
    (layers.GlobalAveragePooling3D, dict(keepdims=True), (2, 3, 4, 2)),
    (layers.ZeroPadding1D, dict(padding=(1, 2)), (5, 3)),
    (layers.ZeroPadding2D, dict(padding=((1, 0), (2, 3))), (4, 4, 2)),
    (layers.ZeroPadding2D, dict(padding=1, data_format="channels_first"), (2, 4, 3)),
    (layers.ZeroPadding3D, dict(padding=(1, 0, 2)), (2, 3, 2, 2)),
    (layers.Cropping1D, dict(cropping=(1, 2)), (6, 3)),
    (layers.Cropping2D, dict(cropping=((1, 0), (2, 1))), (5, 6, 2)),
    (layers.Cropping2D, dict(cropping=1, data_format="channels_first"), (2, 4, 5)),
    (layers.Cropping3D, dict(cropping=((0, 1), (1, 1), (1, 0))), (3, 4, 3, 2)),
    (layers.UpSampling1D, dict(size=3), (4, 2)),
    (layers.UpSampling2D, dict(size=(2, 3)), (3, 2, 2)),
    (layers.UpSampling2D, dict(size=2, data_format="channels_first"), (2, 3, 2)),
    (layers.UpSampling3D, dict(size=(1, 2, 2)), (2, 2, 3, 2)),
    (layers.Rescaling, dict(scale=1 / 255, offset=-0.5), (4, 3)),
    (layers.Rescaling, dict(scale=[0.5, 2.0, 3.0], offset=[1.0, 0.0, -1.0]), (4, 3)),
    (layers.LayerNormalization, dict(), (4, 6)),
    (layers.LayerNormalization, dict(axis=[1, 2], epsilon=0.01), (3, 4, 5)),
    (layers.LayerNormalization, dict(axis=1, center=False), (3, 4, 5)),
    (layers.LayerNormalization, dict(axis=[-1, 1]), (3, 4, 5)),
    (layers.LayerNormalization, dict(rms_scaling=True), (3, 5)),
    (layers.UnitNormalization, dict(), (3, 5)),
    (layers.UnitNormalization, dict(axis=[1, 2]), (3, 4, 2)),
    (layers.GroupNormalization, dict(groups=2), (5, 4, 6)),
    (layers.GroupNormalization, dict(groups=-1, axis=1, center=False), (4, 3, 5)),
    (layers.GroupNormalization, dict(groups=3, epsilon=0.1), (6,)),
    (layers.RMSNormalization, dict(), (4, 6)),
    (layers.RMSNormalization, dict(axis=[2, 3], epsilon=0.1), (3, 4, 5)),
    (layers.RMSNormalization, dict(axis=-1), (2, 3, 4, 5)),
    (layers.UpSampling2D, dict(size=(2, 3), interpolation="bilinear"), (3, 4, 2)),
    (layers.UpSampling2D, dict(size=(3, 1), interpolation="bilinear",
                               data_format="channels_first"), (2, 3, 5)),
    (layers.UpSampling2D, dict(size=1, interpolation="bilinear"), (3, 4, 2)),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("cls, config, shape", OTHER_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(OTHER_CASES)])
def test_normalization_pooling_and_padding_match_numpy(cls, config, shape, opset):
    assert_exports_like_numpy(cls(**config), shape, opset)


def _keras_cases(archive_name):
    buffers, document = load_case_archive(FIXTURES / "keras3" / f"{archive_name}.npz")
    return [(buffers, case) for case in document["cases"]]


def _spatial_class(case):
    cls = getattr(layers, case["class_name"], None)
    return cls is not None and type(cls).__name__ == "type" and \
        lowering_for_class(cls) is not None and cls.__module__.split(".")[-1] in SPATIAL_MODULES


SPATIAL_MODULES = {"conv", "pooling", "normalization", "reshaping", "preprocessing"}
KERAS_CASES = {case["id"]: (buffers, case)
               for name in ("conv_cases", "image_cases", "normalization_cases")
               for buffers, case in _keras_cases(name)}


def lowering_for_class(cls):
    return next((LOWERINGS[c] for c in cls.__mro__ if c in LOWERINGS), None)


def _case_array(buffers, case, key):
    return read_case_array(buffers, case, key)


@pytest.mark.parametrize("case_id", [case_id for case_id, (_, case) in KERAS_CASES.items()
                                     if _spatial_class(case) and not case.get("call")
                                     and not case.get("numpy_kwargs")
                                     and "output" in case["arrays"]
                                     and not {"input:1", "mask"} & set(case["arrays"])])
def test_keras_recorded_layer_cases_export_to_what_keras_computed(case_id):
    buffers, case = KERAS_CASES[case_id]
    x = _case_array(buffers, case, "input:0" if "input:0" in case["arrays"] else "input")
    tensor = modelio.Input(shape=x.shape[1:], dtype=str(x.dtype), name="x")
    layer = getattr(layers, case["class_name"])(**case["kwargs"])
    model = modelio.Model(tensor, layer(tensor))
    count = sum(key.startswith("weight:") for key in case["arrays"])
    if count:
        layer.set_weights([_case_array(buffers, case, f"weight:{index}") for index in range(count)])
    if layer.compute_dtype == "float16" and x.dtype == np.float32:
        # exported in float32 between float16 casts (tests/formats/test_dtype_policies.py):
        # within four float16 steps of Keras's float16 output
        got = run_onnx(modelio.export_onnx(model), {"x": x})[0]
        assert got.dtype == np.float16
        bound = 4 * 2.0**-10 * max(1.0, float(np.abs(model.predict(x)).max()))
        assert np.abs(got.astype(np.float64) - _case_array(buffers, case, "output")).max() <= bound
        return
    if x.dtype.kind == "f" and x.dtype != np.float32 or layer.compute_dtype != "float32":
        with pytest.raises(modelio.UnsupportedError, match="float"):
            modelio.export_onnx(model)
        return
    got = run_onnx(modelio.export_onnx(model), {"x": x})[0]
    keras_key = "expected" if "expected" in case["arrays"] else "output"  # tf-keras where Keras 3
    expected = _case_array(buffers, case, keras_key)
    if case_id in ROUNDED_TIE_CASES:
        # integer images resized bilinearly are rounded: an exact x.5 may go either way
        assert np.abs(got.astype(np.int64) - expected.astype(np.int64)).max() <= 1
        assert (got != expected).mean() < 0.05
        assert (got != model.predict(x)).mean() < 0.05
        return
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-4, atol=1e-4)


ROUNDED_TIE_CASES = {"resizing_uint8_bilinear"}


CATALOG = ["small_resnet", "small_mobilenet"]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("name", CATALOG)
def test_catalog_cnns_run_in_onnxruntime_like_numpy_and_keras(name, dialect, opset):
    arrays = fixture_arrays(dialect, name)
    model = load_fixture_model(dialect, name)
    inputs = recorded_inputs(arrays)
    onnx_outputs = run_onnx(modelio.export_onnx(model, opset=opset), inputs)
    for got, numpy_output, keras_output in zip(onnx_outputs, predict_as_list(model, inputs),
                                                recorded_outputs(arrays)):
        np.testing.assert_allclose(got, numpy_output, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(got, keras_output, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("name", CATALOG)
def test_catalog_cnns_take_batches_of_one_and_five(name, dialect):
    model = load_fixture_model(dialect, name)
    proto = modelio.export_onnx(model)
    (input_name,) = model.input_names
    shape = model.inputs[0].shape[1:]
    rng = np.random.default_rng(3)
    for batch in (1, 5):
        data = rng.normal(size=(batch, *shape)).astype(np.float32)
        got = run_onnx(proto, {input_name: data})
        for onnx_output, numpy_output in zip(got, predict_as_list(model, {input_name: data})):
            assert onnx_output.shape[0] == batch
            np.testing.assert_allclose(onnx_output, numpy_output, rtol=1e-4, atol=1e-4)


def transposes_between_convolutions(proto) -> int:
    ops = [node.op_type for node in proto.graph.node]
    first, last = ops.index("Conv"), len(ops) - 1 - ops[::-1].index("Conv")
    return ops[first:last].count("Transpose")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("name", CATALOG)
def test_channels_last_cnns_keep_no_layout_transposes_between_convolutions(name, dialect, opset):
    proto = modelio.export_onnx(load_fixture_model(dialect, name), opset=opset)
    assert transposes_between_convolutions(proto) == 0
    assert [node.op_type for node in proto.graph.node].count("Transpose") <= 2


@pytest.mark.parametrize("opset", OPSETS)
def test_a_channels_last_chain_of_spatial_layers_cancels_its_layout_transposes(opset):
    x = modelio.Input((10, 10, 3), name="x")
    y = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = layers.BatchNormalization()(layers.ZeroPadding2D(1)(y))
    y = layers.MaxPooling2D(2)(layers.LeakyReLU(0.2)(y))
    skip = layers.Cropping2D(((1, 0), (0, 1)))(layers.UpSampling2D(2)(y))
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(skip)
    y = layers.Add()([y, skip])
    y = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(layers.AveragePooling2D(2)(y))
    y = layers.SeparableConv2D(3, 3)(layers.Activation("sigmoid")(y))
    y = layers.Conv2D(2, 1)(layers.GlobalMaxPooling2D(keepdims=True)(y))
    model = modelio.Model(x, layers.Flatten()(y))
    randomize(model)
    data = np.random.default_rng(5).normal(size=(2, 10, 10, 3)).astype(np.float32)
    proto = modelio.export_onnx(model, opset=opset)
    np.testing.assert_allclose(run_onnx(proto, {"x": data})[0], model.predict(data), rtol=1e-4,
                               atol=1e-4)
    assert transposes_between_convolutions(proto) == 0


@pytest.mark.parametrize("opset", OPSETS)
def test_resizing_and_cropping_between_convolutions_keep_no_layout_transposes(opset):
    x = modelio.Input((9, 9, 3), name="x")
    y = layers.Conv2D(4, 3, padding="same")(x)
    y = layers.Resizing(7, 8, interpolation="nearest")(y)
    y = layers.Resizing(11, 5, pad_to_aspect_ratio=True)(layers.Conv2D(4, 1)(y))
    y = layers.CenterCrop(9, 4)(layers.Conv2D(4, 1)(y))
    y = layers.UpSampling2D(2, interpolation="bilinear")(layers.Conv2D(4, 1)(y))
    y = layers.Resizing(5, 5, antialias=True)(layers.Conv2D(4, 1)(y))
    model = modelio.Model(x, layers.Conv2D(2, 1)(layers.Normalization(mean=1.0, variance=2.0)(y)))
    randomize(model)
    data = np.random.default_rng(5).normal(size=(2, 9, 9, 3)).astype(np.float32)
    proto = modelio.export_onnx(model, opset=opset)
    np.testing.assert_allclose(run_onnx(proto, {"x": data})[0], model.predict(data), rtol=1e-4,
                               atol=1e-4)
    assert transposes_between_convolutions(proto) == 0


def test_integer_inputs_are_cast_and_other_float_widths_refused():
    x = modelio.Input((5, 5, 2), name="x", dtype="int32")
    model = modelio.Model(x, layers.Conv2D(2, 3)(x))
    data = np.arange(2 * 5 * 5 * 2, dtype=np.int32).reshape(2, 5, 5, 2) % 7
    np.testing.assert_allclose(run_onnx(modelio.export_onnx(model), {"x": data})[0],
                               model.predict(data), rtol=1e-4, atol=1e-4)
    wide = modelio.Input((5, 5, 2), name="x", dtype="float64")
    with pytest.raises(modelio.UnsupportedError, match="conv.*float64"):
        modelio.export_onnx(modelio.Model(wide, layers.Conv2D(2, 3, name="conv")(wide)))


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.UpSampling1D(2), (4, 2)),
    (lambda: layers.UpSampling2D(2, data_format="channels_first"), (2, 3, 4)),
    (lambda: layers.ZeroPadding2D(1), (3, 4, 2)),
    (lambda: layers.Cropping1D(1), (5, 2)),
    (lambda: layers.Cropping2D(1), (4, 5, 2)),
], ids=["up_sampling1d", "up_sampling2d", "zero_padding2d", "cropping1d", "cropping2d"])
def test_integer_images_through_reshaping_layers_keep_their_values(make, shape):
    # modelio's symbolic output says float32 (as Keras's does) while numpy keeps uint8: the
    # graph declares float32 and holds the same values
    x = modelio.Input(shape, name="x", dtype="uint8")
    model = modelio.Model(x, make()(x))
    data = np.random.default_rng(0).integers(0, 256, size=(5, *shape)).astype(np.uint8)
    got = run_onnx(modelio.export_onnx(model), {"x": data})[0]
    np.testing.assert_array_equal(got, model.predict(data))


def test_channels_first_convolutions_need_no_transposes():
    x = modelio.Input((3, 8, 8), name="x")
    y = layers.Conv2D(4, 3, padding="same", data_format="channels_first")(x)
    y = layers.MaxPooling2D(2, data_format="channels_first")(layers.BatchNormalization(axis=1)(y))
    proto = modelio.export_onnx(modelio.Model(x, y))
    assert "Transpose" not in [node.op_type for node in proto.graph.node]


@pytest.mark.parametrize("layer", [
    lambda: layers.Conv2D(2, 3, strides=2, padding="same"),
    lambda: layers.MaxPooling2D(3, strides=2, padding="same"),
    lambda: layers.AveragePooling2D(3, strides=2, padding="same"),
], ids=["conv", "max_pool", "average_pool"])
def test_strided_same_padding_on_unknown_spatial_sizes_exports_as_same_upper(layer):
    # Keras's "same" puts the odd padding pixel last: ONNX's auto_pad SAME_UPPER, which works
    # on sizes known only at run time (odd sizes: the padding is uneven)
    proto = assert_exports_like_numpy(layer(), (None, None, 3), 17, data_shape=(7, 5, 3))
    assert proto.graph.input[0].type.tensor_type.shape.dim[1].dim_param == ""
    assert any(attribute.name == "auto_pad" and attribute.s == b"SAME_UPPER"
               for node in proto.graph.node for attribute in node.attribute)


@pytest.mark.parametrize("opset", OPSETS)
def test_bilinear_upsampling_of_images_whose_size_is_known_only_at_run_time(opset):
    assert_exports_like_numpy(layers.UpSampling2D((2, 3), interpolation="bilinear"),
                              (None, None, 2), opset, data_shape=(3, 5, 2))


@pytest.mark.parametrize("opset", OPSETS)
def test_bilinear_upsampling_of_uint8_images_rounds_back_like_numpy(opset):
    x = modelio.Input((3, 4, 2), name="x", dtype="uint8")
    model = modelio.Model(x, layers.UpSampling2D(2, interpolation="bilinear")(x))
    session = onnxruntime.InferenceSession(modelio.export_onnx(model, opset=opset)
                                           .SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        data = np.random.default_rng(batch).integers(0, 256, size=(batch, 3, 4, 2)).astype(np.uint8)
        difference = np.abs(session.run(None, {"x": data})[0] - model.predict(data).astype(float))
        assert difference.max() <= 1 and (difference > 0).mean() < 0.05  # only x.5 ties differ


# ----- glu and sparsemax ---------------------------------------------------------------------------

KERAS_ACTIVATIONS = np.load(FIXTURES / "keras3" / "activations.npz")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ["glu", "sparsemax"])
def test_glu_and_sparsemax_activation_layers_export_to_what_keras_computed(name, opset):
    data = KERAS_ACTIVATIONS["input"]
    x = modelio.Input(data.shape[1:], name="x")
    model = modelio.Model(x, layers.Activation(name)(x))
    got = run_onnx(modelio.export_onnx(model, opset=opset), {"x": data})[0]
    np.testing.assert_allclose(got, KERAS_ACTIVATIONS[name], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, model.predict(data), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ["glu", "sparsemax"])
@pytest.mark.parametrize("make, shape", [
    (lambda name: layers.Dense(8, activation=name), (5,)),
    (lambda name: layers.Dense(6, activation=name), (3, 4)),
    (lambda name: layers.Activation(name), (None,)),
], ids=["dense", "dense_rank3", "activation_unknown_width"])
def test_glu_and_sparsemax_match_numpy(make, shape, name, opset):
    data_shape = tuple(10 if size is None else size for size in shape)
    assert_exports_like_numpy(make(name), shape, opset, data_shape=data_shape)


def test_sparsemax_cases_keep_several_entries_in_the_support():
    x = modelio.Input((6,), name="x")
    model = modelio.Model(x, layers.Activation("sparsemax")(x))
    data = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32) * 0.3
    got = run_onnx(modelio.export_onnx(model), {"x": data})[0]
    assert ((got > 0).sum(axis=-1) > 1).any()
    np.testing.assert_allclose(got, model.predict(data), rtol=1e-5, atol=1e-5)


def test_glu_declares_the_halved_width_keras_computes():
    # Keras 3.15.1 (torch backend): Dense(8, activation="glu") has symbolic shape (None, 8) but
    # computes (batch, 4); modelio declares what it computes.
    x = modelio.Input((5,), name="x")
    y = layers.Dense(8, activation="glu")(x)
    assert y.shape == (None, 4)
    assert layers.Dense(3)(y).shape == (None, 3)
    assert layers.Activation("glu")(modelio.Input((3, 6))).shape == (None, 3, 3)
    proto = modelio.export_onnx(modelio.Model(x, y))
    assert proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 4


def test_glu_on_an_odd_width_is_a_config_error_naming_the_layer():
    with pytest.raises(modelio.ConfigError, match="dense7.*glu.*even"):
        layers.Dense(7, activation="glu", name="dense7")(modelio.Input((5,)))
    with pytest.raises(modelio.ConfigError, match="dense7.*glu.*even"):
        layers.Dense(7, activation="glu", name="dense7")(np.ones((2, 5), np.float32))
    with pytest.raises(modelio.ConfigError, match="gate.*glu.*even"):
        layers.Activation("glu", name="gate")(np.ones((2, 5), np.float32))
    with pytest.raises(modelio.ConfigError, match="conv.*glu.*even"):
        layers.Conv2D(3, 1, activation="glu", name="conv")(np.ones((1, 2, 2, 4), np.float32))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Conv2D(4, 3, activation="glu"), (6, 6, 3)),
    (lambda: layers.Conv1D(6, 2, activation="glu", padding="same"), (7, 3)),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, activation="glu"), (5, 5, 3)),
    (lambda: layers.SeparableConv2D(6, 3, activation="glu"), (6, 6, 2)),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, activation="glu"), (3, 3, 2)),
], ids=["conv2d", "conv1d", "depthwise", "separable", "transpose"])
def test_glu_convolutions_declare_the_halved_width_and_export(make, shape, opset):
    layer = make()
    full_width = getattr(layer, "filters", None) or shape[-1] * layer.depth_multiplier
    assert layer(modelio.Input(shape)).shape[-1] == full_width // 2
    proto = assert_exports_like_numpy(make(), shape, opset)
    assert proto.graph.output[0].type.tensor_type.shape.dim[-1].dim_value == full_width // 2


def test_glu_convolutions_that_split_a_spatial_axis_are_refused():
    first = modelio.Input((3, 6, 6))
    y = layers.Conv2D(4, 3, activation="glu", data_format="channels_first", name="conv_cf")(first)
    with pytest.raises(modelio.UnsupportedError, match="conv_cf.*channels_first.*glu"):
        modelio.export_onnx(modelio.Model(first, y))


# ----- the optimizer on hand-made graphs ---------------------------------------------------------
def _model(nodes, initializers, inputs, outputs):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _value(name, shape):
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)


def test_optimizer_pushes_transposes_through_relu_and_constant_broadcasts_then_cancels():
    scale = numpy_helper.from_array(np.arange(1, 4, dtype=np.float32), "scale")
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("Mul", ["t", "scale"], ["m"]),
             helper.make_node("Relu", ["m"], ["r"]),
             helper.make_node("Transpose", ["r"], ["back"], perm=[0, 3, 1, 2]),
             helper.make_node("Identity", ["back"], ["y"])]
    new_nodes, initializers = cancel_transposes(nodes, [scale], ["y"])
    assert "Transpose" not in [node.op_type for node in new_nodes]
    assert [output for node in new_nodes for output in node.output].count("y") == 1
    before = _model(nodes, [scale], [_value("x", [2, 3, 4, 5])], [_value("y", [2, 3, 4, 5])])
    after = _model(new_nodes, initializers, [_value("x", [2, 3, 4, 5])], [_value("y", [2, 3, 4, 5])])
    onnx.checker.check_model(after, full_check=True)
    data = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(after, {"x": data})[0], run_onnx(before, {"x": data})[0])


def test_optimizer_keeps_a_transpose_whose_result_is_also_a_graph_output():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Transpose", ["t"], ["u"], perm=[0, 2, 1]),
             helper.make_node("Relu", ["u"], ["y"])]
    new_nodes, _ = cancel_transposes(nodes, [], ["t", "y"])
    assert [node.op_type for node in new_nodes] == ["Transpose", "Relu"]
    assert new_nodes[0].output[0] == "t" and list(new_nodes[1].input) == ["x"]


def test_optimizer_leaves_mixed_permutations_alone():
    nodes = [helper.make_node("Transpose", ["a"], ["ta"], perm=[0, 2, 1]),
             helper.make_node("Add", ["ta", "b"], ["y"])]
    new_nodes, _ = cancel_transposes(nodes, [], ["y"])
    assert [node.op_type for node in new_nodes] == ["Transpose", "Add"]
