"""The streaming ONNX reader gives what onnx.load gives, with the weights read straight into
numpy arrays, and refuses damaged files with a FormatError."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from fixture_models import FIXTURES
from onnx import helper, numpy_helper

import modelio
from modelio.errors import FormatError
from modelio.onnx.reader import read_onnx_file

PYTORCH_CONVERTED = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted"


def assert_same_as_onnx_load(path: Path):
    model, arrays = read_onnx_file(path)
    reference = onnx.load(str(path))
    assert model.graph.node == reference.graph.node
    assert model.graph.input == reference.graph.input
    assert model.graph.output == reference.graph.output
    assert model.opset_import == reference.opset_import
    assert model.ir_version == reference.ir_version
    expected = {tensor.name: numpy_helper.to_array(tensor) for tensor in reference.graph.initializer}
    assert list(arrays) == list(expected)
    for name, array in expected.items():
        assert arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(arrays[name], array)
    assert all(not tensor.raw_data for tensor in model.graph.initializer)


def test_a_streamed_modelio_export_reads_like_onnx_load(tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "small_resnet.keras")
    modelio.export_onnx(model, tmp_path / "resnet.onnx")
    assert_same_as_onnx_load(tmp_path / "resnet.onnx")


def test_a_model_saved_by_onnx_reads_like_onnx_load(tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "transformer_block.keras")
    onnx.save_model(modelio.export_onnx(model), str(tmp_path / "block.onnx"))
    assert_same_as_onnx_load(tmp_path / "block.onnx")


@pytest.mark.parametrize("name", ["test_Conv2d", "test_Linear", "test_Embedding", "test_GLU"])
def test_pytorch_converted_models_from_the_onnx_package_read_like_onnx_load(name):
    assert_same_as_onnx_load(PYTORCH_CONVERTED / name / "model.onnx")


def test_external_data_is_read_from_beside_the_model(tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "mlp.keras")
    path = tmp_path / "mlp.onnx"
    modelio.export_onnx(model, path, external_data=True)
    proto, arrays = read_onnx_file(path)
    expected = {tensor.name: numpy_helper.to_array(tensor)
                for tensor in onnx.load(str(path)).graph.initializer}
    assert set(arrays) == set(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(arrays[name], array)


def test_external_data_outside_the_models_folder_is_refused(tmp_path):
    weights = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    weights.ClearField("raw_data")
    weights.data_location = onnx.TensorProto.EXTERNAL
    entry = weights.external_data.add()
    entry.key, entry.value = "location", "../secret.bin"
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", 1, [1, 2])],
                              [helper.make_tensor_value_info("y", 1, [1, 2])], [weights])
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    onnx.save_model(helper.make_model(graph), str(folder / "m.onnx"))
    with pytest.raises(FormatError, match="outside the model's folder"):
        read_onnx_file(folder / "m.onnx")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "wrong_size"])
def test_damaged_files_are_format_errors(tmp_path, damage):
    model = modelio.load_model(FIXTURES / "keras3_files" / "mlp.keras")
    good = onnx.load_from_string(modelio.export_onnx(model).SerializeToString())
    path = tmp_path / "bad.onnx"
    data = good.SerializeToString()
    if damage == "truncated":
        data = data[: len(data) * 2 // 3]
    elif damage == "garbage":
        data = bytes(range(256)) * 8
    elif damage == "empty":
        data = b""
    else:
        good.graph.initializer[0].dims[0] += 1  # the payload no longer fits the shape
        data = good.SerializeToString()
    path.write_bytes(data)
    if damage == "empty":  # an empty protobuf is an empty (graph-less) model, not an error here
        proto, arrays = read_onnx_file(path)
        assert not proto.graph.node and not arrays
        return
    with pytest.raises(FormatError):
        read_onnx_file(path)
