"""ONNX files from strangers: every hostile file below is built by its test and refused with a
ModelioError naming the file and the part (node, tensor, attribute, field), without hanging,
without reading outside the model's folder and without allocating what the file declares.
Loads that could hang or allocate run in a child process with an address-space limit and a
timeout (config_safety_support._run_in_child), so a regression fails a test instead of the run.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from config_safety_support import _run_in_child, expect
from onnx import TensorProto, helper, numpy_helper

import modelio
from modelio.errors import ConfigError, FormatError, UnsupportedError
from modelio.onnx.import_context import MIN_FOLD_BYTES_PER_CONSTANT, MIN_FOLD_BYTES_TOTAL
from modelio.onnx.importer import import_onnx
from modelio.onnx.reader import read_onnx_file, read_onnx_header
from modelio.ops.onnx_layer import MAX_RUNTIME_BYTES

FLOAT, DOUBLE, INT64 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def make_model(nodes, inputs=(("x", FLOAT, [1, 2]),), outputs=(("y", FLOAT, None),),
               initializers=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "hostile", [helper.make_tensor_value_info(*spec) for spec in inputs],
        [helper.make_tensor_value_info(*spec) for spec in outputs], list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save(model: onnx.ModelProto, folder: Path, name: str = "model.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(model.SerializeToString())
    return path


def external_tensor(name: str, shape, location: str, data_type=FLOAT, **entries):
    """An initializer whose data lives in `location` (external data entries as given)."""
    tensor = TensorProto(name=name, data_type=data_type, dims=shape)
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, **entries}.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, str(value)
    return tensor


def matmul_with_external_weight(folder: Path, location: str, shape=(2, 2), **entries) -> Path:
    """model.onnx in `folder`: y = x @ w, with w stored as external data at `location`."""
    weight = external_tensor("w", shape, location, **entries)
    return save(make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="project")],
                           initializers=[weight]), folder)


def load_request(path: Path, inputs=None) -> dict:
    """A child-process request loading `path` (then predicting on `inputs`, [values, dtype]
    pairs, when given)."""
    request = {"kind": "path", "path": str(path)}
    if inputs is not None:
        request["inputs"] = inputs
    return request


def assert_refused(outcome: dict, error_type: type, *fragments: str) -> str:
    """`outcome` (of _run_in_child) is `error_type` with a message holding every fragment;
    returns the message."""
    assert outcome["result"] == "modelio", outcome
    assert outcome["type"] == error_type.__name__, outcome
    for fragment in fragments:
        assert fragment in outcome["message"], outcome
    return outcome["message"]


def refused_in_child(path: Path, error_type: type, *fragments: str, inputs=None,
                     memory_limit=768 * 2**20, timeout=60.0) -> str:
    """Load `path` (and predict on `inputs`) in a child process: it must end in `error_type`
    with a message holding every fragment; returns the message."""
    outcome = _run_in_child(load_request(path, inputs), memory_limit=memory_limit,
                            timeout=timeout)
    return assert_refused(outcome, error_type, *fragments)


def batch_in_child(paths_and_inputs: dict, memory_limit=768 * 2**20, timeout=240.0) -> dict:
    """{case: outcome} of loading each {case: (path, inputs)} in one child process."""
    cases = sorted(paths_and_inputs)
    outcomes = _run_in_child({"kind": "batch", "requests": [
        load_request(*paths_and_inputs[case]) for case in cases]},
        memory_limit=memory_limit, timeout=timeout)
    return dict(zip(cases, outcomes))


# ------------------------------------------------------------------------------------------------
# Files that are not regular files: FIFOs block an open(), devices never end
# ------------------------------------------------------------------------------------------------


@needs_fifo
@pytest.mark.parametrize("through_symlink", [False, True], ids=["fifo", "symlink_to_fifo"])
def test_external_data_that_is_a_fifo_is_refused_without_blocking(tmp_path, through_symlink):
    folder = tmp_path / "model"
    folder.mkdir()
    os.mkfifo(folder / "weights.bin")
    if through_symlink:
        (folder / "link.bin").symlink_to("weights.bin")
    path = matmul_with_external_weight(folder, "link.bin" if through_symlink else "weights.bin")
    refused_in_child(path, FormatError, str(path), "'w'", "a FIFO, not a regular file",
                     timeout=30)


@needs_fifo
def test_summary_of_a_model_whose_external_data_is_a_fifo_is_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    os.mkfifo(folder / "weights.bin")
    path = matmul_with_external_weight(folder, "weights.bin")
    done = subprocess.run([sys.executable, "-m", "modelio", "summary", str(path)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 2, done
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "a FIFO" in done.stderr and "'w'" in done.stderr


@needs_fifo
def test_a_model_file_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "model.onnx"
    os.mkfifo(path)
    error = expect(FormatError, modelio.load_model, path, seconds=10)
    assert str(path) in str(error)
    for reader in (read_onnx_file, read_onnx_header):
        error = expect(FormatError, reader, path, seconds=10)
        assert str(error) == (f"{path}: the model is a FIFO, not a regular file; refusing to "
                              f"read it")


def test_external_data_symlink_to_a_device_is_refused(tmp_path):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").symlink_to("/dev/zero")
    path = matmul_with_external_weight(folder, "weights.bin")
    error = expect(FormatError, read_onnx_file, path)
    assert str(path) in str(error) and "'w'" in str(error)
    assert "outside the model's folder" in str(error)


def test_external_data_that_is_a_device_inside_the_folder_is_refused(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    try:
        os.mknod(folder / "weights.bin", 0o600 | 0o020000, os.makedev(1, 5))  # /dev/zero's
    except (AttributeError, OSError):
        pytest.skip("cannot make a device node here (needs root)")
    path = matmul_with_external_weight(folder, "weights.bin")
    error = expect(FormatError, read_onnx_file, path)
    assert str(path) in str(error) and "'w'" in str(error)
    assert "is a device, not a regular file" in str(error)


def test_external_data_that_is_a_directory_is_refused(tmp_path):
    folder = tmp_path / "model"
    (folder / "shards").mkdir(parents=True)
    path = matmul_with_external_weight(folder, "shards")
    error = expect(FormatError, read_onnx_file, path)
    assert str(path) in str(error) and "'w'" in str(error)
    assert "is a directory, not a regular file" in str(error)


@pytest.mark.parametrize("location", ["weights\0.bin", "", "../outside.bin", "/etc/passwd",
                                      "sub/../../outside.bin"])
def test_external_data_location_that_is_no_file_of_the_folder_is_a_format_error(tmp_path,
                                                                                   location):
    (tmp_path / "outside.bin").write_bytes(bytes(16))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(16))
    path = matmul_with_external_weight(folder, location)
    error = expect(FormatError, read_onnx_file, path)
    assert str(path) in str(error) and "'w'" in str(error)


def test_external_data_symlink_inside_the_folder_is_read(tmp_path):
    folder = tmp_path / "model"
    (folder / "shards").mkdir(parents=True)
    weight = np.arange(4, dtype=np.float32)
    (folder / "shards" / "weights.bin").write_bytes(weight.tobytes())
    (folder / "weights.bin").symlink_to(Path("shards") / "weights.bin")
    path = matmul_with_external_weight(folder, "weights.bin")
    _, arrays = read_onnx_file(path)
    np.testing.assert_array_equal(arrays["w"], weight.reshape(2, 2))


# ------------------------------------------------------------------------------------------------
# Declared sizes checked against stored bytes before anything is allocated
# ------------------------------------------------------------------------------------------------


def test_huge_external_tensor_is_refused_before_allocating(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(16))
    path = matmul_with_external_weight(folder, "weights.bin", shape=(10**6, 10**6))
    refused_in_child(path, FormatError, str(path), "'w'", "weights.bin", "which holds 16 bytes")


def test_external_tensor_past_the_end_of_its_file_is_refused(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(16))
    path = matmul_with_external_weight(folder, "weights.bin", offset=8)
    error = expect(FormatError, read_onnx_file, path)
    assert "'w'" in str(error) and "offset 8" in str(error) and "holds 16 bytes" in str(error)


def test_external_ranges_claiming_a_small_file_over_and_over_are_refused(tmp_path):
    # 1000 initializers of 1 MiB each, all at offset 0 of one 1 MiB file: 1 GiB from 1 MiB
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(bytes(2**20))
    weights = [external_tensor(f"w{index}", [2**18], "weights.bin", offset=0)
               for index in range(1000)]
    nodes = [helper.make_node("Sum", ["x", *(weight.name for weight in weights)], ["y"])]
    path = save(make_model(nodes, inputs=[("x", FLOAT, [2**18])], initializers=weights), folder)
    error = expect(FormatError, read_onnx_file, path)
    assert str(error) == (f"{path}: initializer 'w1' brings the bytes initializers read from "
                          f"'weights.bin' to {2**21}, more than its {2**20} (ranges that "
                          f"overlap)")


@pytest.mark.parametrize("dims", [[2**32, 2**32], [2**62, 4], [0, 2**63 - 1]],
                         ids=["product", "bytes", "zero_sized"])
def test_initializer_dims_overflowing_int64_are_a_format_error(tmp_path, dims):
    weight = TensorProto(name="w", data_type=FLOAT, dims=dims)
    path = save(make_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                           initializers=[weight]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and "'w'" in str(error) and "overflows int64" in str(error)


def test_negative_initializer_dims_are_a_format_error(tmp_path):
    weight = helper.make_tensor("w", FLOAT, [-2, -2], [1.0, 2.0, 3.0, 4.0])
    path = save(make_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                           initializers=[weight]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and "'w'" in str(error) and "negative" in str(error)


TYPED_FIELDS = {"float_data": (FLOAT, [1.0, 2.0, 3.0]), "double_data": (DOUBLE, [1.0, 2.0, 3.0]),
                "int64_data": (INT64, [1, 2, 3]), "int32_data": (TensorProto.INT32, [1, 2, 3])}


@pytest.mark.parametrize("field", sorted(TYPED_FIELDS))
@pytest.mark.parametrize("shape", [[2, 2], [10**6, 10**6]], ids=["short", "huge"])
def test_typed_data_whose_count_does_not_match_the_shape_is_a_format_error(tmp_path, field,
                                                                          shape):
    data_type, values = TYPED_FIELDS[field]
    weight = TensorProto(name="w", data_type=data_type, dims=shape)
    getattr(weight, field).extend(values)
    path = save(make_model([helper.make_node("Identity", ["x"], ["y"])],
                           initializers=[weight]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(error) == (f"{path}: initializer 'w' holds 3 {field} values; shape "
                          f"{tuple(shape)} needs {shape[0] * shape[1]}")


def test_raw_data_whose_length_does_not_match_the_shape_is_a_format_error(tmp_path):
    weight = TensorProto(name="w", data_type=FLOAT, dims=[10**6, 10**6], raw_data=bytes(12))
    path = save(make_model([helper.make_node("Identity", ["x"], ["y"])],
                           initializers=[weight]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and "'w' holds 12 bytes of data" in str(error)


def test_packed_typed_data_that_does_not_fit_is_a_format_error(tmp_path):
    weight = TensorProto(name="w", data_type=TensorProto.COMPLEX64, dims=[4], float_data=[1.0])
    path = save(make_model([helper.make_node("Identity", ["x"], ["y"])],
                           initializers=[weight]), tmp_path)
    error = expect(FormatError, read_onnx_file, path)
    assert str(path) in str(error) and "'w'" in str(error)


def test_two_initializers_of_one_name_are_a_format_error(tmp_path):
    first = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    second = numpy_helper.from_array(np.zeros((2, 2), np.float32), "w")
    path = save(make_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                           initializers=[first, second]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(path) in str(error) and "two initializers are named 'w'" in str(error)


# ------------------------------------------------------------------------------------------------
# Text that is not UTF-8 (protobuf hands it back as bytes)
# ------------------------------------------------------------------------------------------------

# field -> (its path in the error, the placeholder of a valid model replaced by invalid bytes)
NON_UTF8_FIELDS = {
    "op_type": ("model.graph.node[0].op_type", b"Softmax"),
    "node_name": ("model.graph.node[0].name", b"NODENAME"),
    "tensor_name": ("model.graph.initializer[0].name", b"BIASNAME"),
    "attribute_name": ("model.graph.node[0].attribute[0].name", b"axis"),
    "domain": ("model.opset_import[1].domain", b"DOMAIN"),
    "input_name": ("model.graph.input[0].name", b"INPUTNAME"),
}


def non_utf8_model(tmp_path, placeholder: bytes) -> Path:
    bias = numpy_helper.from_array(np.ones((1, 2), np.float32), "BIASNAME")
    nodes = [helper.make_node("Softmax", ["INPUTNAME"], ["s"], name="NODENAME", axis=1),
             helper.make_node("Add", ["s", "BIASNAME"], ["y"], name="add")]
    model = make_model(nodes, inputs=[("INPUTNAME", FLOAT, [1, 2])], initializers=[bias])
    model.opset_import.add(domain="DOMAIN", version=1)
    data = model.SerializeToString()
    assert data.count(placeholder) >= 1
    broken = placeholder[:1] + b"\xff\xfe" + placeholder[3:]  # same length: framing stays valid
    path = tmp_path / "model.onnx"
    path.write_bytes(data.replace(placeholder, broken))
    return path


@pytest.mark.parametrize("field", sorted(NON_UTF8_FIELDS))
def test_text_that_is_not_utf8_is_a_format_error_naming_the_field(tmp_path, field):
    where, placeholder = NON_UTF8_FIELDS[field]
    path = non_utf8_model(tmp_path, placeholder)
    error = expect(FormatError, modelio.load_model, path)
    assert str(error).startswith(f"{path}: {where} is not UTF-8 text"), error


def test_producer_name_that_is_not_utf8_is_a_format_error_in_the_header(tmp_path):
    model = make_model([helper.make_node("Relu", ["x"], ["y"])])
    model.producer_name = "PRODUCER"
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString().replace(b"PRODUCER", b"PR\xff\xfeUCER"))
    error = expect(FormatError, read_onnx_header, path)
    assert str(error).startswith(f"{path}: model.producer_name is not UTF-8 text")


def test_in_memory_proto_with_bytes_text_is_a_format_error():
    model = make_model([helper.make_node("Relu", ["x"], ["y"], name="relu")])
    broken = onnx.ModelProto.FromString(model.SerializeToString().replace(b"relu", b"r\xffl\xfe"))
    with pytest.raises(FormatError, match=r"^in-memory: model\.graph\.node\[0\]\.name is not"):
        import_onnx(broken, source="in-memory")


# ------------------------------------------------------------------------------------------------
# Graphs onnx.checker refuses: a value written twice, attributes the op does not define
# ------------------------------------------------------------------------------------------------


def test_two_nodes_writing_one_output_are_a_format_error_naming_both(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="first"),
             helper.make_node("Sigmoid", ["x"], ["h"], name="second"),
             helper.make_node("Neg", ["h"], ["y"], name="third")]
    path = save(make_model(nodes), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(error) == (f"{path}: node 'second' (Sigmoid): writes 'h', which node 'first' "
                          f"(Relu) already gives; a value has one writer")


@pytest.mark.parametrize("written", ["x", "w"], ids=["graph_input", "initializer"])
def test_a_node_writing_a_graph_input_or_initializer_is_a_format_error(tmp_path, written):
    weight = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    nodes = [helper.make_node("Relu", ["x"], [written], name="overwrite"),
             helper.make_node("MatMul", ["x", "w"], ["y"], name="project")]
    path = save(make_model(nodes, initializers=[weight]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert f"node 'overwrite' (Relu): writes '{written}'" in str(error)


def test_an_initializer_also_listed_as_graph_input_still_imports():
    weight = numpy_helper.from_array(np.eye(2, dtype=np.float32), "w")
    model = make_model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                       inputs=[("x", FLOAT, [1, 2]), ("w", FLOAT, [2, 2])], initializers=[weight])
    x = np.array([[1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(import_onnx(model).predict(x), x)


def test_misspelt_attribute_is_a_format_error_naming_node_op_and_attribute(tmp_path):
    node = helper.make_node("Softmax", ["x"], ["y"], name="probabilities", axsi=0)
    path = save(make_model([node]), tmp_path)
    error = expect(FormatError, modelio.load_model, path)
    assert str(error) == (f"{path}: node 'probabilities' (Softmax): unknown attribute 'axsi' "
                          f"(the op defines axis at opset 17)")


@pytest.mark.parametrize("op_type, inputs, attributes", [
    ("Conv", ["x", "w"], {"kernel_shapes": [1, 1]}),
    ("Gemm", ["x", "w"], {"transb": 1}),
    ("Relu", ["x"], {"alpha": 0.1}),
    ("MaxPool", ["x"], {"kernel_shape": [1, 1], "stride": [1, 1]}),
])
def test_unknown_attributes_are_refused_for_every_converter(op_type, inputs, attributes):
    weight = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    if op_type == "Gemm":
        weight = numpy_helper.from_array(np.ones((2, 2), np.float32), "w")
    node = helper.make_node(op_type, inputs, ["y"], name="node", **attributes)
    shape = [1, 1, 2, 2] if op_type in ("Conv", "MaxPool") else [1, 2]
    model = make_model([node], inputs=[("x", FLOAT, shape)], initializers=[weight])
    unknown = sorted(attributes)[-1]
    with pytest.raises(FormatError, match=f"node 'node' \\({op_type}\\): unknown attribute "
                                          f"'{unknown}'"):
        import_onnx(model, source="m.onnx")


def test_attribute_of_the_wrong_type_is_a_format_error():
    node = helper.make_node("Softmax", ["x"], ["y"], name="probabilities", axis="1")
    with pytest.raises(FormatError, match="'probabilities' \\(Softmax\\): attribute 'axis' is "
                                          "of type STRING, the op defines it as INT"):
        import_onnx(make_model([node]), source="m.onnx")


def test_attribute_given_twice_is_a_format_error():
    node = helper.make_node("Softmax", ["x"], ["y"], name="probabilities", axis=1)
    node.attribute.append(helper.make_attribute("axis", 0))
    with pytest.raises(FormatError, match="'probabilities' \\(Softmax\\): attribute 'axis' is "
                                          "given twice"):
        import_onnx(make_model([node]), source="m.onnx")


def test_attributes_are_checked_at_the_models_opset():
    # Softmax-11's axis default is 1 and Softmax-13's -1, both have `axis`; Upsample-7 has
    # `scales` as an attribute, which Upsample-9 moved to an input
    upsample = helper.make_node("Upsample", ["x"], ["y"], name="up", scales=[1.0, 1.0, 2.0, 2.0])
    model = make_model([upsample], inputs=[("x", FLOAT, [1, 1, 2, 2])], opset=7)
    assert import_onnx(model).predict(np.ones((1, 1, 2, 2), np.float32)).shape == (1, 1, 4, 4)
    model = make_model([upsample], inputs=[("x", FLOAT, [1, 1, 2, 2])], opset=9)
    with pytest.raises(FormatError, match="unknown attribute 'scales'"):
        import_onnx(model)


def test_in_memory_initializer_with_external_data_is_refused():
    weight = external_tensor("w", [2, 2], "weights.bin")
    model = make_model([helper.make_node("MatMul", ["x", "w"], ["y"])], initializers=[weight])
    with pytest.raises(UnsupportedError, match="'w' keeps its data in an external file"):
        import_onnx(model, source="m.onnx")


# ------------------------------------------------------------------------------------------------
# Constant folding budgeted in bytes, per constant and in total
# ------------------------------------------------------------------------------------------------


def constant(name: str, value, dtype=np.int64) -> TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def reduced_into_output(source: str, dtype_code=DOUBLE) -> list:
    """Nodes that turn the constant `source` into a run-time output y = x + sum(source)."""
    nodes = [helper.make_node("ReduceSum", [source], ["total"], keepdims=0, name="total")]
    if dtype_code != FLOAT:
        nodes.append(helper.make_node("Cast", ["total"], ["total_f"], to=FLOAT, name="as_f"))
    return nodes + [helper.make_node("Add", ["x", "total_f" if dtype_code != FLOAT else "total"],
                                     ["y"], name="output")]


def filled(name: str, shape, data_type=DOUBLE) -> tuple:
    """A ConstantOfShape node making constant `name` of `shape` (a few bytes on disk), and the
    initializer of its shape."""
    value = helper.make_tensor("value", data_type, [1], [1])
    return (helper.make_node("ConstantOfShape", [f"{name}_shape"], [name], name=name,
                             value=value), constant(f"{name}_shape", list(shape)))


def folding_bomb(node, *constants) -> tuple:
    """(nodes, initializers): `node` (named 'bomb', writing 'big') on the filled `constants`,
    given as (name, shape) pairs or initializers."""
    nodes, initializers = [], []
    for entry in constants:
        if isinstance(entry, TensorProto):
            initializers.append(entry)
        else:
            maker, shape_initializer = filled(*entry)
            nodes.append(maker)
            initializers.append(shape_initializer)
    return nodes + [node], initializers


FOLDING_BOMBS = {
    # 2**28 float64 = 2 GiB, the 4 GiB of issue 12 once added to itself
    "constant_of_shape": folding_bomb(
        helper.make_node("ConstantOfShape", ["shape"], ["big"], name="bomb",
                         value=helper.make_tensor("value", DOUBLE, [1], [1.0])),
        constant("shape", [2**28])),
    "expand": folding_bomb(helper.make_node("Expand", ["one", "shape"], ["big"], name="bomb"),
                           ("one", [1]), constant("shape", [2**14, 2**14])),
    "range": folding_bomb(
        helper.make_node("Range", ["start", "limit", "delta"], ["big"], name="bomb"),
        constant("start", 0.0, np.float64), constant("limit", 2.0**28, np.float64),
        constant("delta", 1.0, np.float64)),
    "broadcast_add": folding_bomb(helper.make_node("Add", ["column", "row"], ["big"], name="bomb"),
                                  ("column", [2**14, 1]), ("row", [1, 2**14])),
    "outer_matmul": folding_bomb(
        helper.make_node("MatMul", ["column", "row"], ["big"], name="bomb"),
        ("column", [2**14, 1]), ("row", [1, 2**14])),
    "gather": folding_bomb(helper.make_node("Gather", ["table", "indices"], ["big"], name="bomb"),
                           ("table", [1, 2**14]), ("indices", [2**14], INT64)),
    "concat": folding_bomb(helper.make_node("Concat", ["row"] * 2**12, ["big"], name="bomb",
                                            axis=0), ("row", [1, 2**16])),
    "pad": folding_bomb(helper.make_node("Pad", ["one", "pads"], ["big"], name="bomb"),
                        ("one", [1, 1]), constant("pads", [0, 0, 2**14, 2**14])),
    "cast": folding_bomb(helper.make_node("Cast", ["bytes"], ["big"], name="bomb", to=DOUBLE),
                         ("bytes", [2**27], TensorProto.UINT8)),
}


@pytest.fixture(scope="module")
def folding_bomb_outcomes(tmp_path_factory) -> dict:
    """{case: (path, outcome)} of loading every FOLDING_BOMBS file, all in one child."""
    paths = {}
    for case, (nodes, initializers) in FOLDING_BOMBS.items():
        model = make_model(nodes + reduced_into_output("big"), initializers=initializers)
        paths[case] = save(model, tmp_path_factory.mktemp(case))
    outcomes = batch_in_child({case: (path, None) for case, path in paths.items()})
    return {case: (paths[case], outcomes[case]) for case in paths}


@pytest.mark.parametrize("case", sorted(FOLDING_BOMBS))
def test_a_small_graph_folding_to_gigabytes_is_refused_naming_the_node(folding_bomb_outcomes,
                                                                       case):
    path, outcome = folding_bomb_outcomes[case]
    assert path.stat().st_size < 30_000
    assert_refused(outcome, FormatError, str(path), "node 'bomb'", "folded constant may take")


def test_folded_constants_are_budgeted_in_total(tmp_path):
    # 16 constants of 128 MiB each, all kept alive by a final Concat: each fits, together
    # they would take 2 GiB
    count, elements = 16, 2**24
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["part_0"], name="first",
                              value=helper.make_tensor("value", DOUBLE, [1], [1.0]))]
    for index in range(1, count):
        nodes.append(helper.make_node("Add", [f"part_{index - 1}", "one"], [f"part_{index}"],
                                      name=f"step_{index}"))
    nodes.append(helper.make_node("Concat", [f"part_{index}" for index in range(count)],
                                  ["big"], name="all", axis=0))
    model = make_model(nodes + reduced_into_output("big"),
                       initializers=[constant("shape", [elements]),
                                     constant("one", [1.0], np.float64)])
    path = save(model, tmp_path)
    assert count * elements * 8 >= 2 * MIN_FOLD_BYTES_TOTAL
    assert elements * 8 < MIN_FOLD_BYTES_PER_CONSTANT
    message = refused_in_child(path, FormatError, str(path), "past its budget of "
                               f"{MIN_FOLD_BYTES_TOTAL} bytes", memory_limit=2 * 2**30)
    assert "(Add)" in message


def test_legit_folding_within_the_budget_still_imports():
    # a causal mask of a 1024-token sequence: ConstantOfShape + Range + comparison, 1 MiB each
    nodes = [helper.make_node("Range", ["zero", "length", "one"], ["positions"], name="positions"),
             helper.make_node("Unsqueeze", ["positions", "axis_1"], ["rows"], name="rows"),
             helper.make_node("Unsqueeze", ["positions", "axis_0"], ["columns"], name="columns"),
             helper.make_node("LessOrEqual", ["columns", "rows"], ["mask"], name="mask"),
             helper.make_node("Cast", ["mask"], ["mask_f"], to=FLOAT, name="mask_f"),
             helper.make_node("ReduceSum", ["mask_f"], ["total"], keepdims=0, name="total"),
             helper.make_node("Add", ["x", "total"], ["y"], name="output")]
    model = make_model(nodes, initializers=[
        constant("zero", 0), constant("length", 1024), constant("one", 1),
        constant("axis_0", [0]), constant("axis_1", [1])])
    result = import_onnx(model).predict(np.zeros((1, 2), np.float32))
    np.testing.assert_array_equal(result, np.full((1, 2), 1024 * 1025 / 2, np.float32))


# ------------------------------------------------------------------------------------------------
# Run time: ops whose result size comes from run-time values or input sizes
# ------------------------------------------------------------------------------------------------

SIZE = [("size", INT64, [1])]


def runtime_model(nodes, inputs, initializers=()):
    """y = x + sum(big) with `big` computed at run time by `nodes` from `inputs`."""
    return make_model(nodes + reduced_into_output("big", FLOAT),
                      inputs=[("x", FLOAT, [1, 1]), *inputs], initializers=initializers)


RUNTIME_BOMBS = {
    # name -> (model, the run-time inputs after x, as [values, dtype])
    "constant_of_shape": (runtime_model(
        [helper.make_node("ConstantOfShape", ["size"], ["big"], name="bomb",
                          value=helper.make_tensor("value", FLOAT, [1], [1.0]))], SIZE),
        [[[2**29], "int64"]]),
    "expand": (runtime_model(
        [helper.make_node("Expand", ["one", "size"], ["big"], name="bomb")],
        [("one", FLOAT, [1]), *SIZE]), [[[1.0], "float32"], [[2**29], "int64"]]),
    "range": (runtime_model(
        [helper.make_node("Range", ["start", "limit", "delta"], ["big"], name="bomb")],
        [("limit", FLOAT, [])], [constant("start", 0.0, np.float32),
                                 constant("delta", 1.0, np.float32)]), [[2.0**29, "float32"]]),
    "resize": (runtime_model(
        [helper.make_node("Resize", ["image", "", "scales"], ["big"], name="bomb", mode="linear")],
        [("image", FLOAT, [1, 1, None, None])],
        [constant("scales", [1.0, 1.0, 2.0**13, 2.0**13], np.float32)]),
        [[np.ones((1, 1, 4, 4)).tolist(), "float32"]]),
    "pad": (runtime_model(
        [helper.make_node("Pad", ["image", "pads"], ["big"], name="bomb", mode="edge")],
        [("image", FLOAT, [1, 1, None, None])], [constant("pads", [0, 0, 0, 0, 0, 0, 2**15, 2**15])]),
        [[np.ones((1, 1, 4, 4)).tolist(), "float32"]]),
    # dilations with strides: modelio's OnnxConvTranspose rather than Keras's Conv2DTranspose
    "conv_transpose": (runtime_model(
        [helper.make_node("ConvTranspose", ["image", "w"], ["big"], name="bomb",
                          strides=[2**13, 2**13], dilations=[2, 2])],
        [("image", FLOAT, [1, 1, None, None])], [constant("w", np.ones((1, 1, 1, 1)), np.float32)]),
        [[np.ones((1, 1, 8, 8)).tolist(), "float32"]]),
    "broadcast": (runtime_model(
        [helper.make_node("Sub", ["column", "row"], ["big"], name="bomb")],
        [("column", FLOAT, [None, 1]), ("row", FLOAT, [1, None])]),
        [[np.ones((2**15, 1)).tolist(), "float32"], [np.ones((1, 2**15)).tolist(), "float32"]]),
}


@pytest.fixture(scope="module")
def runtime_bomb_outcomes(tmp_path_factory) -> dict:
    """{case: outcome} of loading and running every RUNTIME_BOMBS model, all in one child."""
    requests = {case: (save(model, tmp_path_factory.mktemp(case)), [[[[0.0]], "float32"], *inputs])
                for case, (model, inputs) in RUNTIME_BOMBS.items()}
    return batch_in_child(requests)


@pytest.mark.parametrize("case", sorted(RUNTIME_BOMBS))
def test_run_time_results_beyond_the_byte_budget_are_refused_before_allocation(
        runtime_bomb_outcomes, case):
    assert_refused(runtime_bomb_outcomes[case], ConfigError, "layer 'bomb'",
                   f"at most {MAX_RUNTIME_BYTES} bytes")


def test_run_time_ops_within_the_budget_still_compute():
    model, _ = RUNTIME_BOMBS["constant_of_shape"]
    imported = import_onnx(model)
    result = imported.predict([np.zeros((1, 1), np.float32), np.array([1000], np.int64)])
    np.testing.assert_array_equal(result, [[1000.0]])


# ----- found by tools/fuzz.py -----------------------------------------------------------------

def test_an_opset_version_beyond_any_known_reads_as_the_newest(tmp_path):
    model = make_model([helper.make_node("Relu", ["x"], ["y"])])
    model.opset_import[0].version = 2**40  # beyond a C int: the schema lookup once raised TypeError
    path = save(model, tmp_path)
    try:
        modelio.load_model(path)
    except modelio.ModelioError:
        pass


def test_recurrent_weights_that_do_not_fit_the_declared_input_are_refused_at_predict(tmp_path):
    model = onnx.load(Path(__file__).resolve().parents[2] / "fixtures/torch_onnx/small_rnn.onnx")
    model.graph.input[0].type.tensor_type.shape.dim[-1].dim_param = "features"  # was 4
    loaded = modelio.load_model(save(model, tmp_path))
    with pytest.raises(ConfigError, match="its weights W take 4 input features"):
        loaded.predict(np.zeros((2, 7, 3), "float32"))
