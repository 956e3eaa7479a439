"""Unknown sizes in ONNX import (symbolic, -1 and 0 input dims): one import runs for different
actual sizes and matches onnxruntime; sizes the shape arithmetic determines are kept (a Conv after
a Reshape to a run-time shape); the `input_shapes` override (API and --input-shape) and its
errors; the round trip import -> export_onnx -> onnxruntime for rank-0 inputs, a first axis that
is no batch and features needing an opset newer than the default (which an unset opset rises
to)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper
from onnx_graphs import make_model, ort_outputs

import modelio
from modelio.cli import main as cli_main
from modelio.errors import ConfigError, UnsupportedError
from modelio.formats.config import model_from_json, model_to_json
from modelio.onnx.export import DEFAULT_OPSET, _check_op_versions, export_onnx
from modelio.onnx.export_support import OpsetNeeded
from modelio.onnx.importer import import_onnx

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64
RNG = np.random.default_rng(14)
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "torch_onnx"


def modelio_outputs(imported, feeds: dict) -> list:
    outputs = imported(list(feeds.values()))
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def random(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def exported_outputs(imported, feeds: dict, **options) -> list:
    proto = export_onnx(imported, **options)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    names = [entry.name for entry in session.get_inputs()]
    return session.run(None, dict(zip(names, feeds.values())))


def assert_runs_like(imported, reference, feeds_list, round_trip=True):
    """`imported` (one import) matches onnxruntime on `reference` for every feeds dict, and so
    does its own export back to ONNX."""
    for feeds in feeds_list:
        expected = ort_outputs(reference, feeds)
        got = modelio_outputs(imported, feeds)
        for value, wanted in zip(got, expected):
            assert np.asarray(value).shape == wanted.shape
            np.testing.assert_allclose(value, wanted, rtol=1e-5, atol=1e-5)
        if round_trip:
            for value, wanted in zip(exported_outputs(imported, feeds), expected):
                np.testing.assert_allclose(value, wanted, rtol=1e-5, atol=1e-5)


CONV_WEIGHTS = [("w", random(4, 3, 3, 3)), ("b", random(4))]


def conv_net(dims):
    return make_model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                       helper.make_node("Relu", ["c"], ["y"])],
                      [("x", FLOAT, dims)], [("y", FLOAT, None)], CONV_WEIGHTS)


@pytest.mark.parametrize("dims", [["N", 3, "H", "W"], [-1, 3, -1, -1], [0, 3, 0, 0],
                                  [None, 3, None, None]])
def test_symbolic_minus_one_and_zero_dims_import_once_and_run_for_two_sizes(dims):
    model = conv_net(dims)
    imported = import_onnx(model)
    assert imported.inputs[0].shape == (None, 3, None, None)
    # onnxruntime reads 0 as a fixed empty size: the reference declares the same graph symbolic
    assert_runs_like(imported, conv_net(["N", 3, "H", "W"]),
                     [{"x": random(1, 3, 8, 8)}, {"x": random(2, 3, 5, 7)}])


def test_an_empty_vector_input_stays_empty_not_unknown():
    model = make_model([helper.make_node("Concat", ["x", "e"], ["y"], axis=0)],
                       [("x", FLOAT, [3]), ("e", FLOAT, [0])], [("y", FLOAT, [3])])
    assert import_onnx(model).inputs[1].shape == (0,)


def reshape_then_conv_model():
    """x (N, 4, H, W) -> Reshape to [N, 4, -1] and back to [N, 4, H, W], both target shapes
    built at run time from Shape -> Gather -> Concat, then a Conv: the Conv's channel count is
    known only through the shape arithmetic."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             *[helper.make_node("Gather", ["s", f"i{axis}"], [name], axis=0)
               for axis, name in ((0, "n"), (2, "h"), (3, "w"))],
             helper.make_node("Concat", ["n", "c4", "m1"], ["s1"], axis=0),
             helper.make_node("Reshape", ["x", "s1"], ["r1"]),
             helper.make_node("Softmax", ["r1"], ["p"], axis=-1),
             helper.make_node("Concat", ["n", "c4", "h", "w"], ["s2"], axis=0),
             helper.make_node("Reshape", ["p", "s2"], ["r2"]),
             helper.make_node("Conv", ["r2", "wt"], ["y"], pads=[1, 1, 1, 1])]
    constants = [(f"i{axis}", np.array([axis], np.int64)) for axis in (0, 2, 3)]
    return make_model(nodes, [("x", FLOAT, ["N", 4, "H", "W"])], [("y", FLOAT, None)],
                      [*constants, ("c4", np.array([4], np.int64)),
                       ("m1", np.array([-1], np.int64)), ("wt", random(2, 4, 3, 3))])


def test_reshape_to_run_time_shapes_keeps_the_channels_a_later_conv_needs():
    model = reshape_then_conv_model()
    imported = import_onnx(model)
    conv = [layer for layer in imported.layers if type(layer).__name__ == "Conv2D"]
    assert len(conv) == 1 and conv[0].inbound_nodes[0].input_tensors[0].shape[1] == 4
    feeds_list = [{"x": random(1, 4, 6, 6)}, {"x": random(3, 4, 5, 9)}]
    assert_runs_like(imported, model, feeds_list)
    rebuilt = model_from_json(model_to_json(imported))  # the known sizes are in the config
    rebuilt.set_weights(imported.get_weights())
    for feeds in feeds_list:
        np.testing.assert_array_equal(modelio_outputs(rebuilt, feeds)[0],
                                      modelio_outputs(imported, feeds)[0])


def test_conv_takes_its_channel_count_from_its_weight_after_an_opaque_reshape():
    model = make_model([helper.make_node("Reshape", ["x", "s"], ["r"]),
                        helper.make_node("Conv", ["r", "wt"], ["y"])],
                       [("x", FLOAT, ["N", 48]), ("s", INT64, [4])], [("y", FLOAT, None)],
                       [("wt", random(2, 3, 1, 1))])
    imported = import_onnx(model)
    assert_runs_like(imported, model, [{"x": random(1, 48), "s": np.array([1, 3, 4, 4])},
                                       {"x": random(2, 48), "s": np.array([2, 3, 2, 8])}])


def test_torch_exported_dynamic_batch_height_width_net_matches_torch_for_two_sizes():
    model = modelio.load_model(FIXTURES / "dynamic_cnn.onnx")
    assert model.inputs[0].shape == (None, 3, None, None)
    recorded = np.load(FIXTURES / "dynamic_cnn.npz")
    for key in "ab":
        sample = recorded[f"input:{key}"]
        np.testing.assert_allclose(np.asarray(model.predict(sample)), recorded[f"output:{key}"],
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(exported_outputs(model, {"input": sample})[0],
                                   recorded[f"output:{key}"], rtol=1e-5, atol=1e-5)


# ----- the input_shapes override -----

def size_model():
    """y = x * Size(x): importable only with x's sizes known."""
    return make_model([helper.make_node("Size", ["x"], ["n"]),
                       helper.make_node("Cast", ["n"], ["f"], to=FLOAT),
                       helper.make_node("Mul", ["x", "f"], ["y"])],
                      [("x", FLOAT, ["N", 3, "H", "W"])], [("y", FLOAT, None)])


def test_input_shapes_fix_unknown_sizes_and_a_failing_import_names_the_input(tmp_path):
    path = tmp_path / "size.onnx"
    onnx.save(size_model(), path)
    with pytest.raises(UnsupportedError, match=r"graph input\(s\) 'x' \(\?, 3, \?, \?\).*"
                                               r"--input-shape x=SIZE,3,SIZE,SIZE"):
        modelio.load_model(path)
    model = modelio.load_model(path, input_shapes={"x": (1, 3, 4, 5)})
    assert model.inputs[0].shape == (1, 3, 4, 5)
    sample = random(1, 3, 4, 5)
    np.testing.assert_allclose(np.asarray(model.predict(sample)), sample * 60, rtol=1e-6)
    partly = import_onnx(conv_net(["N", 3, "H", "W"]), input_shapes={"x": [None, 3, 8, 8]})
    assert partly.inputs[0].shape == (None, 3, 8, 8)


@pytest.mark.parametrize("shapes, message", [
    ({"images": (1, 3, 4, 5)}, "'images', which is no graph input"),
    ({"x": (1, 3, 4)}, "rank 4"),
    ({"x": (1, 2, 4, 5)}, "declares size 3 on axis 1"),
    ({"x": (1, 3, 0, 5)}, "positive integers"),
    ({"x": "1,3,4,5"}, "positive integers"),
])
def test_input_shapes_that_do_not_fit_the_graph_are_config_errors(shapes, message):
    with pytest.raises(ConfigError, match=message):
        import_onnx(size_model(), input_shapes=shapes)


def test_input_shapes_for_a_file_that_is_not_onnx_is_a_config_error(tmp_path):
    path = tmp_path / "conv.onnx"
    onnx.save(conv_net(["N", 3, "H", "W"]), path)
    keras_path = tmp_path / "conv.keras"
    modelio.save_model(modelio.load_model(path), keras_path)
    with pytest.raises(ConfigError, match="ONNX files only"):
        modelio.load_model(keras_path, input_shapes={"x": (1, 3, 8, 8)})


def test_cli_input_shape_option_on_the_loading_commands_and_its_errors(tmp_path, capsys):
    path = tmp_path / "size.onnx"
    onnx.save(size_model(), path)
    assert cli_main(["summary", str(path)]) == 2
    assert "--input-shape x=" in capsys.readouterr().err
    assert cli_main(["summary", str(path), "--input-shape", "x=1,3,4,5"]) == 0
    assert "(1, 3, 4, 5)" in capsys.readouterr().out.replace("None", "?")
    target = tmp_path / "size_fixed.onnx"
    assert cli_main(["-q", "convert", str(path), str(target), "--input-shape", "x=1,3,4,5"]) == 0
    sample = random(1, 3, 4, 5)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: sample})[0],
                               sample * 60, rtol=1e-6)
    assert cli_main(["summary", str(path), "--input-shape", "y=1,3,4,5"]) == 2
    assert "'y', which is no graph input" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["summary", str(path), "--input-shape", "x=1,three"])
    keras_path = tmp_path / "size.keras"
    assert cli_main(["-q", "convert", str(path), str(keras_path), "--input-shape",
                     "x=1,3,4,5"]) == 0
    assert cli_main(["summary", str(keras_path), "--input-shape", "x=1,3,4,5"]) == 2
    assert "ONNX files only" in capsys.readouterr().err


# ----- round trips: rank-0 inputs, a first axis that is no batch, opset raising -----

def test_rank_0_input_round_trips_through_export_into_onnxruntime():
    model = make_model([helper.make_node("Mul", ["x", "s"], ["y"])],
                       [("x", FLOAT, ["N", 3]), ("s", FLOAT, [])], [("y", FLOAT, None)])
    imported = import_onnx(model)
    assert imported.inputs[1].shape == ()
    proto = export_onnx(imported)
    assert len(proto.graph.input[1].type.tensor_type.shape.dim) == 0
    assert_runs_like(imported, model, [{"x": random(2, 3), "s": np.array(1.5, np.float32)}])


def test_a_first_axis_that_is_no_batch_keeps_its_size_in_the_export():
    model = make_model([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])],
                       [("x", FLOAT, [5, "N"])], [("y", FLOAT, None)])
    imported = import_onnx(model)
    proto = export_onnx(imported, batch_size=2)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 5
    feeds = {"x": random(5, 3)}
    np.testing.assert_allclose(exported_outputs(imported, feeds, batch_size=2)[0],
                               ort_outputs(model, feeds)[0])


def wrap_pad_model():
    return make_model([helper.make_node("Pad", ["x", "pads"], ["y"], mode="wrap")],
                      [("x", FLOAT, ["N", 3, 4])], [("y", FLOAT, None)],
                      [("pads", np.array([0, 0, 1, 0, 0, 2], np.int64))], opset=19,
                      ir_version=9)


def antialias_resize_model():
    return make_model([helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear",
                                        antialias=1)],
                      [("x", FLOAT, ["N", 2, 8, 8])], [("y", FLOAT, None)],
                      [("scales", np.array([1, 1, 0.5, 0.5], np.float32))], opset=18)


@pytest.mark.parametrize("make, shape, needed", [(wrap_pad_model, (2, 3, 4), 19),
                                                 (antialias_resize_model, (2, 2, 8, 8), 18)])
def test_export_with_no_opset_rises_to_the_opset_a_lowering_needs(make, shape, needed):
    model = make()
    imported = import_onnx(model)
    proto = export_onnx(imported)
    assert DEFAULT_OPSET < needed == proto.opset_import[0].version
    assert_runs_like(imported, model, [{"x": random(*shape)}])
    with pytest.raises(UnsupportedError, match=f"needs opset {needed} or newer, exporting to "
                                               f"{needed - 1}"):
        export_onnx(imported, opset=needed - 1)


def test_a_lowered_op_newer_than_the_export_opset_asks_for_its_first_opset():
    graph = SimpleNamespace(opset=17, nodes=[helper.make_node("BitwiseNot", ["x"], ["y"],
                                                              name="n")])
    with pytest.raises(OpsetNeeded, match="BitwiseNot needs opset 18") as caught:
        _check_op_versions(graph)
    assert caught.value.opset == 18
    graph.opset = 18
    _check_op_versions(graph)


# ----- sizes the shape arithmetic keeps, and same padding on sizes known only at run time -----

def attention_heads_model():
    """(B, T, 8) -> heads (B, T, 2, 4) -> attention -> Reshape to [B, T, -1] (both target shapes
    from Shape -> Gather -> Unsqueeze -> Concat) -> MatMul: the -1 is 8, which the MatMul needs."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "i0"], ["b"], axis=0),
             helper.make_node("Gather", ["s", "i1"], ["t"], axis=0),
             helper.make_node("Unsqueeze", ["b", "ax0"], ["bu"]),
             helper.make_node("Unsqueeze", ["t", "ax0"], ["tu"]),
             helper.make_node("Concat", ["bu", "tu", "h", "d"], ["heads"], axis=0),
             helper.make_node("MatMul", ["x", "wq"], ["q"]),
             helper.make_node("Reshape", ["q", "heads"], ["qh"]),
             helper.make_node("Transpose", ["qh"], ["qt"], perm=[0, 2, 1, 3]),
             helper.make_node("Transpose", ["qh"], ["kt"], perm=[0, 2, 3, 1]),
             helper.make_node("MatMul", ["qt", "kt"], ["scores"]),
             helper.make_node("Softmax", ["scores"], ["p"], axis=-1),
             helper.make_node("MatMul", ["p", "qt"], ["o"]),
             helper.make_node("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]),
             helper.make_node("Concat", ["bu", "tu", "m1"], ["merged"], axis=0),
             helper.make_node("Reshape", ["ot", "merged"], ["y0"]),
             helper.make_node("MatMul", ["y0", "wo"], ["y"])]
    return make_model(nodes, [("x", FLOAT, ["B", "T", 8])], [("y", FLOAT, None)],
                      [("i0", np.array(0)), ("i1", np.array(1)), ("ax0", np.array([0])),
                       ("h", np.array([2])), ("d", np.array([4])), ("m1", np.array([-1])),
                       ("wq", random(8, 8)), ("wo", random(8, 8))])


def test_a_reshape_merging_heads_back_to_minus_one_keeps_the_width_it_can_know():
    model = attention_heads_model()
    imported = import_onnx(model)
    assert imported.outputs[0].shape == (None, None, 8)
    assert_runs_like(imported, model, [{"x": random(1, 3, 8)}, {"x": random(2, 5, 8)}])


@pytest.mark.parametrize("op, attributes", [
    ("Conv", {"strides": [2, 2]}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2]}),
])
def test_same_upper_with_strides_on_unknown_sizes_runs_and_exports_as_auto_pad(op, attributes):
    inputs = ["x", "w"] if op == "Conv" else ["x"]
    model = make_model([helper.make_node(op, inputs, ["y"], auto_pad="SAME_UPPER", **attributes)],
                       [("x", FLOAT, ["N", 3, "H", "W"])], [("y", FLOAT, None)],
                       [("w", random(4, 3, 3, 3))] if op == "Conv" else [])
    imported = import_onnx(model)
    assert_runs_like(imported, model, [{"x": random(1, 3, 8, 8)}, {"x": random(2, 3, 7, 9)}])
    written = [node for node in export_onnx(imported).graph.node if node.op_type == op]
    assert [attribute.s for node in written for attribute in node.attribute
            if attribute.name == "auto_pad"] == [b"SAME_UPPER"]


def test_resize_to_another_tensors_run_time_size_imports_and_round_trips():
    """An FPN-style upsampling: a stride-2 branch resized back to the input's height and width,
    taken at run time from Shape -> Slice -> Concat, then a Conv (channels kept)."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], strides=[2, 2]),
             helper.make_node("Shape", ["a"], ["sa"]), helper.make_node("Shape", ["x"], ["sx"]),
             helper.make_node("Slice", ["sa", "zero", "two"], ["nc"]),
             helper.make_node("Slice", ["sx", "two", "four"], ["hw"]),
             helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
             helper.make_node("Resize", ["a", "", "", "sizes"], ["u"], mode="linear"),
             helper.make_node("Conv", ["u", "w2"], ["y"])]
    model = make_model(nodes, [("x", FLOAT, ["N", 3, "H", "W"])], [("y", FLOAT, None)],
                       [("w1", random(4, 3, 1, 1)), ("w2", random(2, 4, 1, 1)),
                        ("zero", np.array([0])), ("two", np.array([2])), ("four", np.array([4]))],
                       opset=13)
    imported = import_onnx(model)
    feeds_list = [{"x": random(1, 3, 8, 8)}, {"x": random(2, 3, 6, 11)}]
    assert_runs_like(imported, model, feeds_list)
    rebuilt = model_from_json(model_to_json(imported))
    rebuilt.set_weights(imported.get_weights())
    np.testing.assert_array_equal(modelio_outputs(rebuilt, feeds_list[1])[0],
                                  modelio_outputs(imported, feeds_list[1])[0])


@pytest.mark.parametrize("op", ["MatMul", "Gemm"])
def test_dense_takes_its_input_width_from_its_kernel_after_an_opaque_reshape(op):
    rank = 3 if op == "MatMul" else 2
    model = make_model([helper.make_node("Reshape", ["x", "s"], ["r"]),
                        helper.make_node(op, ["r", "w"], ["y"])],
                       [("x", FLOAT, ["N", 12]), ("s", INT64, [rank])], [("y", FLOAT, None)],
                       [("w", random(4, 5))])
    imported = import_onnx(model)
    assert "Dense" in [type(layer).__name__ for layer in imported.layers]
    shapes = ([1, 3, 4], [2, 3, 4]) if rank == 3 else ([3, 4], [6, 4])
    assert_runs_like(imported, model, [{"x": random(1, 12), "s": np.array(shapes[0])},
                                       {"x": random(2, 12), "s": np.array(shapes[1])}])
