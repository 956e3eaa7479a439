"""ONNX import of the core ops: small graphs built with onnx.helper, imported, run with modelio's
numpy kernels and compared with onnxruntime; the layers chosen; config round trips; refusals."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import make_model, ort_outputs

import modelio
from modelio.errors import FormatError, ModelioError, UnsupportedError
from modelio.formats.config import model_from_json, model_to_json
from modelio.onnx.importer import import_onnx

RNG = np.random.default_rng(11)
FLOAT = TensorProto.FLOAT


def modelio_outputs(imported, feeds: dict) -> list:
    values = [feeds[tensor_name] for tensor_name in _input_names(imported)]
    outputs = imported(values)
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _input_names(imported):
    return [tensor._keras_history.layer.name for tensor in imported.inputs]


def assert_matches_onnxruntime(model, feeds: dict, rtol=1e-5, atol=1e-6):
    imported = import_onnx(model)
    expected = ort_outputs(model, feeds)
    got = modelio_outputs(imported, feeds)
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        assert np.asarray(value).shape == reference.shape
        np.testing.assert_allclose(value, reference, rtol=rtol, atol=atol)
    return imported


def layer_classes(imported) -> list:
    return [type(layer).__name__ for layer in imported.layers]


def random(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def assert_json_round_trip_keeps_predictions(imported, feeds: dict):
    rebuilt = model_from_json(model_to_json(imported))
    rebuilt.set_weights(imported.get_weights())
    for before, after in zip(modelio_outputs(imported, feeds), modelio_outputs(rebuilt, feeds)):
        np.testing.assert_array_equal(before, after)


# ----- dense algebra -----

def test_gemm_with_transposed_constant_weights_becomes_dense_and_matches_onnxruntime():
    model = make_model(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
        [("x", FLOAT, [4, 5])], [("y", FLOAT, [4, 3])],
        [("w", random(3, 5)), ("b", random(3))])
    imported = assert_matches_onnxruntime(model, {"x": random(4, 5)})
    assert layer_classes(imported) == ["InputLayer", "Dense"]


def test_gemm_with_alpha_beta_and_transposed_input_uses_an_onnx_layer_and_matches():
    model = make_model(
        [helper.make_node("Gemm", ["x", "w", "c"], ["y"], transA=1, alpha=0.5, beta=2.0)],
        [("x", FLOAT, [5, 4])], [("y", FLOAT, [4, 3])],
        [("w", random(5, 3)), ("c", random(4, 1))])
    imported = assert_matches_onnxruntime(model, {"x": random(5, 4)})
    assert layer_classes(imported) == ["InputLayer", "OnnxGemm"]
    assert_json_round_trip_keeps_predictions(imported, {"x": random(5, 4)})


def test_matmul_then_bias_add_fuse_into_one_dense():
    model = make_model(
        [helper.make_node("MatMul", ["x", "w"], ["h"]),
         helper.make_node("Add", ["b", "h"], ["y"])],
        [("x", FLOAT, [2, 3, 4])], [("y", FLOAT, [2, 3, 6])],
        [("w", random(4, 6)), ("b", random(6))])
    feeds = {"x": random(2, 3, 4)}
    imported = assert_matches_onnxruntime(model, feeds)
    assert layer_classes(imported) == ["InputLayer", "Dense"]
    assert imported.layers[1].use_bias


def test_matmul_whose_output_is_also_read_elsewhere_keeps_a_separate_bias_layer():
    model = make_model(
        [helper.make_node("MatMul", ["x", "w"], ["h"]),
         helper.make_node("Add", ["h", "b"], ["y"])],
        [("x", FLOAT, [2, 3, 4])], [("y", FLOAT, [2, 3, 6]), ("h", FLOAT, [2, 3, 6])],
        [("w", random(4, 6)), ("b", random(6))])
    feeds = {"x": random(2, 3, 4)}
    imported = assert_matches_onnxruntime(model, feeds)
    assert layer_classes(imported) == ["InputLayer", "Dense", "OnnxElementwise"]
    assert_json_round_trip_keeps_predictions(imported, feeds)


def test_matmul_of_two_run_time_tensors_with_different_first_axes_matches():
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"])],
                       [("a", FLOAT, [3, 4]), ("b", FLOAT, [4, 2])], [("y", FLOAT, [3, 2])])
    assert_matches_onnxruntime(model, {"a": random(3, 4), "b": random(4, 2)})


# ----- elementwise and activations -----

@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"])
def test_binary_op_broadcasts_two_tensors_of_different_shapes_like_onnxruntime(op):
    model = make_model([helper.make_node(op, ["a", "b"], ["y"])],
                       [("a", FLOAT, [2, 3, 4]), ("b", FLOAT, [3, 1])], [("y", FLOAT, None)])
    a, b = np.abs(random(2, 3, 4)) + 0.5, np.abs(random(3, 1)) + 0.5
    imported = assert_matches_onnxruntime(model, {"a": a, "b": b})
    assert imported.outputs[0].shape == (2, 3, 4)


def test_add_of_equal_shapes_is_a_keras_add_and_sum_mean_of_three_match():
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["s"]),
         helper.make_node("Sum", ["a", "b", "s"], ["t"]),
         helper.make_node("Mean", ["a", "b", "t"], ["y"])],
        [("a", FLOAT, [2, 5]), ("b", FLOAT, [2, 5])], [("y", FLOAT, [2, 5])])
    imported = assert_matches_onnxruntime(model, {"a": random(2, 5), "b": random(2, 5)})
    assert layer_classes(imported)[2:] == ["Add", "Add", "Average"]


@pytest.mark.parametrize("node, keras_class", [
    (helper.make_node("Relu", ["x"], ["y"]), "Activation"),
    (helper.make_node("Sigmoid", ["x"], ["y"]), "Activation"),
    (helper.make_node("Tanh", ["x"], ["y"]), "Activation"),
    (helper.make_node("Softplus", ["x"], ["y"]), "Activation"),
    (helper.make_node("Softsign", ["x"], ["y"]), "Activation"),
    (helper.make_node("Selu", ["x"], ["y"]), "Activation"),
    (helper.make_node("Gelu", ["x"], ["y"]), "Activation"),
    (helper.make_node("Elu", ["x"], ["y"], alpha=0.7), "ELU"),
    (helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.2), "LeakyReLU"),
    (helper.make_node("HardSigmoid", ["x"], ["y"]), "OnnxUnary"),
    (helper.make_node("Gelu", ["x"], ["y"], approximate="tanh"), "OnnxUnary"),
    (helper.make_node("Erf", ["x"], ["y"]), "OnnxUnary"),
    (helper.make_node("Abs", ["x"], ["y"]), "OnnxUnary"),
    (helper.make_node("Neg", ["x"], ["y"]), "OnnxUnary"),
    (helper.make_node("Floor", ["x"], ["y"]), "OnnxUnary"),
    (helper.make_node("Ceil", ["x"], ["y"]), "OnnxUnary"),
    (helper.make_node("Reciprocal", ["x"], ["y"]), "OnnxUnary"),
], ids=lambda value: value.op_type + "".join(
    f"_{a.name}" for a in value.attribute) if isinstance(value, onnx.NodeProto) else value)
def test_activation_picks_the_keras_layer_when_exact_and_matches_onnxruntime(node, keras_class):
    model = make_model([node], [("x", FLOAT, [3, 7])], [("y", FLOAT, [3, 7])], opset=20)
    x = random(3, 7) * 3
    imported = assert_matches_onnxruntime(model, {"x": x}, rtol=1e-5, atol=1e-5)
    assert layer_classes(imported)[1] == keras_class
    assert_json_round_trip_keeps_predictions(imported, {"x": x})


@pytest.mark.parametrize("variant", ["torch", "half_first", "times_inverse_sqrt2"])
def test_erf_based_gelu_pattern_becomes_one_keras_gelu_activation(variant):
    sqrt2 = np.float32(np.sqrt(2))
    if variant == "times_inverse_sqrt2":
        scale = helper.make_node("Mul", ["x", "inv_sqrt2"], ["d"])
    else:
        scale = helper.make_node("Div", ["x", "sqrt2"], ["d"])
    nodes = [scale, helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"])]
    if variant == "half_first":
        nodes += [helper.make_node("Mul", ["x", "half"], ["h"]),
                  helper.make_node("Mul", ["h", "a"], ["y"])]
    else:
        nodes += [helper.make_node("Mul", ["x", "a"], ["m"]),
                  helper.make_node("Mul", ["m", "half"], ["y"])]
    model = make_model(nodes, [("x", FLOAT, [3, 8])], [("y", FLOAT, [3, 8])],
                       [("sqrt2", sqrt2), ("inv_sqrt2", np.float32(1 / np.sqrt(2))),
                        ("one", np.float32(1)), ("half", np.float32(0.5))])
    imported = assert_matches_onnxruntime(model, {"x": random(3, 8) * 3}, atol=1e-5)
    assert layer_classes(imported) == ["InputLayer", "Activation"]
    assert imported.layers[1].activation_name == "gelu"


def test_erf_gelu_whose_inner_value_is_also_an_output_is_not_fused():
    model = make_model(
        [helper.make_node("Div", ["x", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
         helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["m"]),
         helper.make_node("Mul", ["m", "half"], ["y"])],
        [("x", FLOAT, [3, 8])], [("y", FLOAT, [3, 8]), ("e", FLOAT, [3, 8])],
        [("sqrt2", np.float32(np.sqrt(2))), ("one", np.float32(1)), ("half", np.float32(0.5))])
    imported = assert_matches_onnxruntime(model, {"x": random(3, 8)}, atol=1e-5)
    assert "Activation" not in layer_classes(imported)


def test_clip_0_6_is_relu6_in_both_opset_forms_and_other_bounds_are_onnx_layers():
    new = make_model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
                     [("x", FLOAT, [2, 9])], [("y", FLOAT, [2, 9])],
                     [("lo", np.float32(0)), ("hi", np.float32(6))])
    old = make_model([helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0)],
                     [("x", FLOAT, [2, 9])], [("y", FLOAT, [2, 9])], opset=9)
    other = make_model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
                       [("x", FLOAT, [2, 9])], [("y", FLOAT, [2, 9])],
                       [("lo", np.float32(-1)), ("hi", np.float32(2))])
    x = random(2, 9) * 5
    for model, expected in ((new, "ReLU"), (old, "ReLU"), (other, "OnnxUnary")):
        imported = assert_matches_onnxruntime(model, {"x": x})
        assert layer_classes(imported)[1] == expected


def test_prelu_with_a_per_channel_slope_becomes_keras_prelu_with_shared_axes():
    model = make_model([helper.make_node("PRelu", ["x", "slope"], ["y"])],
                       [("x", FLOAT, [2, 3, 4, 4])], [("y", FLOAT, [2, 3, 4, 4])],
                       [("slope", random(3, 1, 1))])
    imported = assert_matches_onnxruntime(model, {"x": random(2, 3, 4, 4)})
    prelu = imported.layers[1]
    assert type(prelu).__name__ == "PReLU" and prelu.shared_axes == [2, 3]


@pytest.mark.parametrize("opset, axis", [(11, 1), (11, 2), (13, 1), (13, 0), (13, -1)])
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_follows_the_opset_semantics_of_its_axis(op, opset, axis):
    model = make_model([helper.make_node(op, ["x"], ["y"], axis=axis)],
                       [("x", FLOAT, [2, 3, 4])], [("y", FLOAT, [2, 3, 4])], opset=opset)
    imported = assert_matches_onnxruntime(model, {"x": random(2, 3, 4)})
    keras_softmax = op == "Softmax" and axis != 0 and (opset >= 13 or axis == 2)
    assert (layer_classes(imported)[1] == "Softmax") == keras_softmax


# ----- shape ops and constant folding -----

def test_reshape_with_zero_and_minus_one_keeps_the_batch_and_is_keras_reshape():
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                       [("x", FLOAT, [2, 3, 4])], [("y", FLOAT, [2, 4, 3])],
                       [("shape", np.array([0, -1, 3], np.int64))])
    imported = assert_matches_onnxruntime(model, {"x": random(2, 3, 4)})
    assert layer_classes(imported)[1] == "Reshape"


def test_reshape_to_minus_one_and_the_sample_size_keeps_a_dynamic_batch_as_keras_reshape():
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                       [("x", FLOAT, ["n", 4, 2, 2])], [("y", FLOAT, ["n", 16])],
                       [("shape", np.array([-1, 16], np.int64))])
    imported = assert_matches_onnxruntime(model, {"x": random(3, 4, 2, 2)})
    assert layer_classes(imported)[1] == "Reshape"


def test_reshape_that_moves_the_batch_axis_is_an_onnx_reshape():
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                       [("x", FLOAT, [2, 3, 4])], [("y", FLOAT, [6, 4])],
                       [("shape", np.array([-1, 4], np.int64))])
    imported = assert_matches_onnxruntime(model, {"x": random(2, 3, 4)})
    assert layer_classes(imported)[1] == "OnnxReshape"
    assert_json_round_trip_keeps_predictions(imported, {"x": random(2, 3, 4)})


def test_shape_arithmetic_on_static_shapes_folds_to_constants():
    # x.view(x.size(0), -1) as PyTorch exports it: Shape -> Gather -> Unsqueeze -> Concat.
    model = make_model(
        [helper.make_node("Shape", ["x"], ["s"]),
         helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
         helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
         helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
         helper.make_node("Reshape", ["x", "target"], ["y"])],
        [("x", FLOAT, [2, 3, 4])], [("y", FLOAT, [2, 12])],
        [("zero", np.array(0, np.int64)), ("axes", np.array([0], np.int64)),
         ("minus_one", np.array([-1], np.int64))], opset=13)
    imported = assert_matches_onnxruntime(model, {"x": random(2, 3, 4)})
    assert layer_classes(imported) == ["InputLayer", "Reshape"]


def test_symbolic_batch_dim_becomes_none_and_run_time_shape_arithmetic_works_for_any_batch():
    model = make_model(
        [helper.make_node("Shape", ["x"], ["s"]),
         helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
         helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
         helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
         helper.make_node("Reshape", ["x", "target"], ["y"])],
        [("x", FLOAT, ["batch", 3, 4])], [("y", FLOAT, ["batch", 12])],
        [("zero", np.array(0, np.int64)), ("axes", np.array([0], np.int64)),
         ("minus_one", np.array([-1], np.int64))], opset=13)
    imported = import_onnx(model)
    assert imported.inputs[0].shape == (None, 3, 4)
    assert layer_classes(imported) == ["InputLayer", "Reshape"]
    for batch in (1, 5):
        x = random(batch, 3, 4)
        np.testing.assert_array_equal(imported([x]), x.reshape(batch, 12))
    assert_json_round_trip_keeps_predictions(imported, {"x": random(3, 3, 4)})


@pytest.mark.parametrize("node, inputs, initializers, opset", [
    (helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1]), [[2, 3, 4]], [], 17),
    (helper.make_node("Transpose", ["x"], ["y"], perm=[2, 0, 1]), [[2, 3, 4]], [], 17),
    (helper.make_node("Flatten", ["x"], ["y"], axis=2), [[2, 3, 4]], [], 17),
    (helper.make_node("Flatten", ["x"], ["y"]), [[2, 3, 4]], [], 17),
    (helper.make_node("Squeeze", ["x", "axes"], ["y"]), [[2, 1, 4]],
     [("axes", np.array([1], np.int64))], 17),
    (helper.make_node("Squeeze", ["x"], ["y"], axes=[0]), [[1, 3, 4]], [], 11),
    (helper.make_node("Unsqueeze", ["x", "axes"], ["y"]), [[2, 3]],
     [("axes", np.array([0, 3], np.int64))], 17),
    (helper.make_node("Concat", ["x", "c"], ["y"], axis=0), [[2, 3]],
     [("c", np.ones((1, 3), np.float32))], 17),
    (helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"]), [[4, 6]],
     [("s", np.array([3, 1], np.int64)), ("e", np.array([0, 100], np.int64)),
      ("a", np.array([0, 1], np.int64)), ("st", np.array([-1, 2], np.int64))], 17),
    (helper.make_node("Gather", ["x", "i"], ["y"], axis=1), [[2, 5]],
     [("i", np.array([[4, -1], [0, 2]], np.int64))], 17),
    (helper.make_node("Expand", ["x", "shape"], ["y"]), [[3, 1]],
     [("shape", np.array([2, 3, 4], np.int64))], 17),
    (helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0), [[2, 3, 4]], [], 17),
    (helper.make_node("ReduceSum", ["x", "axes"], ["y"]), [[2, 3, 4]],
     [("axes", np.array([-1], np.int64))], 17),
    (helper.make_node("ReduceMax", ["x"], ["y"]), [[2, 3, 4]], [], 17),
], ids=lambda value: value.op_type if isinstance(value, onnx.NodeProto) else None)
def test_shape_op_matches_onnxruntime_and_round_trips(node, inputs, initializers, opset):
    model = make_model([node], [("x", FLOAT, inputs[0])], [("y", FLOAT, None)], initializers,
                       opset=opset)
    feeds = {"x": random(*inputs[0])}
    imported = assert_matches_onnxruntime(model, feeds)
    assert_json_round_trip_keeps_predictions(imported, feeds)


def test_gather_from_a_constant_table_with_run_time_indices_is_an_embedding():
    model = make_model([helper.make_node("Gather", ["table", "ids"], ["y"])],
                       [("ids", TensorProto.INT64, [2, 3])], [("y", FLOAT, [2, 3, 4])],
                       [("table", random(10, 4))])
    ids = RNG.integers(0, 10, (2, 3)).astype(np.int64)
    imported = assert_matches_onnxruntime(model, {"ids": ids})
    assert layer_classes(imported)[1] == "Embedding"


def test_int64_elementwise_and_cast_keep_their_dtypes():
    model = make_model(
        [helper.make_node("Add", ["a", "one"], ["b"]),
         helper.make_node("Cast", ["b"], ["y"], to=FLOAT)],
        [("a", TensorProto.INT64, [2, 3])], [("y", FLOAT, [2, 3])],
        [("one", np.array(1, np.int64))])
    imported = import_onnx(model)
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    result = imported([a])
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, a + 1)


# ----- framework: constants, pass-through, inputs, outputs -----

def test_constant_node_forms_and_constant_of_shape_fold_into_one_layer():
    model = make_model(
        [helper.make_node("Constant", [], ["f"], value_float=2.0),
         helper.make_node("Constant", [], ["shape"], value_ints=[2, 3]),
         helper.make_node("Constant", [], ["t"], value=numpy_helper.from_array(
             np.full((2, 3), 0.5, np.float32))),
         helper.make_node("ConstantOfShape", ["shape"], ["ones"],
                          value=numpy_helper.from_array(np.array([1.0], np.float32))),
         helper.make_node("Mul", ["ones", "f"], ["twos"]),
         helper.make_node("Add", ["twos", "t"], ["c"]),
         helper.make_node("Add", ["x", "c"], ["y"])],
        [("x", FLOAT, [2, 3])], [("y", FLOAT, [2, 3])])
    imported = assert_matches_onnxruntime(model, {"x": random(2, 3)})
    assert layer_classes(imported) == ["InputLayer", "OnnxElementwise"]
    np.testing.assert_array_equal(imported.layers[1].get_weights()[0], np.full((2, 3), 2.5))


def test_old_ir_graph_listing_initializers_among_inputs_imports():
    model = make_model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                       [("x", FLOAT, [4, 5]), ("w", FLOAT, [3, 5]), ("b", FLOAT, [3])],
                       [("y", FLOAT, [4, 3])], [("w", random(3, 5)), ("b", random(3))],
                       opset=9, ir_version=3)
    imported = assert_matches_onnxruntime(model, {"x": random(4, 5)})
    assert len(imported.inputs) == 1


def test_identity_and_inference_dropout_pass_through_and_an_input_output_gets_identity():
    model = make_model(
        [helper.make_node("Identity", ["x"], ["a"]),
         helper.make_node("Dropout", ["a"], ["b", "mask"]),
         helper.make_node("Relu", ["b"], ["y"])],
        [("x", FLOAT, [2, 3])],
        [("y", FLOAT, [2, 3]), ("mask", TensorProto.BOOL, [2, 3]), ("x", FLOAT, [2, 3])])
    x = random(2, 3)
    imported = assert_matches_onnxruntime(model, {"x": x})
    assert "Identity" in layer_classes(imported)
    _, mask, same = modelio_outputs(imported, {"x": x})
    assert mask.dtype == bool and mask.all()
    np.testing.assert_array_equal(same, x)


def test_load_model_reads_an_onnx_file_and_saves_it_as_keras_and_yaml(tmp_path):
    model = make_model(
        [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Sub", ["r", "c"], ["y"])],
        [("x", FLOAT, ["n", 5])], [("y", FLOAT, ["n", 3])],
        [("w", random(3, 5)), ("b", random(3)), ("c", random(3))])
    onnx.save(model, tmp_path / "m.onnx")
    imported = modelio.load_model(tmp_path / "m.onnx")
    x = random(6, 5)
    expected = ort_outputs(model, {"x": x})[0]
    np.testing.assert_allclose(imported.predict(x), expected, rtol=1e-5, atol=1e-6)
    for name in ("m.keras", "m.yaml"):
        modelio.save_model(imported, tmp_path / name)
        np.testing.assert_allclose(modelio.load_model(tmp_path / name).predict(x), expected,
                                   rtol=1e-5, atol=1e-6)


def test_external_data_beside_the_model_is_read(tmp_path):
    weights = random(64, 32)
    model = make_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                       [("x", FLOAT, [2, 64])], [("y", FLOAT, [2, 32])], [("w", weights)])
    onnx.save(model, tmp_path / "big.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="big.data", size_threshold=0)
    x = random(2, 64)
    np.testing.assert_allclose(modelio.load_model(tmp_path / "big.onnx").predict(x),
                               x @ weights,
                               rtol=1e-5, atol=1e-6)


# ----- refusals -----

def test_every_unsupported_op_is_listed_at_once():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["a"]),
         helper.make_node("NonMaxSuppression", ["a"], ["b"]),
         helper.make_node("StringNormalizer", ["b"], ["y"])],
        [("x", FLOAT, [2, 2])], [("y", FLOAT, [2, 2])])
    with pytest.raises(UnsupportedError, match="NonMaxSuppression, StringNormalizer"):
        import_onnx(model)
    model.graph.node[0].domain = "com.microsoft"
    with pytest.raises(UnsupportedError,
                       match="NonMaxSuppression, StringNormalizer, com.microsoft.Relu"):
        import_onnx(model)


@pytest.mark.parametrize("nodes, initializers, message", [
    ([helper.make_node("Concat", ["x", "x"], ["y"])], [], "Concat.*axis"),
    ([helper.make_node("Add", ["x"], ["y"])], [], r"Add.*expected 2 inputs"),
    ([helper.make_node("Gemm", ["x"], ["y"])], [], r"Gemm.*expected 2 to 3 inputs"),
    ([helper.make_node("Cast", ["x"], ["y"])], [], "Cast.*'to'"),
    ([helper.make_node("Constant", [], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
     [], "Constant.*needs a value"),
    ([helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
     [("s", np.array([2**20, 2**20], np.int64))], "ConstantOfShape.*folded constant may take"),
    ([helper.make_node("Range", ["a", "b", "d"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
     [("a", np.array(0, np.int64)), ("b", np.array(2**40, np.int64)),
      ("d", np.array(1, np.int64))], "Range.*folded constant may take"),
    ([helper.make_node("Expand", ["x", "s"], ["y"])], [("s", np.array([-3, 3], np.int64))],
     "Expand.*refusing"),
    ([helper.make_node("Reshape", ["x", "s"], ["y"])], [("s", np.array([7, -1], np.int64))],
     "Reshape.*cannot reshape"),
    ([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 0])], [], "Transpose.*permutation"),
    ([helper.make_node("Relu", ["missing"], ["y"])], [], "used before it is produced"),
], ids=lambda value: value[0].op_type
    if isinstance(value, list) and value and isinstance(value[0], onnx.NodeProto) else None)
def test_malformed_graph_is_a_modelio_error_naming_the_node(nodes, initializers, message):
    model = make_model(nodes, [("x", FLOAT, [2, 3])], [("y", FLOAT, None)], initializers)
    with pytest.raises(ModelioError, match=message):
        import_onnx(model)


def test_initializer_whose_bytes_do_not_match_its_shape_is_a_format_error():
    model = make_model([helper.make_node("Add", ["x", "w"], ["y"])],
                       [("x", FLOAT, [2, 3])], [("y", FLOAT, [2, 3])], [("w", random(3))])
    model.graph.initializer[0].dims[:] = [1000, 1000]
    with pytest.raises(FormatError, match="initializer 'w'"):
        import_onnx(model)


def test_a_file_that_is_not_onnx_is_a_format_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x00\xffnot a protobuf at all" * 10)
    with pytest.raises(FormatError, match="bad.onnx"):
        modelio.load_model(path)


def test_training_mode_dropout_and_constant_outputs_are_refused():
    dropout = make_model([helper.make_node("Dropout", ["x", "r", "t"], ["y"])],
                         [("x", FLOAT, [2, 3])], [("y", FLOAT, [2, 3])],
                         [("r", np.array(0.5, np.float32)), ("t", np.array(True))])
    with pytest.raises(UnsupportedError, match="training mode"):
        import_onnx(dropout)
    constant = make_model([helper.make_node("Constant", [], ["y"], value_float=1.0)],
                          [("x", FLOAT, [2, 3])], [("y", FLOAT, [])])
    with pytest.raises(UnsupportedError, match="constant"):
        import_onnx(constant)


def test_pytorch_style_mlp_imports_to_keras_layers_only_and_its_config_names_only_keras():
    model = make_model(
        [helper.make_node("Flatten", ["x"], ["f"]),
         helper.make_node("Gemm", ["f", "w1", "b1"], ["h"], transB=1),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=1),
         helper.make_node("Softmax", ["logits"], ["y"], axis=1)],
        [("x", FLOAT, ["batch", 2, 3])], [("y", FLOAT, ["batch", 4])],
        [("w1", random(8, 6)), ("b1", random(8)), ("w2", random(4, 8)), ("b2", random(4))])
    imported = assert_matches_onnxruntime(model, {"x": random(5, 2, 3)})
    assert layer_classes(imported) == ["InputLayer", "Flatten", "Dense", "Activation", "Dense",
                                       "Softmax"]
    config = imported.get_config()
    assert all(not layer["class_name"].startswith("Onnx") for layer in config["layers"])
    assert {layer.get("module") for layer in config["layers"]} <= {"keras.layers"}


@pytest.mark.parametrize("cls, config", [
    ("OnnxElementwise", {"op": "Bogus"}),
    ("OnnxTranspose", {"perm": [0, 0]}),
    ("OnnxReshape", {"shape": "12"}),
    ("OnnxUnary", {"op": "Exp", "alpha": [1]}),
    ("OnnxElementwise", {"op": "Add", "constants": [{"index": 1, "shape": [-2],
                                                      "dtype": "float32"}]}),
    ("OnnxElementwise", {"op": "Add", "constants": [{"index": 1, "shape": [2]}]}),
    ("OnnxCast", {"to": "no_such_type"}),
    ("OnnxSlice", {"starts": [0], "ends": [1, 2]}),
])
def test_onnx_layer_config_with_bad_values_is_a_config_error(cls, config):
    from modelio import ops as onnx_ops
    from modelio.errors import ConfigError

    with pytest.raises(ConfigError):
        getattr(onnx_ops, cls).from_config(config)


def test_run_time_target_shape_not_led_by_the_batch_size_stays_an_onnx_reshape():
    model = make_model(
        [helper.make_node("Shape", ["x"], ["s"]),
         helper.make_node("Gather", ["s", "one"], ["n"], axis=0),
         helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
         helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
         helper.make_node("Reshape", ["x", "target"], ["y"])],
        [("x", FLOAT, ["batch", "rows", 4])], [("y", FLOAT, None)],
        [("one", np.array(1, np.int64)), ("axes", np.array([0], np.int64)),
         ("minus_one", np.array([-1], np.int64))], opset=13)
    imported = import_onnx(model)
    assert "OnnxReshape" in layer_classes(imported)
    x = random(2, 3, 4)
    np.testing.assert_array_equal(imported([x]), x.reshape(3, 8))


def test_onnx_layer_given_run_time_data_that_does_not_fit_is_a_modelio_error():
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                       [("x", FLOAT, [2, 6]), ("shape", TensorProto.INT64, [2])],
                       [("y", FLOAT, None)])
    imported = import_onnx(model)
    np.testing.assert_array_equal(imported([np.ones((2, 6), np.float32), np.array([3, 4])]),
                                  np.ones((3, 4), np.float32))
    with pytest.raises(ModelioError, match="cannot reshape"):
        imported([np.ones((2, 6), np.float32), np.array([5, 5])])


def test_an_integer_input_returned_as_output_keeps_its_dtype_in_the_graph():
    model = make_model([helper.make_node("Identity", ["x"], ["y"])],
                       [("x", TensorProto.INT8, [3])], [("y", TensorProto.INT8, [3])])
    imported = import_onnx(model)
    assert imported.outputs[0].dtype == "int8"
    rebuilt = model_from_json(model_to_json(imported))
    assert rebuilt.outputs[0].dtype == "int8"
    assert rebuilt([np.array([1, -2, 3], np.int8)]).dtype == np.int8
