"""Bugs the whole ONNX backend suite showed (test_conformance.py), each on a small graph:
modelio's import matches onnxruntime, and its export runs in onnxruntime to the same outputs."""

import numpy as np
import onnxruntime
from onnx import TensorProto, helper

from modelio.onnx.export import export_onnx
from modelio.onnx.importer import import_onnx

RNG = np.random.default_rng(14)


def run_onnxruntime(model, feeds: list) -> list:
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {info.name: value for info, value in zip(session.get_inputs(), feeds)})


def assert_import_and_export_match_onnxruntime(model, feeds: list, rtol=1e-6, atol=1e-6):
    imported = import_onnx(model)
    outputs = imported(feeds if len(feeds) > 1 else feeds[0])
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    expected = run_onnxruntime(model, feeds)
    exported = run_onnxruntime(export_onnx(imported, opset=model.opset_import[0].version), feeds)
    for got, trip, want in zip(outputs, exported, expected):
        assert np.asarray(got).dtype == want.dtype == trip.dtype
        np.testing.assert_allclose(np.asarray(got, np.float64), want.astype(np.float64),
                                   rtol=rtol, atol=atol)
        np.testing.assert_allclose(trip.astype(np.float64), want.astype(np.float64),
                                   rtol=rtol, atol=atol)


def graph(nodes, inputs, outputs, opset=17):
    return helper.make_model(helper.make_graph(nodes, "g", inputs, outputs),
                             opset_imports=[helper.make_opsetid("", opset)])


def test_add_of_two_run_time_scalars_is_not_a_keras_merge_layer():
    # The window functions' expanded bodies add two rank-0 values (Keras merges need a batch axis).
    model = graph([helper.make_node("Add", ["a", "b"], ["y"])],
                  [helper.make_tensor_value_info(name, TensorProto.FLOAT, [])
                   for name in ("a", "b")],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    assert_import_and_export_match_onnxruntime(model, [np.array(1.5, np.float32),
                                                       np.array(-4.0, np.float32)])


def test_float16_and_float64_operand_ops_export_in_their_own_dtype():
    # Max/Min/ReduceLogSumExp (Onnx* operand layers) keep their operands' dtypes: the export must
    # not cast them to the float32 policy as it does Keras layers.
    for dtype, element in ((np.float16, TensorProto.FLOAT16), (np.float64, TensorProto.DOUBLE)):
        model = graph([helper.make_node("Max", ["a", "b"], ["y"])],
                      [helper.make_tensor_value_info(name, element, [2, 3]) for name in "ab"],
                      [helper.make_tensor_value_info("y", element, [2, 3])])
        assert_import_and_export_match_onnxruntime(
            model, [RNG.standard_normal((2, 3)).astype(dtype) for _ in "ab"])


def test_float16_depthwise_conv_computes_and_returns_float16():
    weights = helper.make_tensor("w", TensorProto.FLOAT16, [4, 1, 3],
                                 RNG.standard_normal(12).astype(np.float16).tobytes(), raw=True)
    model = graph([helper.make_node("Conv", ["x", "w"], ["y"], group=4)],
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 4, 8])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 4, 6])])
    model.graph.initializer.append(weights)
    assert_import_and_export_match_onnxruntime(
        model, [RNG.standard_normal((2, 4, 8)).astype(np.float16)], rtol=5e-3, atol=5e-3)


def test_int16_uint16_uint32_uint64_tensors_export():
    for dtype, element in ((np.int16, TensorProto.INT16), (np.uint16, TensorProto.UINT16),
                           (np.uint32, TensorProto.UINT32), (np.uint64, TensorProto.UINT64)):
        model = graph([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])],
                      [helper.make_tensor_value_info("x", element, [2, 3, 4])],
                      [helper.make_tensor_value_info("y", element, [2, 4, 3])])
        assert_import_and_export_match_onnxruntime(
            model, [RNG.integers(0, 1000, (2, 3, 4)).astype(dtype)])


def test_pad_of_an_integer_tensor_keeps_its_dtype_through_export():
    pads = helper.make_tensor("pads", TensorProto.INT64, [6], [0, 1, 2, 0, 2, 1])
    for mode in ("edge", "reflect", "constant"):
        model = graph([helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode)],
                      [helper.make_tensor_value_info("x", TensorProto.INT32, [2, 3, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 6, 7])])
        model.graph.initializer.append(pads)
        assert_import_and_export_match_onnxruntime(
            model, [RNG.integers(-50, 50, (2, 3, 4)).astype(np.int32)])
