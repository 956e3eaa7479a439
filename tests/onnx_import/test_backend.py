"""modelio as an onnx.backend Backend: prepare/run, inputs bound as constants when an op needs
them, and imported graphs that compute across their first axis."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import helper, numpy_helper

import modelio
from modelio.errors import FormatError
from modelio.onnx.backend import ModelioBackend
from modelio.onnx.import_context import ConstantInputNeeded
from modelio.onnx.importer import import_onnx


def make_model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def onnxruntime_outputs(model, feed: dict) -> list:
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, feed)


def conv_with_run_time_weights():
    return make_model([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
                      [helper.make_tensor_value_info("x", 1, [1, 2, 5, 5]),
                       helper.make_tensor_value_info("w", 1, [3, 2, 3, 3])],
                      [helper.make_tensor_value_info("y", 1, [1, 3, 5, 5])])


def test_backend_binds_weights_given_as_inputs_for_each_run():
    model = conv_with_run_time_weights()
    rep = ModelioBackend.prepare(model)
    rng = np.random.default_rng(0)
    for _ in range(2):  # new weights each run: each run imports with its own
        x = rng.normal(size=(1, 2, 5, 5)).astype(np.float32)
        w = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
        (got,) = rep.run([x, w])
        (want,) = onnxruntime_outputs(model, {"x": x, "w": w})
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_plain_import_names_the_input_an_op_needs_as_a_constant():
    with pytest.raises(ConstantInputNeeded) as caught:
        import_onnx(conv_with_run_time_weights(), source="conv")
    assert caught.value.input_name == "w" and "must be a constant" in str(caught.value)


def test_run_model_takes_inputs_by_name_and_supports_the_cpu_only():
    weights = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "w")
    model = make_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                       [helper.make_tensor_value_info("x", 1, ["n", 3])],
                       [helper.make_tensor_value_info("y", 1, ["n", 2])], [weights])
    x = np.ones((4, 3), np.float32)
    (got,) = ModelioBackend.run_model(model, {"x": x})
    np.testing.assert_array_equal(got, x @ numpy_helper.to_array(weights))
    assert ModelioBackend.supports_device("CPU") and not ModelioBackend.supports_device("CUDA")


def test_backend_refuses_a_model_that_fails_the_onnx_checker():
    broken = make_model([helper.make_node("Relu", ["missing"], ["y"])],
                        [helper.make_tensor_value_info("x", 1, [2])],
                        [helper.make_tensor_value_info("y", 1, [2])])
    with pytest.raises(FormatError, match="onnx.checker"):
        ModelioBackend.prepare(broken)


def test_predict_runs_a_graph_with_a_fixed_first_axis_whole(tmp_path):
    # Transpose moves axis 0: splitting 40 rows into batches of 32 would be wrong
    model = make_model([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])],
                       [helper.make_tensor_value_info("x", 1, [40, 3])],
                       [helper.make_tensor_value_info("y", 1, [3, 40])])
    onnx.save_model(model, str(tmp_path / "t.onnx"))
    imported = modelio.load_model(tmp_path / "t.onnx")
    x = np.arange(120, dtype=np.float32).reshape(40, 3)
    np.testing.assert_array_equal(imported.predict(x, batch_size=32), x.T)
