"""ONNX import of quantized graphs: QuantizeLinear / DequantizeLinear (per-tensor, per-axis,
blocked; the integer types; int4 and float8 weights folded), QLinearConv, QLinearMatMul,
ConvInteger, MatMulInteger and DynamicQuantizeLinear, in one-node graphs built with onnx.helper
and in the two models onnxruntime's quantizer made (fixtures/onnx_quantized/, written by
tools/onnx_quantized_fixtures.py). Each imported model matches onnxruntime, and its export back
to ONNX runs in onnxruntime with the same outputs.

Tolerance: quantized values are integers, and modelio computes the same float32 operations in the
same order as onnx.reference (x / scale, round half to even, + zero point, clip), so they match
exactly here; a float32 product computed in another summation order could move a value sitting
on a rounding tie by one quantization step, which is the most the fixture checks allow (one step
of the output's scale)."""

from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import modelio
from modelio.errors import ModelioError, UnsupportedError
from modelio.onnx.importer import import_onnx

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "onnx_quantized"
RNG = np.random.default_rng(11)


def model_of(nodes, inputs, outputs, initializers, opset=21):
    graph = helper.make_graph(nodes, "case", inputs, outputs,
                              [numpy_helper.from_array(np.asarray(value), name)
                               for name, value in initializers.items()])
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets,
                             ir_version=helper.find_min_ir_version_for(opsets))


def session_outputs(model, feeds):
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def as_list(outputs):
    return [np.asarray(item) for item in
            (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def check(model, x, exact=True):
    """Import `model`, compare with onnxruntime, export back and compare again."""
    expected = session_outputs(model, {"x": x})
    imported = import_onnx(model)
    got = as_list(imported(x))
    for value, want in zip(got, expected):
        assert value.dtype == want.dtype and value.shape == want.shape
        if exact:
            np.testing.assert_array_equal(value, want)
        else:
            np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-6)
    exported = modelio.export_onnx(imported)
    again = session_outputs(exported, {exported.graph.input[0].name: x})
    for value, want in zip(again, got):
        if exact:
            np.testing.assert_array_equal(value, want)
        else:  # a float product may sum in another order
            np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-6)
    return imported


def value(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


# ----- QuantizeLinear / DequantizeLinear ------------------------------------------------------

QUANT_TYPES = {np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8,
               np.int16: TensorProto.INT16, np.uint16: TensorProto.UINT16}


@pytest.mark.parametrize("dtype", list(QUANT_TYPES), ids=lambda dtype: np.dtype(dtype).name)
def test_quantize_linear_rounds_half_to_even_and_saturates(dtype):
    scale, zero = np.float32(0.5), np.array(3 if dtype in (np.uint8, np.uint16) else -2, dtype)
    # ties (x / scale = k + 0.5), both signs, far out of range
    x = np.array([[0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 1e6, -1e6, 0.0, 3.3]], np.float32)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"])]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, ["N", 10])],
                     [value("q", QUANT_TYPES[dtype], None)], {"s": scale, "z": zero})
    check(model, x)


def test_quantize_then_dequantize_per_axis_and_blocked():
    x = RNG.normal(0, 2, (2, 3, 4)).astype(np.float32)
    per_axis = {"s": np.array([0.1, 0.02, 0.5], np.float32), "z": np.array([0, 5, -7], np.int8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1)]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, ["N", 3, 4])],
                     [value("y", TensorProto.FLOAT, None)], per_axis)
    check(model, x)
    blocked = {"s": RNG.uniform(0.05, 0.3, (1, 3, 2)).astype(np.float32),
               "z": RNG.integers(0, 20, (1, 3, 2)).astype(np.uint8)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=2, block_size=2),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=2, block_size=2)]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, [1, 3, 4])],
                     [value("y", TensorProto.FLOAT, None), value("q", TensorProto.UINT8, None)],
                     blocked)
    model.graph.output.pop()  # (q is checked by the per-tensor case; keep y alone)
    check(model, x[:1])


def test_activation_pair_fuses_to_clip_and_weight_dequantize_folds():
    """QDQ as quantize_static writes it: the weight's DequantizeLinear folds to a float kernel
    (a Dense), the activation's Q/DQ pair becomes Divide, Round, Clip, Multiply."""
    weight = RNG.integers(-128, 128, (6, 3)).astype(np.int8)
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xf"]),
             helper.make_node("DequantizeLinear", ["w", "ws"], ["wf"], axis=1),
             helper.make_node("MatMul", ["xf", "wf"], ["y"])]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, ["N", 6])],
                     [value("y", TensorProto.FLOAT, None)],
                     {"xs": np.float32(0.03), "xz": np.uint8(128), "w": weight,
                      "ws": np.array([0.01, 0.02, 0.005], np.float32)})
    imported = check(model, RNG.normal(0, 1, (4, 6)).astype(np.float32), exact=False)
    assert [type(layer).__name__ for layer in imported.layers[1:]] == ["Dense"]
    operations = [type(op).__name__ for op in imported.operations[1:]]
    assert operations == ["Divide", "Round", "Clip", "Multiply", "Dense"]


def test_int4_and_float8_weights_fold_to_float_constants():
    packed = RNG.integers(-8, 8, (4, 2)).astype(ml_dtypes.int4)
    e4m3 = RNG.normal(0, 2, (4, 2)).astype(ml_dtypes.float8_e4m3fn)
    nodes = [helper.make_node("DequantizeLinear", ["w4", "s4"], ["f4"], axis=0, block_size=2),
             helper.make_node("DequantizeLinear", ["w8", "s8"], ["f8"]),
             helper.make_node("Add", ["f4", "f8"], ["w"]),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, ["N", 4])],
                     [value("y", TensorProto.FLOAT, None)],
                     {"w4": packed, "s4": np.array([[0.5, 0.25], [0.1, 1.0]], np.float32),
                      "w8": e4m3, "s8": np.float32(0.125)})
    imported = check(model, RNG.normal(0, 1, (3, 4)).astype(np.float32), exact=False)
    assert [type(layer).__name__ for layer in imported.layers[1:]] == ["Dense"]


def test_dequantize_linear_of_int32_and_uint16_run_time_tensors():
    for elem_type, dtype in ((TensorProto.INT32, np.int32), (TensorProto.UINT16, np.uint16)):
        nodes = [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"])]
        model = model_of(nodes, [value("x", elem_type, ["N", 5])],
                         [value("y", TensorProto.FLOAT, None)],
                         {"s": np.float32(0.25), "z": np.array(7, dtype)})
        x = np.array([[0, 7, 1000, 65535, 12]], dtype)
        check(model, x)


def test_run_time_int4_output_is_refused_by_type_name():
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"])]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, ["N", 4])],
                     [value("q", TensorProto.INT4, None)],
                     {"s": np.float32(0.5), "z": np.zeros((), ml_dtypes.int4)})
    with pytest.raises(UnsupportedError, match="int4"):
        import_onnx(model)


def test_contrib_quantized_ops_are_refused_by_domain_and_name():
    nodes = [helper.make_node("QLinearSigmoid", ["x", "s", "z", "s", "z"], ["y"],
                              domain="com.microsoft")]
    model = model_of(nodes, [value("x", TensorProto.UINT8, ["N", 4])],
                     [value("y", TensorProto.UINT8, None)],
                     {"s": np.float32(0.5), "z": np.uint8(0)})
    with pytest.raises(UnsupportedError, match="com.microsoft.QLinearSigmoid"):
        import_onnx(model)


# ----- integer products -----------------------------------------------------------------------

def test_qlinear_conv_per_channel_with_bias_and_padding():
    w = RNG.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    initializers = {"xs": np.float32(0.02), "xz": np.uint8(120), "w": w,
                    "ws": RNG.uniform(0.001, 0.01, 4).astype(np.float32), "wz": np.zeros(4, np.int8),
                    "ys": np.float32(0.05), "yz": np.uint8(100),
                    "b": RNG.integers(-2000, 2000, 4).astype(np.int32)}
    nodes = [helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                              ["y"], pads=[1, 1, 1, 1], strides=[2, 1])]
    model = model_of(nodes, [value("x", TensorProto.UINT8, ["N", 3, 7, 6])],
                     [value("y", TensorProto.UINT8, None)], initializers, opset=10)
    check(model, RNG.integers(0, 256, (2, 3, 7, 6)).astype(np.uint8))


def test_qlinear_matmul_int8():
    initializers = {"as": np.float32(0.05), "az": np.int8(-3),
                    "b": RNG.integers(-128, 128, (8, 5)).astype(np.int8),
                    "bs": np.float32(0.02), "bz": np.int8(0), "ys": np.float32(0.3),
                    "yz": np.int8(4)}
    nodes = [helper.make_node("QLinearMatMul", ["x", "as", "az", "b", "bs", "bz", "ys", "yz"],
                              ["y"])]
    model = model_of(nodes, [value("x", TensorProto.INT8, ["N", 8])],
                     [value("y", TensorProto.INT8, None)], initializers, opset=10)
    check(model, RNG.integers(-128, 128, (3, 8)).astype(np.int8))


def test_conv_integer_and_matmul_integer_with_zero_points():
    nodes = [helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["c"], kernel_shape=[2, 2]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Cast", ["f"], ["f8"], to=TensorProto.INT8)]
    model = model_of(nodes, [value("x", TensorProto.UINT8, ["N", 2, 4, 4])],
                     [value("c", TensorProto.INT32, None)],
                     {"w": RNG.integers(-20, 20, (3, 2, 2, 2)).astype(np.int8),
                      "xz": np.uint8(128), "wz": np.int8(-2)}, opset=10)
    del model.graph.node[1:]
    check(model, RNG.integers(0, 256, (2, 2, 4, 4)).astype(np.uint8))
    nodes = [helper.make_node("MatMulInteger", ["x", "b", "az", "bz"], ["y"])]
    model = model_of(nodes, [value("x", TensorProto.INT8, [3, 6])],
                     [value("y", TensorProto.INT32, None)],
                     {"b": RNG.integers(-128, 128, (6, 4)).astype(np.int8),
                      "az": np.int8(3),
                      "bz": np.array([0, 2, -5, 1], np.int8)}, opset=10)
    check(model, RNG.integers(-128, 128, (3, 6)).astype(np.int8))


def test_dynamic_quantize_linear_outputs():
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, [2, 5])],
                     [value("y", TensorProto.UINT8, None), value("s", TensorProto.FLOAT, None),
                      value("z", TensorProto.UINT8, None)], {}, opset=11)
    check(model, RNG.normal(0.5, 2, (2, 5)).astype(np.float32))


# ----- models made by onnxruntime.quantization ----------------------------------------------

def output_step(model: onnx.ModelProto) -> float:
    """The scale of the last DequantizeLinear (one quantization step of the output), or 0."""
    arrays = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    last = [node for node in model.graph.node if node.op_type == "DequantizeLinear"][-1:]
    return float(arrays[last[0].input[1]]) if last and \
        last[0].output[0] == model.graph.node[-1].output[0] else 0.0


@pytest.mark.parametrize("name", ["static_qdq", "dynamic_integer"])
def test_onnxruntime_quantized_model_imports_saves_and_exports(name, tmp_path):
    data = np.load(FIXTURES / "data.npz")
    x, expected = data["input"], data[f"output:{name}"]
    path = FIXTURES / f"{name}.onnx"
    model = modelio.load_model(path)
    got = as_list(model(x))[0]
    step = output_step(onnx.load(str(path)))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=step + 1e-6)
    np.testing.assert_array_equal(got, expected)  # and, today, exactly
    modelio.save_model(model, tmp_path / f"{name}.keras")
    np.testing.assert_array_equal(as_list(modelio.load_model(tmp_path / f"{name}.keras")(x))[0],
                                  got)
    exported = modelio.export_onnx(model)
    onnx.checker.check_model(exported, full_check=True)
    (again,) = session_outputs(exported, {exported.graph.input[0].name: x})
    np.testing.assert_array_equal(again, got)


def test_bad_quantized_graphs_are_refused_with_modelio_errors():
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=1)]
    model = model_of(nodes, [value("x", TensorProto.INT8, ["N", 3])],
                     [value("y", TensorProto.FLOAT, None)],
                     {"s": np.ones(4, np.float32), "z": np.zeros(4, np.int8)})
    with pytest.raises(ModelioError, match="DequantizeLinear"):
        import_onnx(model)
    model = model_of(nodes, [value("x", TensorProto.INT8, ["N", 3])],
                     [value("y", TensorProto.FLOAT, None)],
                     {"s": np.ones(3, np.float32), "z": np.zeros(3, np.uint8)})
    with pytest.raises(ModelioError, match="zero point"):
        import_onnx(model)


def test_a_huge_block_size_allocates_nothing_large():
    nodes = [helper.make_node("DequantizeLinear", ["w", "s"], ["f"], axis=1,
                              block_size=2**40),
             helper.make_node("MatMul", ["x", "f"], ["y"])]
    model = model_of(nodes, [value("x", TensorProto.FLOAT, ["N", 2])],
                     [value("y", TensorProto.FLOAT, None)],
                     {"w": np.ones((2, 3), np.int8), "s": np.full((2, 1), 0.5, np.float32)})
    imported = import_onnx(model)
    np.testing.assert_array_equal(as_list(imported(np.ones((1, 2), np.float32)))[0],
                                  np.ones((1, 3), np.float32))
