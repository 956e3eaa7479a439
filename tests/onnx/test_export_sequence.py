"""ONNX export of the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed) and
of MultiHeadAttention, proven in onnxruntime against modelio's numpy kernels and Keras's recorded
outputs, at opsets 13, 17 and the newest onnxruntime runs."""

import sys
from pathlib import Path

import numpy as np
import pytest
from fixture_models import fixture_arrays, load_fixture_model, recorded_inputs, recorded_outputs
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import UnsupportedError
from modelio.onnx.export import MAX_OPSET
from modelio.onnx.registry import lowering_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
import test_attention_layers as attention_cases  # noqa: E402
import test_recurrent_layers as recurrent_cases  # noqa: E402

OPSETS = [13, 17, MAX_OPSET]
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def as_list(outputs) -> list:
    return outputs if isinstance(outputs, list) else [outputs]


def assert_exports_like_numpy(model, inputs: dict, opset: int, expected=None):
    proto = modelio.export_onnx(model, opset=opset)
    got = run_onnx(proto, inputs)
    wanted = as_list(model.predict(inputs))
    assert len(got) == len(wanted)
    for output, numpy_output in zip(got, wanted):
        assert output.shape == numpy_output.shape
        np.testing.assert_allclose(output, numpy_output, **TOLERANCE)
    for output, keras_output in zip(got, expected or []):
        np.testing.assert_allclose(output, keras_output, **TOLERANCE)
    return proto


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.normal(size=w.shape) * 0.5).astype(w.dtype) for w in model.get_weights()])


# ----- recurrent layers --------------------------------------------------------------------------

UNITS = 4
RECURRENT_LAYERS = {
    "lstm_last": (lambda: layers.LSTM(UNITS), 0),
    "lstm_sequences": (lambda: layers.LSTM(UNITS, return_sequences=True), 0),
    "lstm_backwards_sequences_state": (lambda: layers.LSTM(
        UNITS, go_backwards=True, return_sequences=True, return_state=True), 0),
    "lstm_initial_state_no_bias_relu_hard_sigmoid": (lambda: layers.LSTM(
        UNITS, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
        return_state=True), 2),
    "gru_reset_after": (lambda: layers.GRU(UNITS, return_sequences=True), 0),
    "gru_reset_before_state": (lambda: layers.GRU(UNITS, reset_after=False, return_state=True), 1),
    "gru_backwards_hard_sigmoid": (lambda: layers.GRU(
        UNITS, go_backwards=True, return_sequences=True, recurrent_activation="hard_sigmoid"), 0),
    "gru_linear_no_bias": (lambda: layers.GRU(UNITS, activation="linear", use_bias=False), 0),
    "simple_rnn_relu_sequences": (lambda: layers.SimpleRNN(
        UNITS, activation="relu", return_sequences=True), 0),
    "simple_rnn_backwards_initial_state": (lambda: layers.SimpleRNN(
        UNITS, go_backwards=True, return_state=True), 1),
    "bidirectional_lstm_concat": (lambda: layers.Bidirectional(
        layers.LSTM(UNITS, return_sequences=True)), 0),
    "bidirectional_gru_none_states": (lambda: layers.Bidirectional(
        layers.GRU(UNITS, return_sequences=True, return_state=True), merge_mode=None), 0),
    "bidirectional_gru_ave_last": (lambda: layers.Bidirectional(layers.GRU(UNITS), merge_mode="ave"), 0),
    "bidirectional_rnn_mul": (lambda: layers.Bidirectional(
        layers.SimpleRNN(UNITS, return_sequences=True), merge_mode="mul"), 0),
    "bidirectional_lstm_sum_initial_states": (lambda: layers.Bidirectional(
        layers.LSTM(UNITS, return_sequences=True, return_state=True), merge_mode="sum"), 4),
    "bidirectional_different_backward_layer": (lambda: layers.Bidirectional(
        layers.LSTM(UNITS, return_sequences=True),
        backward_layer=layers.LSTM(UNITS, go_backwards=True, return_sequences=True,
                                   activation="relu")), 0),
    "time_distributed_dense": (lambda: layers.TimeDistributed(layers.Dense(3, activation="relu")), 0),
}


def recurrent_model(make, state_count):
    x = modelio.Input((5, 3), name="x")
    states = [modelio.Input((UNITS,), name=f"s{i}") for i in range(state_count)]
    layer = make()
    y = layer(x, initial_state=states) if states else layer(x)
    model = modelio.Model([x, *states] if states else x, y)
    randomize(model)
    rng = np.random.default_rng(1)
    inputs = {"x": rng.normal(size=(2, 5, 3)).astype(np.float32)}
    inputs.update({f"s{i}": rng.normal(size=(2, UNITS)).astype(np.float32)
                   for i in range(state_count)})
    return model, inputs


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", RECURRENT_LAYERS)
def test_recurrent_layer_runs_in_onnxruntime_like_numpy(case, opset):
    model, inputs = recurrent_model(*RECURRENT_LAYERS[case])
    assert_exports_like_numpy(model, inputs, opset)


def test_one_bidirectional_op_serves_matching_halves_and_two_ops_serve_different_ones():
    def ops(case):
        proto = modelio.export_onnx(recurrent_model(*RECURRENT_LAYERS[case])[0])
        return [node.op_type for node in proto.graph.node]

    same = ops("bidirectional_lstm_concat")
    assert same.count("LSTM") == 1
    assert ops("bidirectional_different_backward_layer").count("LSTM") == 2


def test_batch_size_and_sequence_length_stay_dynamic():
    model, _ = recurrent_model(*RECURRENT_LAYERS["bidirectional_lstm_concat"])
    proto = modelio.export_onnx(model)
    x = modelio.Input((None, 3), name="x")
    dynamic = modelio.Model(x, layers.GRU(UNITS, return_sequences=True, go_backwards=True)(x))
    randomize(dynamic)
    dynamic_proto = modelio.export_onnx(dynamic)
    rng = np.random.default_rng(2)
    for batch, steps in ((1, 5), (3, 5)):
        inputs = {"x": rng.normal(size=(batch, steps, 3)).astype(np.float32)}
        np.testing.assert_allclose(run_onnx(proto, inputs)[0], model.predict(inputs), **TOLERANCE)
    for steps in (2, 9):
        inputs = {"x": rng.normal(size=(2, steps, 3)).astype(np.float32)}
        np.testing.assert_allclose(run_onnx(dynamic_proto, inputs)[0], dynamic.predict(inputs),
                                   **TOLERANCE)


# Masked cases (and the masked text models) are in test_export_masks.py.
RECORDED_RECURRENT = [
    (dialect, case_id) for dialect, case_id in recurrent_cases.CASES
    if not any(word in case_id for word in ("mask", "text", "float64"))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect,case_id", RECORDED_RECURRENT)
def test_keras_recorded_recurrent_case_matches_keras_in_onnxruntime(dialect, case_id, opset):
    model, inputs, expected = recurrent_cases.load_case(dialect, case_id)
    assert_exports_like_numpy(model, inputs, opset, expected)


def test_recorded_cases_cover_lstm_gru_rnn_and_bidirectional():
    ids = " ".join(case_id for _, case_id in RECORDED_RECURRENT)
    for word in ("lstm", "gru", "simple_rnn", "bidirectional", "backwards", "initial_state",
                 "time_distributed"):
        assert word in ids


def test_float64_recurrent_layer_is_refused_by_name():
    model, _, _ = recurrent_cases.load_case("keras3", "lstm_float64")
    with pytest.raises(UnsupportedError, match="'lstm'.*float64"):
        modelio.export_onnx(model)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("make,shape", [
    (lambda: layers.TimeDistributed(layers.Flatten()), (5, 3, 2)),
    (lambda: layers.TimeDistributed(layers.Reshape((3, 2))), (5, 6)),
    (lambda: layers.TimeDistributed(layers.LSTM(UNITS, return_sequences=True)), (5, 4, 3)),
    (lambda: layers.TimeDistributed(layers.TimeDistributed(layers.Dense(2))), (5, 4, 3)),
])
def test_time_distributed_runs_the_wrapped_layer_over_batch_and_time(make, shape, opset):
    x = modelio.Input(shape, name="x")
    model = modelio.Model(x, make()(x))
    randomize(model)
    inputs = {"x": np.random.default_rng(6).normal(size=(2, *shape)).astype(np.float32)}
    assert_exports_like_numpy(model, inputs, opset)


@pytest.mark.parametrize("make,shape,word", [
    (lambda: layers.LSTM(UNITS, activation="softmax"), (5, 3), "softmax"),
    (lambda: layers.TimeDistributed(layers.GlobalAveragePooling1D()), (5, None, 3), "TimeDistributed"),
])
def test_unsupported_recurrent_arguments_are_refused_by_name(make, shape, word):
    x = modelio.Input(shape, name="x")
    model = modelio.Model(x, make()(x))
    with pytest.raises(UnsupportedError, match=word):
        modelio.export_onnx(model)


# ----- MultiHeadAttention ------------------------------------------------------------------------

ATTENTION = {
    "self": (lambda: layers.MultiHeadAttention(2, 3), "self", {}),
    "cross_value_dim_no_bias": (lambda: layers.MultiHeadAttention(3, 2, value_dim=4, use_bias=False),
                                "cross", {}),
    "key_output_shape": (lambda: layers.MultiHeadAttention(2, 3, output_shape=(2, 5)), "key", {}),
    "causal_self": (lambda: layers.MultiHeadAttention(2, 3), "self", {"use_causal_mask": True}),
    "causal_cross_gate_dropout": (lambda: layers.MultiHeadAttention(2, 3, use_gate=True, dropout=0.1),
                                  "cross", {"use_causal_mask": True}),
    "scores": (lambda: layers.MultiHeadAttention(2, 3), "cross", {"return_attention_scores": True}),
    "sliding_window_causal_scores": (lambda: layers.MultiHeadAttention(2, 3, sliding_window=2), "self",
                                     {"use_causal_mask": True, "return_attention_scores": True}),
    "sliding_window_cross": (lambda: layers.MultiHeadAttention(2, 3, sliding_window=3), "cross", {}),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", ATTENTION)
def test_multi_head_attention_runs_in_onnxruntime_like_numpy(case, opset):
    make, kind, call = ATTENTION[case]
    query = modelio.Input((5, 6), name="q")
    value = modelio.Input((7, 4), name="v")
    key = modelio.Input((7, 3), name="k")
    layer = make()
    inputs_of = {"self": [query], "cross": [query, value], "key": [query, value, key]}[kind]
    outputs = layer(query, query, **call) if kind == "self" else layer(*inputs_of, **call)
    model = modelio.Model(inputs_of, list(outputs) if isinstance(outputs, tuple) else outputs)
    randomize(model)
    rng = np.random.default_rng(3)
    data = {"q": rng.normal(size=(2, 5, 6)), "v": rng.normal(size=(2, 7, 4)),
            "k": rng.normal(size=(2, 7, 3))}
    inputs = {tensor.name: data[tensor.name].astype(np.float32) for tensor in inputs_of}
    assert_exports_like_numpy(model, inputs, opset)


RECORDED_ATTENTION = [("keras3", case_id) for case_id in (
    "mha_self_attention", "mha_cross_attention_lengths", "mha_key_given_output_shape",
    "mha_output_shape_tuple", "mha_attention_mask", "mha_attention_mask_scores", "mha_causal",
    "mha_causal_scores_cross", "mha_float64", "attention_dot", "attention_scale_key_scores",
    "attention_concat_scale", "attention_concat_key_causal", "additive_no_scale_key_causal_scores",
    "mha_rank4_default_axes", "mha_rank4_axis_2", "mha_rank4_axes_1_2_output",
    "mha_gate_sliding_window",
)] + [("keras2", case_id) for case_id in (
    "mha_self_attention", "mha_key_given_output_shape", "mha_attention_mask_scores",
    "mha_causal_scores_cross", "attention_scale_key_scores", "additive_no_scale_key_causal_scores",
    "mha_rank4_axis_2")]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect,case_id", RECORDED_ATTENTION)
def test_keras_recorded_attention_case_matches_keras_in_onnxruntime(dialect, case_id, opset):
    case = (attention_cases.KERAS3_CASES if dialect == "keras3" else attention_cases.KERAS2_CASES)[case_id]
    model = attention_cases.rebuild(case)
    assert_exports_like_numpy(model, attention_cases.case_inputs(case), opset,
                              attention_cases.expected_outputs(case))


DOT_AND_ADDITIVE = {
    "dot": (lambda: layers.Attention(), {}),
    "dot_scale_causal_scores": (lambda: layers.Attention(use_scale=True),
                                {"use_causal_mask": True, "return_attention_scores": True}),
    "concat_scale": (lambda: layers.Attention(use_scale=True, score_mode="concat"), {}),
    "additive_scale": (lambda: layers.AdditiveAttention(), {}),
    "additive_scale_causal": (lambda: layers.AdditiveAttention(), {"use_causal_mask": True}),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("rank", [3, 4])
@pytest.mark.parametrize("case", DOT_AND_ADDITIVE)
def test_dot_and_additive_attention_run_in_onnxruntime_like_numpy(case, rank, opset):
    make, call = DOT_AND_ADDITIVE[case]
    if rank == 4 and call.get("use_causal_mask"):
        pytest.skip("causal masks are exported for rank-3 inputs only")
    lead = (2,) * (rank - 3)
    query = modelio.Input((*lead, 5, 4), name="q")
    value = modelio.Input((*lead, 7, 3), name="v")
    key = modelio.Input((*lead, 7, 4), name="k")
    outputs = make()([query, value, key], **call)
    model = modelio.Model([query, value, key], list(outputs) if isinstance(outputs, tuple) else outputs)
    randomize(model)
    rng = np.random.default_rng(4)
    inputs = {name: rng.normal(size=(2, *lead, steps, width)).astype(np.float32)
              for name, steps, width in (("q", 5, 4), ("v", 7, 3), ("k", 7, 4))}
    assert_exports_like_numpy(model, inputs, opset)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("axes", [None, (2,), (1, 2)])
def test_multi_head_attention_over_other_axes_runs_like_numpy(axes, opset):
    query = modelio.Input((3, 4, 5), name="q")
    value = modelio.Input((3, 2, 6), name="v")
    layer = layers.MultiHeadAttention(2, 3, attention_axes=axes, use_gate=True, output_shape=(2, 2))
    output, scores = layer(query, value, return_attention_scores=True)
    model = modelio.Model([query, value], [output, scores])
    randomize(model)
    rng = np.random.default_rng(5)
    inputs = {"q": rng.normal(size=(2, 3, 4, 5)).astype(np.float32),
              "v": rng.normal(size=(2, 3, 2, 6)).astype(np.float32)}
    assert_exports_like_numpy(model, inputs, opset)


def test_masks_with_other_attention_axes_are_refused_by_name():
    query = modelio.Input((3, 4, 5), name="q")
    layer = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    model = modelio.Model(query, layer(query, query, use_causal_mask=True))
    with pytest.raises(UnsupportedError, match=f"'{layer.name}'.*use_causal_mask.*attention_axes"):
        modelio.export_onnx(model)


# ----- catalog fixture ---------------------------------------------------------------------------

def _layer_normalization_registered() -> bool:
    return lowering_for(layers.LayerNormalization()) is not None


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
def test_transformer_block_fixture_matches_keras_in_onnxruntime(dialect, opset):
    if not _layer_normalization_registered():
        pytest.skip("LayerNormalization has no ONNX lowering yet (onnx/normalization.py)")
    arrays = fixture_arrays(dialect, "transformer_block")
    model = load_fixture_model(dialect, "transformer_block")
    assert_exports_like_numpy(model, recorded_inputs(arrays), opset, recorded_outputs(arrays))
