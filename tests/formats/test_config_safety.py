"""Bad model configs are refused with a clear ModelioError, and nothing else: cycles, missing
layers and nodes, unknown classes, module injection, code-carrying layers, wrong types.

Whatever a config holds, reading it (and running what was read) ends in success or in a
`modelio.ModelioError` subclass whose message names the layer and what was expected — never a raw
exception, never a hang, never code from the file executed or imported."""

import base64
import builtins
import importlib
import json
import marshal
import os
import types
from pathlib import Path

import pytest
from config_safety_support import (
    DIALECTS,
    MODEL_NAME,
    CodeWasRun,
    call_node,
    dense_entry,
    dense_model,
    expect,
    functional,
    input_entry,
    keras_tensor,
    layer_entry,
    load,
    plain_entry,
    sequential,
    single_layer_model,
)

import modelio
from modelio import (
    ConfigError,
    GraphError,
    ModelioError,
    UnsafeContentError,
    UnsupportedError,
)

# ------------------------------------------------------------------------------------------------
# Controls: the hand-written documents are valid, so every refusal below is caused by the mutation
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_hand_written_minimal_documents_load_in_both_dialects(dialect):
    model = load(dense_model(dialect))
    assert [layer.name for layer in model.layers] == ["features", "hidden_1"]
    assert load(single_layer_model("Softmax")).output_shape == [(None, 4)]
    stack = load(sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
                            plain_entry("Dense", name="dense_7", units=2)))
    assert stack.output_shape == (None, 2)


def test_code_execution_guard_itself_catches_and_blocks_calls(forbidden_calls, tmp_path):
    # The guard used by the safety tests below must really see (and stop) such calls.
    with pytest.raises(CodeWasRun):
        os.system(f"touch {tmp_path / 'pwned'}")
    with pytest.raises(CodeWasRun):
        builtins.eval("1 + 1")
    with pytest.raises(CodeWasRun):
        importlib.import_module("antigravity")
    assert [call[0] for call in forbidden_calls] == ["os.system", "builtins.eval",
                                                     "importlib.import_module"]
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------------------------------------
# 1. Cycles
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cycle_between_two_layers_is_graph_error_mentioning_loop(dialect):
    document = functional([input_entry(dialect=dialect),
                           dense_entry("layer_a", "layer_b", dialect),
                           dense_entry("layer_b", "layer_a", dialect),
                           dense_entry("hidden_1", "layer_b", dialect)], dialect=dialect)
    error = expect(GraphError, load, document, seconds=2)
    assert "loop" in str(error)
    assert "'layer_a'" in str(error) and "'layer_b'" in str(error)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_layer_feeding_itself_is_graph_error_mentioning_loop(dialect):
    document = functional([input_entry(dialect=dialect),
                           dense_entry("hidden_1", "hidden_1", dialect)], dialect=dialect)
    error = expect(GraphError, load, document, seconds=2)
    assert "loop" in str(error) and "'hidden_1'" in str(error)


def test_cycle_through_second_node_of_shared_layer_is_graph_error():
    shared = layer_entry("Dense", "shared", [call_node("keras3", ("features", 0, 0)),
                                             call_node("keras3", ("hidden_1", 0, 0))], units=4)
    document = functional([input_entry(), shared,
                           dense_entry("hidden_1", "shared", node_index=1, units=4)])
    error = expect(GraphError, load, document, seconds=2)
    assert "loop" in str(error)


def test_ring_of_two_thousand_layers_is_refused_promptly():
    count = 2000
    ring = [dense_entry(f"ring_{i}", f"ring_{(i - 1) % count}", units=4) for i in range(count)]
    document = functional([input_entry(), *ring], outputs=[("ring_0", 0, 0)])
    error = expect(GraphError, load, document, seconds=5)
    assert "loop" in str(error)


# ------------------------------------------------------------------------------------------------
# 2. References to layers that do not exist
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_inbound_reference_to_missing_layer_is_graph_error_naming_it(dialect):
    document = dense_model(dialect)
    node = ([[["missing", 0, 0, {}]]] if dialect == "keras2"
            else [{"args": [keras_tensor("missing")], "kwargs": {}}])
    document["config"]["layers"][1]["inbound_nodes"] = node
    error = expect(GraphError, load, document)
    assert "'missing'" in str(error) and "'hidden_1'" in str(error)


@pytest.mark.parametrize("endpoint", ["input_layers", "output_layers"])
def test_endpoint_naming_missing_layer_is_graph_error_naming_it(endpoint):
    document = dense_model()
    document["config"][endpoint] = [["missing", 0, 0]]
    error = expect(GraphError, load, document)
    assert "'missing'" in str(error) and endpoint in str(error)


# ------------------------------------------------------------------------------------------------
# 3. Node and tensor indices
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reference_to_node_five_of_single_node_layer_is_graph_error(dialect):
    error = expect(GraphError, load, dense_model(dialect, node_index=5))
    assert "node 5" in str(error) and "'features'" in str(error) and "'hidden_1'" in str(error)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tensor_index_beyond_layer_outputs_is_graph_error(dialect):
    error = expect(GraphError, load, dense_model(dialect, tensor_index=3))
    assert "output 3" in str(error) and "'features'" in str(error)


@pytest.mark.parametrize("position", [1, 2], ids=["node_index", "tensor_index"])
def test_output_layers_index_out_of_range_is_graph_error(position):
    document = dense_model()
    document["config"]["output_layers"][0][position] = 7
    error = expect(GraphError, load, document)
    assert "'hidden_1'" in str(error) and "7" in str(error)


BAD_INDICES = [-1, 1.5, "0", True, None, [0], 10**30]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("position", ["node_index", "tensor_index"])
@pytest.mark.parametrize("value", BAD_INDICES, ids=repr)
def test_negative_or_non_integer_inbound_index_is_modelio_error(dialect, position, value):
    document = dense_model(dialect, **{position: value})
    error = expect(ModelioError, load, document)
    assert isinstance(error, (ConfigError, GraphError))
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("position", [1, 2], ids=["node_index", "tensor_index"])
@pytest.mark.parametrize("value", BAD_INDICES, ids=repr)
def test_negative_or_non_integer_endpoint_index_is_modelio_error(position, value):
    document = dense_model()
    document["config"]["input_layers"][0][position] = value
    error = expect(ModelioError, load, document)
    assert "input_layers" in str(error)


# ------------------------------------------------------------------------------------------------
# 4. Unknown classes
# ------------------------------------------------------------------------------------------------


def test_unknown_class_name_at_top_level_is_unsupported_error_naming_it():
    error = expect(UnsupportedError, load,
                   {"module": "keras.layers", "class_name": "FancyLayer", "config": {"name": "fancy"}})
    assert "'FancyLayer'" in str(error) and "'fancy'" in str(error)


def test_unknown_class_name_inside_functional_is_unsupported_error_naming_it():
    document = dense_model()
    document["config"]["layers"][1]["class_name"] = "FancyLayer"
    error = expect(UnsupportedError, load, document)
    assert "'FancyLayer'" in str(error) and "'hidden_1'" in str(error)


def test_unknown_class_name_inside_sequential_is_unsupported_error_naming_it():
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
                          plain_entry("FancyLayer", name="fancy_1"))
    error = expect(UnsupportedError, load, document)
    assert "'FancyLayer'" in str(error) and "'fancy_1'" in str(error)


# ------------------------------------------------------------------------------------------------
# 5. module / class_name injection
# ------------------------------------------------------------------------------------------------

INJECTIONS = [("os", "system"), ("builtins", "eval"), ("builtins", "exec"),
              ("subprocess", "Popen"), ("subprocess", "check_output"), ("posix", "system"),
              ("importlib", "import_module"), ("pickle", "loads")]


def _injected_entry(module, class_name, side_effect: Path):
    return {"module": module, "class_name": class_name,
            "config": {"name": "evil", "command": f"touch {side_effect}",
                       "args": [f"touch {side_effect}"], "source": f"open({str(side_effect)!r}, 'w')"},
            "registered_name": class_name, "name": "evil", "inbound_nodes": []}


@pytest.mark.parametrize("where", ["top_level", "functional_layer", "sequential_layer"])
@pytest.mark.parametrize("module,class_name", INJECTIONS, ids=lambda value: value)
def test_module_injection_is_refused_and_runs_nothing(module, class_name, where, tmp_path,
                                                      forbidden_calls):
    side_effect = tmp_path / "pwned"
    entry = _injected_entry(module, class_name, side_effect)
    if where == "top_level":
        document = entry
    elif where == "functional_layer":
        entry["inbound_nodes"] = [call_node("keras3", ("features", 0, 0))]
        document = functional([input_entry(), entry], outputs=[("evil", 0, 0)])
    else:
        del entry["inbound_nodes"], entry["name"]
        document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"), entry)
    error = expect(UnsafeContentError, load, document)
    assert f"'{module}'" in str(error) and "'evil'" in str(error)
    assert forbidden_calls == []
    assert not side_effect.exists()


def test_module_injection_in_json_file_is_refused_by_load_model(tmp_path, forbidden_calls):
    side_effect = tmp_path / "pwned"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_injected_entry("os", "system", side_effect)))
    error = expect(UnsafeContentError, modelio.load_model, path)
    assert "'evil'" in str(error) and "'os'" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


@pytest.mark.parametrize("module", ["keras_evil", "kerasx.layers", "keras_contrib.layers",
                                    "tensorflow.kerasx", "modelio_plugin.layers"])
def test_module_that_only_starts_like_keras_is_refused(module, forbidden_calls):
    # The module check must compare whole package names: `keras_evil` is not `keras`.
    document = dense_model()
    document["config"]["layers"][1]["module"] = module
    error = expect(UnsafeContentError, load, document)
    assert module in str(error) and "'hidden_1'" in str(error)
    assert forbidden_calls == []


@pytest.mark.parametrize("activation", [
    {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"},
    {"module": "builtins", "class_name": "function", "config": "eval", "registered_name": "function"},
], ids=["os.system", "builtins.eval"])
def test_activation_function_from_foreign_module_is_unsafe_content(activation, forbidden_calls):
    error = expect(UnsafeContentError, load, dense_model(activation=activation))
    assert "'hidden_1'" in str(error) and activation["module"] in str(error)
    assert forbidden_calls == []


# ------------------------------------------------------------------------------------------------
# 7. Layers that carry code: Lambda, TFOpLambda, SlicingOpLambda, __lambda__ functions
# ------------------------------------------------------------------------------------------------


def _marshalled_lambda(side_effect: Path) -> str:
    """What Keras's func_dump writes for `lambda x: open(<side_effect>, 'w')`: base64 marshal."""
    module_code = builtins.compile(f"lambda x: open({str(side_effect)!r}, 'w')", "<lambda>", "eval")
    code = next(const for const in module_code.co_consts if isinstance(const, types.CodeType))
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")  # = codecs.encode(.., "base64")


def test_keras3_lambda_layer_is_unsafe_content_naming_layer(tmp_path, forbidden_calls):
    side_effect = tmp_path / "pwned"
    function = {"class_name": "__lambda__",
                "config": {"code": _marshalled_lambda(side_effect), "defaults": None, "closure": None}}
    lam = layer_entry("Lambda", "my_lambda", [call_node("keras3", ("features", 0, 0))],
                      function=function, output_shape=None, arguments={})
    document = functional([input_entry(), lam], outputs=[("my_lambda", 0, 0)])
    error = expect(UnsafeContentError, load, document)
    assert "'my_lambda'" in str(error) and "Lambda" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


def test_keras2_lambda_with_marshalled_bytecode_is_refused_and_never_unmarshalled(tmp_path,
                                                                                   forbidden_calls):
    side_effect = tmp_path / "pwned"
    lam = layer_entry("Lambda", "old_lambda", [call_node("keras2", ("features", 0, 0))],
                      trainable=True, dtype="float32",
                      function=[_marshalled_lambda(side_effect), None, None],
                      function_type="lambda", module="__main__", output_shape=None,
                      output_shape_type="raw", output_shape_module=None, arguments={})
    document = functional([input_entry(dialect="keras2"), lam], outputs=[("old_lambda", 0, 0)],
                          dialect="keras2")
    error = expect(UnsafeContentError, load, document)
    assert "'old_lambda'" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


def _tf_op_entry(class_name: str, function: str, kwargs: dict) -> dict:
    return {"module": "keras.layers", "class_name": class_name,
            "config": {"name": "tf.op_1", "trainable": True, "dtype": "float32", "function": function},
            "name": "tf.op_1", "inbound_nodes": [["features", 0, 0, kwargs]]}


@pytest.mark.parametrize("class_name,function", [("TFOpLambda", "io.write_file"),
                                                 ("TFOpLambda", "py_function"),
                                                 ("TFOpLambda", "numpy_function"),
                                                 ("SlicingOpLambda", "strided_slice")])
def test_tf_op_lambda_outside_the_allowlist_is_refused_naming_layer_and_function(
        class_name, function, forbidden_calls):
    document = functional([input_entry(dialect="keras2"),
                           _tf_op_entry(class_name, function, {"name": None})],
                          outputs=[("tf.op_1", 0, 0)], dialect="keras2")
    error = expect(UnsupportedError, load, document)
    assert "'tf.op_1'" in str(error) and f"'tf.{function}'" in str(error)
    assert forbidden_calls == []


def test_tf_op_lambda_on_the_allowlist_loads_as_keras3_operations(forbidden_calls):
    # tf-keras records `x + 1.0` as a TFOpLambda naming "__operators__.add": a name, not code.
    document = functional([input_entry(dialect="keras2"),
                           _tf_op_entry("TFOpLambda", "__operators__.add", {"y": 1.0, "name": None})],
                          outputs=[("tf.op_1", 0, 0)], dialect="keras2")
    model = load(document)
    assert [type(layer).__name__ for layer in model._operations][-1] == "Add"
    assert forbidden_calls == []


def test_lambda_layer_without_module_at_top_level_is_unsafe_content():
    error = expect(UnsafeContentError, load,
                   {"class_name": "Lambda", "config": {"name": "bare_lambda",
                                                       "function": ["AAAA", None, None]}})
    assert "'bare_lambda'" in str(error)


def test_lambda_function_as_dense_activation_is_unsafe_content(tmp_path, forbidden_calls):
    # Keras 3 writes `Dense(activation=lambda x: ...)` with a `__lambda__` activation: bytecode.
    side_effect = tmp_path / "pwned"
    activation = {"class_name": "__lambda__",
                  "config": {"value": [_marshalled_lambda(side_effect), None, None]}}
    error = expect(UnsafeContentError, load, dense_model(activation=activation))
    assert "'hidden_1'" in str(error)
    assert forbidden_calls == [] and not side_effect.exists()


# ------------------------------------------------------------------------------------------------
# 8. Wrong types and impossible values in layer configs
# ------------------------------------------------------------------------------------------------

DENSE_MISTAKES = [
    ("units", "abc", ConfigError), ("units", -3, ConfigError), ("units", 2.5, ConfigError),
    ("units", 0, ConfigError), ("units", None, ConfigError), ("units", True, ConfigError),
    ("units", [4], ConfigError), ("use_bias", "yes", ConfigError), ("use_bias", 1, ConfigError),
    ("activation", 7, ConfigError), ("activation", ["relu"], ConfigError),
    ("activation", "no_such_activation", UnsupportedError),
    ("activation", {"class_name": "Swish9", "config": {}}, UnsupportedError),
    ("kernel_initializer", 5, ConfigError), ("kernel_initializer", "no_such_init", UnsupportedError),
    ("kernel_initializer", {"class_name": "NoSuchInit", "config": {}}, UnsafeContentError),
    ("kernel_initializer", {"class_name": "RandomNormal", "config": [1]}, ConfigError),
    ("kernel_regularizer", 5, ConfigError), ("trainable", "yes", ConfigError),
    ("dtype", 7, ConfigError), ("dtype", "float8", UnsupportedError),
    ("dtype", {"class_name": "DTypePolicy", "config": {"name": "mixed_float64"}}, UnsupportedError),
    ("dtype", {"class_name": "DTypePolicy", "config": "float32"}, ConfigError),
    ("input_shape", "abc", ConfigError), ("batch_input_shape", [None, -1], ConfigError),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("argument,value,error_type", DENSE_MISTAKES,
                         ids=[f"{a}={v!r}" for a, v, _ in DENSE_MISTAKES])
def test_wrong_dense_argument_is_refused_naming_layer(dialect, argument, value, error_type):
    error = expect(error_type, load, dense_model(dialect, **{argument: value}))
    assert "'hidden_1'" in str(error)


# A config value that only turns out impossible once the input shape is known may be reported as
# a ConfigError (bad value) or a GraphError (cannot take that input): both name the layer.
SHAPE_DEPENDENT = (ConfigError, GraphError)
LAYER_MISTAKES = [
    ("Reshape", {"target_shape": "x"}, ConfigError),
    ("Reshape", {"target_shape": [0]}, ConfigError),
    ("Reshape", {"target_shape": [-1, -1]}, ConfigError),
    ("Reshape", {"target_shape": [3]}, SHAPE_DEPENDENT),
    ("Reshape", {"target_shape": [10**12, 10**12]}, SHAPE_DEPENDENT),
    ("Reshape", {}, ConfigError),
    ("Dropout", {"rate": 2.0}, ConfigError),
    ("Dropout", {"rate": -0.1}, ConfigError),
    ("Dropout", {"rate": "x"}, ConfigError),
    ("Dropout", {"rate": 0.5, "seed": "s"}, ConfigError),
    ("Dropout", {}, ConfigError),
    ("Softmax", {"axis": "a"}, ConfigError),
    ("Softmax", {"axis": []}, ConfigError),
    ("Permute", {"dims": [1, 1]}, ConfigError),
    ("Permute", {"dims": [2, 1]}, SHAPE_DEPENDENT),
    ("RepeatVector", {"n": 0}, ConfigError),
    ("RepeatVector", {"n": "3"}, ConfigError),
    ("Concatenate", {"axis": "x"}, ConfigError),
    ("Concatenate", {"axis": 1}, SHAPE_DEPENDENT),
    ("Dot", {"axes": [1]}, ConfigError),
    ("Dot", {"axes": 1, "normalize": "yes"}, ConfigError),
    ("Add", {}, SHAPE_DEPENDENT),
    ("LeakyReLU", {"negative_slope": "x"}, ConfigError),
    ("ReLU", {"max_value": -1.0}, ConfigError),
    ("ELU", {"alpha": None}, ConfigError),
    ("PReLU", {"shared_axes": [0]}, ConfigError),
    ("Flatten", {"data_format": "nchw"}, ConfigError),
    ("SpatialDropout1D", {"rate": 0.1, "data_format": "channels_last"}, UnsupportedError),
    ("GaussianNoise", {"stddev": "x"}, ConfigError),
    ("Activation", {"activation": "no_such_activation"}, UnsupportedError),
    ("Activation", {"activation": None, "name": "layer_1", "trainable": 3}, ConfigError),
]


@pytest.mark.parametrize("class_name,config,error_type", LAYER_MISTAKES,
                         ids=[f"{c}-{json.dumps(v)}" for c, v, _ in LAYER_MISTAKES])
def test_wrong_layer_argument_is_refused_naming_layer(class_name, config, error_type):
    error = expect(error_type, load, single_layer_model(class_name, **config))
    assert "'layer_1'" in str(error)


@pytest.mark.parametrize("noise_shape", ["abc", 5, {"a": 1}], ids=repr)
def test_dropout_noise_shape_of_wrong_type_is_config_error_naming_layer(noise_shape):
    error = expect(ConfigError, load, single_layer_model("Dropout", rate=0.5, noise_shape=noise_shape))
    assert "'layer_1'" in str(error) and "noise_shape" in str(error)


INPUT_MISTAKES = [
    ({"batch_shape": "abc"}, ConfigError), ({"batch_shape": [None, -1]}, ConfigError),
    ({"batch_shape": [None, 1.5]}, ConfigError), ({"batch_shape": [None, True]}, ConfigError),
    ({"batch_shape": [None, "4"]}, ConfigError), ({"batch_shape": None}, ConfigError),
    ({"batch_shape": [None, 4], "shape": [4]}, ConfigError),
    ({"dtype": "float8"}, UnsupportedError), ({"dtype": 5}, ConfigError),
    ({"dtype": {"a": 1}}, ConfigError), ({"sparse": True}, UnsupportedError),
    ({"ragged": True}, UnsupportedError),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("changes,error_type", INPUT_MISTAKES,
                         ids=[json.dumps(c) for c, _ in INPUT_MISTAKES])
def test_wrong_input_layer_argument_is_refused_naming_input(dialect, changes, error_type):
    document = dense_model(dialect)
    config = document["config"]["layers"][0]["config"]
    if dialect == "keras2" and "batch_shape" in changes:
        changes = {"batch_input_shape": changes["batch_shape"],
                   **{k: v for k, v in changes.items() if k != "batch_shape"}}
        config.pop("batch_input_shape")
    config.update(changes)
    error = expect(error_type, load, document)
    assert "'features'" in str(error)


@pytest.mark.parametrize("where", ["config", "entry", "both"])
def test_integer_layer_name_is_config_error(where):
    document = dense_model()
    entry = document["config"]["layers"][1]
    if where in ("config", "both"):
        entry["config"]["name"] = 123
    if where in ("entry", "both"):
        entry["name"] = 123
    error = expect(ConfigError, load, document)
    assert "name" in str(error) and "123" in str(error)


def test_list_layer_name_is_config_error_saying_name_must_be_string():
    document = dense_model()
    document["config"]["layers"][1]["name"] = ["hidden_1"]
    error = expect(ConfigError, load, document)
    assert "must be a string" in str(error), str(error)


@pytest.mark.parametrize("config", [[1, 2], None, "units=3", 5], ids=repr)
def test_layer_config_that_is_not_a_mapping_is_config_error_naming_layer(config):
    document = dense_model()
    document["config"]["layers"][1]["config"] = config
    error = expect(ConfigError, load, document)
    assert "'hidden_1'" in str(error) and "mapping" in str(error)


@pytest.mark.parametrize("config", [[1, 2], None, "x"], ids=repr)
def test_model_config_that_is_not_a_mapping_is_config_error(config):
    document = dense_model()
    document["config"] = config
    expect(ConfigError, load, document)


@pytest.mark.parametrize("layers", [{"hidden_1": {}}, "layers", None, 5], ids=repr)
def test_model_layers_that_are_not_a_list_are_config_error(layers):
    document = dense_model()
    document["config"]["layers"] = layers
    error = expect(ConfigError, load, document)
    assert "'layers'" in str(error) and f"'{MODEL_NAME}'" in str(error)


@pytest.mark.parametrize("entry", ["dense", 5, None, [1, 2]], ids=repr)
def test_layer_entry_that_is_not_a_mapping_is_config_error(entry):
    document = dense_model()
    document["config"]["layers"].append(entry)
    error = expect(ConfigError, load, document)
    assert "mapping" in str(error) and f"'{MODEL_NAME}'" in str(error)


@pytest.mark.parametrize("nodes", ["features", {"args": []}, 5], ids=repr)
def test_inbound_nodes_that_are_not_a_list_are_config_error_naming_layer(nodes):
    document = dense_model()
    document["config"]["layers"][1]["inbound_nodes"] = nodes
    error = expect(ConfigError, load, document)
    assert "'hidden_1'" in str(error) and "inbound_nodes" in str(error)


MALFORMED_NODES = [
    ["features"], [5], [None], [{"args": "features", "kwargs": {}}],
    [{"args": [keras_tensor("features")], "kwargs": []}],
    [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": None}}], "kwargs": {}}],
    [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["features"]}}],
      "kwargs": {}}],
    [{"args": [{"class_name": "__keras_tensor__", "config": []}], "kwargs": {}}],
    [{"args": [], "kwargs": {}}], [{"args": [5], "kwargs": {}}],
    [[]], [[[]]], [[["features", 0, 0, []]]], [[["features", 0, 0, {}, 1]]], [[[5, 0, 0, {}]]],
    [[["_CONSTANT_VALUE", -1, 5, {}]]],
]


@pytest.mark.parametrize("nodes", MALFORMED_NODES, ids=[json.dumps(n)[:60] for n in MALFORMED_NODES])
def test_malformed_inbound_node_is_modelio_error_naming_layer(nodes):
    document = dense_model()
    document["config"]["layers"][1]["inbound_nodes"] = nodes
    error = expect(ModelioError, load, document)
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("endpoint", ["input_layers", "output_layers"])
@pytest.mark.parametrize("value", ["missing_key", None, [], 5, "features", [["features"]],
                                   {"a": 5}], ids=repr)
def test_missing_or_malformed_input_and_output_layers_are_config_error(endpoint, value):
    document = dense_model()
    if value == "missing_key":
        del document["config"][endpoint]
    else:
        document["config"][endpoint] = value
    error = expect(ConfigError, load, document)
    assert endpoint in str(error) and f"'{MODEL_NAME}'" in str(error)


def test_two_layers_with_one_name_are_graph_error_naming_it():
    document = dense_model()
    document["config"]["layers"].append(dense_entry("hidden_1", "features"))
    error = expect(GraphError, load, document)
    assert "'hidden_1'" in str(error)


@pytest.mark.parametrize("document", [[1], None, "model", 5, {}, {"config": {}}], ids=repr)
def test_document_that_is_not_a_layer_entry_is_config_error(document):
    expect(ConfigError, modelio.model_from_config, document)


@pytest.mark.parametrize("field,value", [("class_name", 5), ("class_name", None),
                                         ("module", 5), ("module", ["keras"])], ids=repr)
def test_non_string_class_name_or_module_is_config_error(field, value):
    document = dense_model()
    document["config"]["layers"][1][field] = value
    error = expect(ConfigError, load, document)
    assert field.split("_")[0] in str(error)


def test_error_message_names_layer_even_when_its_name_is_a_single_letter():
    # A short name like 'd' occurs by chance in most messages ("dtype ..."), so a check for the
    # bare substring cannot tell whether a message already names the layer.
    document = functional([input_entry(), dense_entry("d", "features", dtype="float8")],
                          outputs=[("d", 0, 0)])
    error = expect(UnsupportedError, load, document)
    assert "'d'" in str(error), str(error)


@pytest.mark.parametrize("container", ["functional", "sequential"])
@pytest.mark.parametrize("initializer", [{"class_name": "NoSuchInit", "config": {}},
                                         {"class_name": "RandomNormal", "config": {"stddev": "x"}}],
                         ids=["unknown", "stddev_str"])
def test_error_raised_while_building_names_the_inner_layer(container, initializer):
    if container == "functional":
        document = functional([input_entry(),
                               dense_entry("dense_7", "features", kernel_initializer=initializer)],
                              outputs=[("dense_7", 0, 0)])
    else:
        document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
                              plain_entry("Dense", name="dense_7", units=2,
                                          kernel_initializer=initializer))
    error = expect(ModelioError, load, document)
    # Name the layer, and blame the initializer (not, say, the input shape).
    assert "'dense_7'" in str(error), str(error)
    assert "initializer" in str(error) or "stddev" in str(error), str(error)


@pytest.mark.parametrize("cls,config", [
    ("Functional", {"name": "m", "layers": [dict(input_entry(), name=["x"])],
                    "input_layers": [["x", 0, 0]], "output_layers": [["x", 0, 0]]}),
    ("Sequential", {"name": "s", "layers": [
        plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"),
        plain_entry("Dense", name="dense_7", units=2,
                    kernel_initializer={"class_name": "RandomNormal", "config": {"stddev": "x"}})]}),
], ids=["functional_list_name", "sequential_bad_initializer"])
def test_model_from_config_classmethods_called_directly_raise_only_modelio_errors(cls, config):
    # `Model.from_config` / `Sequential.from_config` are the Keras-style public entry points.
    expect(ModelioError, getattr(modelio, cls).from_config, config)


# ------------------------------------------------------------------------------------------------
# 9. Unsupported arguments
# ------------------------------------------------------------------------------------------------

UNSUPPORTED_ARGUMENTS = [
    ("Dense", {"units": 3, "foo": 1}, "foo"),
    ("Dense", {"units": 3, "gptq_unpacked_column_size": 4}, "gptq_unpacked_column_size"),
    ("Dropout", {"rate": 0.1, "bar": None}, "bar"),
    ("Reshape", {"target_shape": [2, 2], "order": "F"}, "order"),
    ("Activation", {"activation": "relu", "inplace": True}, "inplace"),
    ("Softmax", {"axis": -1, "temperature": 2.0}, "temperature"),
]


@pytest.mark.parametrize("class_name,config,argument", UNSUPPORTED_ARGUMENTS,
                         ids=[f"{c}.{a}" for c, _, a in UNSUPPORTED_ARGUMENTS])
def test_unsupported_argument_is_unsupported_error_naming_layer_and_argument(class_name, config,
                                                                              argument):
    error = expect(UnsupportedError, load, single_layer_model(class_name, **config))
    assert "'layer_1'" in str(error) and argument in str(error)


def test_unsupported_input_layer_argument_names_input_and_argument():
    document = dense_model()
    document["config"]["layers"][0]["config"]["foo"] = 1
    error = expect(UnsupportedError, load, document)
    assert "'features'" in str(error) and "foo" in str(error)


def test_unknown_sequential_config_key_is_refused_naming_key():
    document = sequential(plain_entry("InputLayer", batch_shape=[None, 4], name="stack_in"))
    document["config"]["foo"] = 1
    error = expect(ConfigError, load, document)
    assert "'stack'" in str(error) and "foo" in str(error)


# ------------------------------------------------------------------------------------------------
