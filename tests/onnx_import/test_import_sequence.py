"""ONNX import of LSTM, GRU and RNN: time-major (and layout=1 batch-major) graphs with every
direction, ONNX's gate orders, linear_before_reset, peepholes, clip, non-default activations and
run-time initial states, compared with onnxruntime; config round trip and export back to ONNX."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import modelio
from modelio.errors import ModelioError, UnsupportedError
from modelio.onnx import (
    families,  # noqa: F401 - registers the converters and lowerings
)
from modelio.onnx.importer import import_onnx

RNG = np.random.default_rng(11)
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
SEQ, BATCH, INPUT, HIDDEN = 5, 3, 4, 6


def random(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def recurrent_model(cell, direction="forward", peepholes=False, initial_states=False,
                    layout=0, outputs=("Y", "Y_h", "Y_c"), sequence_lens=None, constant_h=None,
                    **attributes):
    """A one-node graph of `cell` with random weights as initializers; x (and the initial states
    when `initial_states`) are graph inputs."""
    dirs = 2 if direction == "bidirectional" else 1
    gates = GATES[cell]
    initializers = {"W": random(dirs, gates * HIDDEN, INPUT), "R": random(dirs, gates * HIDDEN, HIDDEN),
                    "B": random(dirs, 2 * gates * HIDDEN)}
    names = ["x", "W", "R", "B", "", "", ""]
    if sequence_lens is not None:
        initializers["lens"] = np.asarray(sequence_lens, np.int32)
        names[4] = "lens"
    state_shape = [BATCH, dirs, HIDDEN] if layout else [dirs, BATCH, HIDDEN]
    inputs = [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [BATCH, SEQ, INPUT] if layout else [SEQ, BATCH, INPUT])]
    if initial_states:
        names[5] = "h0"
        inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, state_shape))
        if cell == "LSTM":
            names[6] = "c0"
            inputs.append(helper.make_tensor_value_info("c0", TensorProto.FLOAT, state_shape))
    if constant_h is not None:
        initializers["h0"] = np.full(state_shape, constant_h, np.float32)
        names[5] = "h0"
    if peepholes:
        initializers["P"] = random(dirs, 3 * HIDDEN)
        names.append("P")
    while names and names[-1] == "":
        names.pop()
    outputs = [name for name in outputs if cell == "LSTM" or name != "Y_c"]
    node = helper.make_node(cell, names, outputs, name="rnn", hidden_size=HIDDEN,
                            direction=direction, layout=layout, **attributes)
    graph = helper.make_graph(
        [node], "case", inputs, [helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
                                 for name in outputs],
        [numpy_helper.from_array(value, name) for name, value in initializers.items()])
    opsets = [helper.make_opsetid("", 14)]
    return helper.make_model(graph, opset_imports=opsets,
                             ir_version=helper.find_min_ir_version_for(opsets))


def feeds(model):
    values = {}
    for value_info in model.graph.input:
        shape = [dim.dim_value for dim in value_info.type.tensor_type.shape.dim]
        values[value_info.name] = random(*shape, scale=1.0)
    return values


def reference_outputs(model, values: dict) -> list:
    """onnxruntime's outputs; for layout=1 (which onnxruntime refuses) ONNX's reference
    evaluator's."""
    if any(attribute.name == "layout" and attribute.i for attribute in model.graph.node[0].attribute):
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(model).run(None, values)
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, values)


def check_against_onnxruntime(model):
    values = feeds(model)
    expected = reference_outputs(model, values)
    imported = import_onnx(model)
    arguments = list(values.values())
    got = imported(arguments if len(arguments) > 1 else arguments[0])
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        assert value.shape == reference.shape
        np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-5)
    return imported, values


CASES = {
    "lstm_forward": dict(cell="LSTM"),
    "lstm_reverse": dict(cell="LSTM", direction="reverse"),
    "lstm_bidirectional_peepholes": dict(cell="LSTM", direction="bidirectional", peepholes=True),
    "lstm_initial_states": dict(cell="LSTM", initial_states=True),
    "lstm_clip": dict(cell="LSTM", clip=0.3),
    "lstm_batch_major": dict(cell="LSTM", direction="bidirectional", layout=1,
                             initial_states=True),
    "lstm_full_sequence_lens": dict(cell="LSTM", sequence_lens=[SEQ] * BATCH),
    "gru_forward": dict(cell="GRU"),
    "gru_linear_before_reset": dict(cell="GRU", linear_before_reset=1),
    "gru_bidirectional_initial_state": dict(cell="GRU", direction="bidirectional",
                                            initial_states=True),
    "gru_reverse_activations": dict(cell="GRU", direction="reverse",
                                    activations=["HardSigmoid", "Relu"],
                                    activation_alpha=[0.3], activation_beta=[0.4]),
    "rnn_forward": dict(cell="RNN"),
    "rnn_bidirectional_relu": dict(cell="RNN", direction="bidirectional",
                                   activations=["Relu", "Tanh"]),
    "rnn_y_only": dict(cell="RNN", outputs=("Y",)),
    "rnn_zero_constant_initial_state": dict(cell="RNN", constant_h=0.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_recurrent_op_matches_onnxruntime(name):
    imported, _ = check_against_onnxruntime(recurrent_model(**CASES[name]))
    assert [type(layer).__name__ for layer in imported.layers if type(layer).__name__ != "InputLayer"] \
        == ["OnnxRecurrent"]


@pytest.mark.parametrize("name", ["lstm_bidirectional_peepholes", "gru_linear_before_reset",
                                  "lstm_batch_major", "rnn_bidirectional_relu",
                                  "gru_reverse_activations"])
def test_recurrent_layer_round_trips_and_exports_back_to_the_same_op(name, tmp_path):
    model = recurrent_model(**CASES[name])
    imported, values = check_against_onnxruntime(model)
    arguments = list(values.values())
    arguments = arguments if len(arguments) > 1 else arguments[0]
    expected = imported(arguments)
    rebuilt = modelio.model_from_json(imported.to_json())
    rebuilt.set_weights(imported.get_weights())
    for got, want in zip(rebuilt(arguments), expected):
        np.testing.assert_array_equal(got, want)
    path = tmp_path / "recurrent.keras"
    modelio.save_model(imported, path)
    for got, want in zip(modelio.load_model(path)(arguments), expected):
        np.testing.assert_array_equal(got, want)
    exported = modelio.export_onnx(imported)
    onnx.checker.check_model(exported, full_check=True)
    assert [node.op_type for node in exported.graph.node] == [CASES[name]["cell"]]
    feed = dict(zip((item.name for item in exported.graph.input), values.values()))
    for got, want in zip(reference_outputs(exported, feed), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arguments, message", [
    (dict(cell="LSTM", sequence_lens=[SEQ, 2, SEQ]), "sequence_lens"),
    (dict(cell="GRU", constant_h=0.5), "initial states"),
    (dict(cell="LSTM", input_forget=1), "input_forget"),
    (dict(cell="RNN", activations=["Gelu"]), "Gelu"),
])
def test_unsupported_recurrent_options_are_refused_naming_the_node(arguments, message):
    with pytest.raises(UnsupportedError, match=f"node 'rnn' .*{message}"):
        import_onnx(recurrent_model(**arguments))


def test_recurrent_weights_of_the_wrong_shape_are_modelio_errors():
    model = recurrent_model("GRU")
    for tensor in model.graph.initializer:
        if tensor.name == "R":
            tensor.CopyFrom(numpy_helper.from_array(random(1, 3 * HIDDEN, HIDDEN + 1), "R"))
    with pytest.raises(ModelioError, match="node 'rnn' \\(GRU\\): R must have shape"):
        import_onnx(model)


def test_recurrent_without_hidden_size_is_a_modelio_error():
    model = recurrent_model("RNN")
    del model.graph.node[0].attribute[:]
    with pytest.raises(ModelioError, match="hidden_size"):
        import_onnx(model)
