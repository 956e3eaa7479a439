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

import modelio
from modelio import layers
from modelio.onnx.export import MAX_OPSET
from modelio.onnx.optimize import cancel_transposes
from modelio.onnx.registry import LOWERINGS

OPSETS = [13, 17, MAX_OPSET]


def run_onnx(proto, inputs: dict) -> list:
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {tensor.name: inputs[tensor.name] for tensor in session.get_inputs()})


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    weights = model.get_weights()
    model.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype(w.dtype) if "variance" in str(i)
                       else rng.normal(size=w.shape).astype(w.dtype) for i, w in
                       zip(_weight_kinds(model), weights)])


def _weight_kinds(model):
    return [weight.path for weight in model.weights]


def assert_exports_like_numpy(layer, input_shape, opset, batch=3, seed=0, data_shape=None):
    x = modelio.Input(input_shape, name="x")
    model = modelio.Model(x, layer(x))
    randomize(model, seed)
    data = np.random.default_rng(seed + 1).normal(
        size=(batch, *(data_shape or input_shape))).astype(np.float32)
    proto = modelio.export_onnx(model, opset=opset)
    got = run_onnx(proto, {"x": data})[0]
    np.testing.assert_allclose(got, model.predict(data), rtol=1e-4, atol=1e-4)
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
    if x.dtype.kind == "f" and x.dtype != np.float32 or layer.compute_dtype != "float32":
        with pytest.raises(modelio.UnsupportedError, match="float"):
            modelio.export_onnx(model)
        return
    if case["kwargs"].get("interpolation", "nearest") != "nearest":
        with pytest.raises(modelio.UnsupportedError, match="interpolation"):
            modelio.export_onnx(model)
        return
    got = run_onnx(modelio.export_onnx(model), {"x": x})[0]
    keras_key = "expected" if "expected" in case["arrays"] else "output"  # tf-keras where Keras 3
    np.testing.assert_allclose(got, _case_array(buffers, case, keras_key), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-4, atol=1e-4)


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


def test_integer_inputs_are_cast_and_other_float_widths_refused():
    x = modelio.Input((5, 5, 2), name="x", dtype="int32")
    model = modelio.Model(x, layers.Conv2D(2, 3)(x))
    data = np.arange(2 * 5 * 5 * 2, dtype=np.int32).reshape(2, 5, 5, 2) % 7
    np.testing.assert_allclose(run_onnx(modelio.export_onnx(model), {"x": data})[0],
                               model.predict(data), rtol=1e-4, atol=1e-4)
    wide = modelio.Input((5, 5, 2), name="x", dtype="float64")
    with pytest.raises(modelio.UnsupportedError, match="conv.*float64"):
        modelio.export_onnx(modelio.Model(wide, layers.Conv2D(2, 3, name="conv")(wide)))


def test_channels_first_convolutions_need_no_transposes():
    x = modelio.Input((3, 8, 8), name="x")
    y = layers.Conv2D(4, 3, padding="same", data_format="channels_first")(x)
    y = layers.MaxPooling2D(2, data_format="channels_first")(layers.BatchNormalization(axis=1)(y))
    proto = modelio.export_onnx(modelio.Model(x, y))
    assert "Transpose" not in [node.op_type for node in proto.graph.node]


def test_unknown_spatial_sizes_with_strided_same_padding_are_refused():
    x = modelio.Input((None, None, 3), name="x")
    with pytest.raises(modelio.UnsupportedError, match="conv.*same"):
        modelio.export_onnx(modelio.Model(x, layers.Conv2D(2, 3, strides=2, padding="same",
                                                           name="conv")(x)))
    proto = assert_exports_like_numpy(layers.Conv2D(2, 3, padding="same"), (None, None, 3), 17,
                                      data_shape=(6, 5, 3))
    assert proto.graph.input[0].type.tensor_type.shape.dim[1].dim_param == ""


def test_arguments_without_an_exact_lowering_are_refused_by_name():
    x = modelio.Input((4, 4, 3))
    with pytest.raises(modelio.UnsupportedError, match="up.*interpolation='bilinear'"):
        modelio.export_onnx(modelio.Model(x, layers.UpSampling2D(interpolation="bilinear",
                                                                 name="up")(x)))
    with pytest.raises(modelio.UnsupportedError, match="pool.*same"):
        y = layers.MaxPooling2D(3, strides=2, padding="same", name="pool")
        free = modelio.Input((None, None, 3))
        modelio.export_onnx(modelio.Model(free, y(free)))


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
