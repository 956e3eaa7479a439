"""SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed against real Keras 3.15.1 and tf-keras.

Reference models, weights, inputs, outputs and configs come from fixtures/<dialect>/
recurrent_cases.npz, written by tools/recurrent_case_fixtures.py; these tests never import Keras.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import modelio
from modelio import layers
from modelio.graph import keras2_semantics
from modelio.graph.serialization import serialize_layer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
RECURRENT_CLASSES = {"SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"}


def _load(dialect: str):
    with np.load(FIXTURES / dialect / "recurrent_cases.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    document = json.loads(arrays.pop("cases_json").tobytes().decode("utf-8"))
    return arrays, document


ARRAYS = {}
DOCUMENTS = {}
for _dialect in ("keras3", "keras2"):
    ARRAYS[_dialect], DOCUMENTS[_dialect] = _load(_dialect)
CASES = {(dialect, case["id"]): case for dialect, document in DOCUMENTS.items()
         for case in document["cases"]}
KERAS3_CASES = [case_id for dialect, case_id in CASES if dialect == "keras3"]
KERAS2_CASES = [case_id for dialect, case_id in CASES if dialect == "keras2"]
CONFIG_CASES = {case["id"]: case for case in DOCUMENTS["keras3"]["configs"]}


def as_json(value):
    return json.loads(json.dumps(value))


def load_case(dialect: str, case_id: str):
    """(modelio model rebuilt from Keras's JSON with Keras's weights, inputs, expected outputs)."""
    case, arrays = CASES[(dialect, case_id)], ARRAYS[dialect]
    model = modelio.model_from_json(json.dumps(case["model"]))
    for layer_name, count in case["weights"].items():
        model.get_layer(layer_name).set_weights(
            [arrays[f"{case_id}/weight:{layer_name}:{index}"] for index in range(count)])
    inputs = {name: arrays[f"{case_id}/input:{name}"] for name in case["inputs"]}
    expected = [arrays[f"{case_id}/output:{index}"] for index in range(case["outputs"])]
    return model, inputs, expected


def predict_list(model, inputs) -> list:
    outputs = model.predict(inputs)
    return outputs if isinstance(outputs, list) else [outputs]


def assert_outputs_match(outputs, expected):
    assert len(outputs) == len(expected)
    for output, reference in zip(outputs, expected):
        output = np.asarray(output)
        assert output.shape == reference.shape
        assert output.dtype == reference.dtype
        if reference.dtype == np.bool_:
            np.testing.assert_array_equal(output, reference)
        else:
            np.testing.assert_allclose(output, reference, **TOLERANCE)


def recurrent_entries(case: dict) -> list:
    return [entry for entry in case["model"]["config"]["layers"]
            if entry["class_name"] in RECURRENT_CLASSES]


def test_fixtures_were_recorded_with_the_expected_keras_versions():
    assert DOCUMENTS["keras3"]["keras_version"] == "3.15.1"
    assert DOCUMENTS["keras2"]["keras_version"].startswith("2.")
    assert len(KERAS3_CASES) >= 25 and len(KERAS2_CASES) >= 5


# ----- 1. predictions match Keras ------------------------------------------------------------------

@pytest.mark.parametrize("case_id", KERAS3_CASES)
def test_keras3_model_predicts_what_keras_computed(case_id):
    model, inputs, expected = load_case("keras3", case_id)
    assert_outputs_match(predict_list(model, inputs), expected)


@pytest.mark.parametrize("case_id", KERAS2_CASES)
def test_tf_keras_model_predicts_what_tf_keras_computed(case_id):
    model, inputs, expected = load_case("keras2", case_id)
    assert_outputs_match(predict_list(model, inputs), expected)


@pytest.mark.parametrize("dialect,case_id", [("keras3", "text_model"),
                                             ("keras3", "bidirectional_masked"),
                                             ("keras2", "k2_bidirectional_text"),
                                             ("keras2", "k2_lstm_hard_sigmoid_initial_state")])
def test_model_written_back_by_modelio_predicts_the_same(dialect, case_id):
    model, inputs, expected = load_case(dialect, case_id)
    reloaded = modelio.model_from_json(model.to_json())
    reloaded.set_weights(model.get_weights())
    assert_outputs_match(predict_list(reloaded, inputs), expected)


def test_masked_steps_matter_in_the_recorded_cases():
    """The fixtures are sensitive: running the masked text model without its mask changes it."""
    model, inputs, expected = load_case("keras3", "masked_lstm")
    tokens = inputs["tokens"]
    assert (tokens == 0).any(axis=1).all()  # every row has padding (end, middle, start)
    unmasked = layers.LSTM(3, return_sequences=True)
    unmasked(np.zeros((1, 7, 3), np.float32))
    unmasked.set_weights(model.get_layer("sequence").get_weights())
    embedded = model.get_layer("embedding")(tokens)
    assert not np.allclose(unmasked(embedded), expected[0], atol=1e-3)


def test_keras2_hard_sigmoid_keeps_its_keras2_meaning_in_lstm():
    model, inputs, expected = load_case("keras2", "k2_lstm_hard_sigmoid_initial_state")
    lstm = model.get_layer("lstm")
    assert lstm.recurrent_activation_name == "modelio>hard_sigmoid_keras2"
    keras3_meaning = layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True)
    keras3_meaning(inputs["x"], initial_state=[inputs["h"], inputs["c"]])
    keras3_meaning.set_weights(lstm.get_weights())
    different = keras3_meaning(inputs["x"], initial_state=[inputs["h"], inputs["c"]])
    assert not np.allclose(different, expected[0], atol=1e-3)


# ----- 2. configs match Keras ----------------------------------------------------------------------

@pytest.mark.parametrize("case_id", KERAS3_CASES)
def test_recurrent_layer_entries_match_what_keras_wrote(case_id):
    model, _, _ = load_case("keras3", case_id)
    entries = recurrent_entries(CASES[("keras3", case_id)])
    assert entries
    for entry in entries:
        written = as_json(serialize_layer(model.get_layer(entry["name"])))
        expected = {key: value for key, value in entry.items()
                    if key not in ("name", "inbound_nodes")}
        assert written == expected, entry["name"]


@pytest.mark.parametrize("case_id", sorted(CONFIG_CASES))
def test_layer_config_matches_keras_get_config(case_id):
    case = CONFIG_CASES[case_id]
    layer = getattr(layers, case["class_name"])(**case["kwargs"])
    layer(modelio.Input(batch_shape=tuple(case["input_shape"])))
    assert as_json(layer.get_config()) == case["config"]
    assert as_json(layer.get_build_config()) == case["build_config"]


@pytest.mark.parametrize("case_id", sorted(CONFIG_CASES))
def test_layer_from_keras_config_writes_the_same_config(case_id):
    config = CONFIG_CASES[case_id]["config"]
    layer = getattr(layers, CONFIG_CASES[case_id]["class_name"]).from_config(config)
    assert as_json(layer.get_config()) == config


@pytest.mark.parametrize("case_id", KERAS2_CASES)
def test_tf_keras_recurrent_configs_load_and_write_keras3_keys(case_id):
    model, _, _ = load_case("keras2", case_id)
    for entry in recurrent_entries(CASES[("keras2", case_id)]):
        config = model.get_layer(entry["name"]).get_config()
        nested = [config] + [config[key]["config"] for key in ("layer", "backward_layer")
                             if key in config]
        for layer_config in nested:
            assert "time_major" not in layer_config and "implementation" not in layer_config


def test_bidirectional_config_nests_forward_and_backward_layers_like_keras():
    x = modelio.Input((5, 3))
    bidirectional = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="sum")
    bidirectional(x)
    config = bidirectional.get_config()
    assert list(config) == ["name", "trainable", "dtype", "merge_mode", "layer", "backward_layer"]
    assert config["layer"]["config"]["name"] == "forward_gru"
    assert config["backward_layer"]["config"]["name"] == "backward_gru"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    assert config["layer"]["config"]["zero_output_for_mask"] is True  # forced: return_sequences
    assert config["layer"]["build_config"] == {"input_shape": [None, 5, 3]}
    again = layers.Bidirectional.from_config(as_json(config))
    assert as_json(again.get_config())["layer"]["config"] == as_json(config["layer"]["config"])


# ----- 3. weights ------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after,bias_shape", [(True, (2, 9)), (False, (9,))])
def test_gru_weight_names_and_shapes_follow_keras(reset_after, bias_shape):
    gru = layers.GRU(3, reset_after=reset_after)
    gru(modelio.Input((4, 5)))
    assert [(weight.path, weight.shape) for weight in gru.weights] == [
        ("gru/gru_cell/kernel", (5, 9)), ("gru/gru_cell/recurrent_kernel", (3, 9)),
        ("gru/gru_cell/bias", bias_shape)]


def test_wrapper_weights_are_the_wrapped_layers_in_keras_order():
    x = modelio.Input((4, 5))
    bidirectional = layers.Bidirectional(layers.LSTM(2))
    bidirectional(x)
    assert [weight.path for weight in bidirectional.weights] == [
        f"bidirectional/{direction}_lstm/lstm_cell/{name}"
        for direction in ("forward", "backward") for name in ("kernel", "recurrent_kernel", "bias")]
    assert bidirectional.count_params() == 2 * (5 * 8 + 2 * 8 + 8)
    distributed = layers.TimeDistributed(layers.Dense(3))
    distributed(x)
    assert [weight.path for weight in distributed.weights] == [
        "time_distributed/dense/kernel", "time_distributed/dense/bias"]
    values = [np.full(weight.shape, index, np.float32)
              for index, weight in enumerate(bidirectional.weights)]
    bidirectional.set_weights(values)
    assert [float(value.flat[0]) for value in bidirectional.get_weights()] == [0, 1, 2, 3, 4, 5]
    assert bidirectional.backward_layer.get_weights()[0].flat[0] == 3


def test_bidirectional_weights_argument_sets_forward_then_backward_weights():
    template = layers.Bidirectional(layers.SimpleRNN(2))
    template(modelio.Input((3, 4)))
    values = [np.full(weight.shape, index + 1.0, np.float32)
              for index, weight in enumerate(template.weights)]
    bidirectional = layers.Bidirectional(layers.SimpleRNN(2), weights=values)
    bidirectional(modelio.Input((3, 4)))
    assert [float(value.flat[0]) for value in bidirectional.get_weights()] == [1, 2, 3, 4, 5, 6]
    assert "weights" not in bidirectional.get_config()


def test_lstm_unit_forget_bias_initializes_the_forget_gate_bias_to_one():
    lstm = layers.LSTM(2)
    lstm(modelio.Input((3, 4)))
    np.testing.assert_array_equal(lstm.get_weights()[2], [0, 0, 1, 1, 0, 0, 0, 0])
    plain = layers.LSTM(2, unit_forget_bias=False)
    plain(modelio.Input((3, 4)))
    np.testing.assert_array_equal(plain.get_weights()[2], np.zeros(8))


# ----- 4. masks, states and semantics checked without Keras --------------------------------------

def _random_lstm(units=3, features=2, **kwargs):
    lstm = layers.LSTM(units, **kwargs)
    lstm(np.zeros((1, 5, features), np.float32))
    rng = np.random.default_rng(0)
    lstm.set_weights([rng.normal(0, 0.7, weight.shape) for weight in lstm.weights])
    return lstm


def test_masked_steps_are_skipped_as_if_they_were_removed():
    lstm = _random_lstm(return_state=True)
    x = np.random.default_rng(1).normal(size=(1, 5, 2)).astype(np.float32)
    mask = np.array([[True, False, True, True, False]])
    output, h, c = lstm(x, mask=mask)
    compact_output, compact_h, compact_c = lstm(x[:, mask[0]])
    np.testing.assert_allclose(output, compact_output, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(c, compact_c, rtol=1e-6, atol=1e-6)


def test_fully_masked_sequence_outputs_zeros_and_keeps_the_initial_state():
    lstm = _random_lstm(return_sequences=True, return_state=True)
    x = np.ones((1, 5, 2), np.float32)
    h0, c0 = np.full((1, 3), 0.5, np.float32), np.full((1, 3), -0.25, np.float32)
    output, h, c = lstm(x, initial_state=[h0, c0], mask=np.zeros((1, 5), bool))
    np.testing.assert_array_equal(output, np.zeros((1, 5, 3)))
    np.testing.assert_array_equal(h, h0)
    np.testing.assert_array_equal(c, c0)


def test_go_backwards_returns_the_sequence_in_processing_order():
    lstm = _random_lstm(return_sequences=True)
    backwards = layers.LSTM(3, return_sequences=True, go_backwards=True)
    backwards(np.zeros((1, 5, 2), np.float32))
    backwards.set_weights(lstm.get_weights())
    x = np.random.default_rng(2).normal(size=(2, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(backwards(x), lstm(x[:, ::-1]), rtol=1e-6, atol=1e-6)


def test_output_masks_follow_keras_rules():
    tokens = modelio.Input((6,), dtype="int32")
    embedded = layers.Embedding(5, 3, mask_zero=True)(tokens)
    mask = embedded._keras_mask
    assert layers.LSTM(2, return_sequences=True)(embedded)._keras_mask is mask
    assert layers.LSTM(2)(embedded)._keras_mask is None
    output, h, c = layers.LSTM(2, return_sequences=True, return_state=True)(embedded)
    assert output._keras_mask is mask and h._keras_mask is None and c._keras_mask is None
    forward, backward = layers.Bidirectional(layers.GRU(2, return_sequences=True),
                                             merge_mode=None)(embedded)
    assert forward._keras_mask is mask and backward._keras_mask is mask
    assert layers.TimeDistributed(layers.Dense(2))(embedded)._keras_mask is mask


def test_masking_layer_mask_reaches_the_rnn():
    x = modelio.Input((4, 2))
    rnn = layers.SimpleRNN(2, return_sequences=True, kernel_initializer="ones",
                           recurrent_initializer="zeros")
    model = modelio.Model(x, rnn(layers.Masking(0.0)(x)))
    data = np.array([[[1, 1], [0, 0], [2, 0], [0, 0]]], np.float32)
    expected = np.tanh(np.array([[2, 2], [2, 2], [2, 2], [2, 2]], np.float32))
    np.testing.assert_allclose(model.predict(data)[0], expected, rtol=1e-6)


def test_eager_call_with_initial_state_and_float64():
    gru = layers.GRU(2, dtype="float64", return_state=True)
    x = np.random.default_rng(3).normal(size=(2, 4, 3))
    output, state = gru(x, initial_state=np.ones((2, 2)))
    assert output.dtype == np.float64 and state.dtype == np.float64
    np.testing.assert_array_equal(output, state)


def test_unroll_and_dropout_do_not_change_inference():
    plain = _random_lstm(return_sequences=True)
    other = layers.LSTM(3, return_sequences=True, unroll=True, dropout=0.5, recurrent_dropout=0.5,
                        implementation=1)
    other(np.zeros((1, 5, 2), np.float32))
    other.set_weights(plain.get_weights())
    x = np.random.default_rng(4).normal(size=(2, 5, 2)).astype(np.float32)
    np.testing.assert_array_equal(other(x, training=False), plain(x))


def test_time_distributed_matches_applying_the_layer_per_step():
    dense = layers.Dense(3, activation="relu")
    distributed = layers.TimeDistributed(dense)
    x = np.random.default_rng(5).normal(size=(2, 4, 5)).astype(np.float32)
    output = distributed(x)
    for step in range(4):
        np.testing.assert_allclose(output[:, step], dense(x[:, step]), rtol=1e-6)


# ----- 5. Keras 2 configs ----------------------------------------------------------------------------

def test_keras2_keys_are_dropped_or_refused():
    keras2 = {"name": "old", "units": 2, "time_major": False, "implementation": 1}
    assert "time_major" not in layers.LSTM.from_config(dict(keras2)).get_config()
    with pytest.raises(modelio.UnsupportedError, match="'old'.*time_major"):
        layers.GRU.from_config({**keras2, "time_major": True})


def test_keras2_configs_without_newer_keys_get_keras2_defaults():
    with keras2_semantics():
        gru = layers.GRU.from_config({"name": "g", "units": 2})
        lstm = layers.LSTM.from_config({"name": "l", "units": 2})
    assert gru.reset_after is False
    assert gru.recurrent_activation_name == lstm.recurrent_activation_name
    assert lstm.recurrent_activation_name == "modelio>hard_sigmoid_keras2"
    assert layers.GRU.from_config({"name": "g3", "units": 2}).reset_after is True


def test_keras2_bidirectional_flips_go_backwards_for_the_derived_backward_layer():
    with keras2_semantics():
        bidirectional = layers.Bidirectional.from_config({
            "name": "bi", "merge_mode": "concat",
            "layer": {"class_name": "LSTM", "config": {"name": "lstm_9", "units": 2,
                                                      "go_backwards": True}}})
    assert bidirectional.forward_layer.go_backwards is True
    assert bidirectional.backward_layer.go_backwards is False


# ----- 6. bad arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("build,error,pattern", [
    (lambda: layers.LSTM(0, name="l"), modelio.ConfigError, "'l'.*units"),
    (lambda: layers.GRU(2, stateful=True, name="g"), modelio.UnsupportedError, "'g'.*stateful"),
    (lambda: layers.SimpleRNN(2, dropout=1.5, name="s"), modelio.ConfigError, "'s'.*dropout"),
    (lambda: layers.LSTM(2, use_cudnn="yes", name="l"), modelio.ConfigError, "'l'.*use_cudnn"),
    (lambda: layers.GRU(2, reset_after="no", name="g"), modelio.ConfigError, "'g'.*reset_after"),
    (lambda: layers.LSTM(2, recurrent_activation="nope", name="l"), modelio.UnsupportedError,
     "'l'.*nope"),
    (lambda: layers.LSTM(2, return_sequences=1, name="l"), modelio.ConfigError,
     "'l'.*return_sequences"),
    (lambda: layers.LSTM(2, time_major=True, name="l"), modelio.UnsupportedError,
     "'l'.*time_major"),
    (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max", name="b"),
     modelio.ConfigError, "'b'.*merge_mode"),
    (lambda: layers.Bidirectional(layers.Dense(2), name="b"), modelio.UnsupportedError,
     "'b'.*layer"),
    (lambda: layers.Bidirectional(layers.LSTM(2, go_backwards=True), name="b"),
     modelio.ConfigError, "'b'.*go_backwards"),
    (lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2), name="b"),
     modelio.ConfigError, "'b'.*go_backwards"),
    (lambda: layers.Bidirectional(layers.LSTM(2), name="b", backward_layer=layers.LSTM(
        2, go_backwards=True, return_sequences=True)), modelio.ConfigError,
     "'b'.*return_sequences"),
    (lambda: layers.TimeDistributed("dense", name="t"), modelio.ConfigError, "'t'.*layer"),
    (lambda: layers.Bidirectional.from_config({"name": "b"}), modelio.ConfigError, "'b'.*layer"),
    (lambda: layers.TimeDistributed.from_config(
        {"name": "t", "layer": {"class_name": "Nope", "config": {"name": "n"}}}),
     modelio.UnsupportedError, "'t'.*Nope"),
])
def test_bad_arguments_are_refused_naming_layer_and_argument(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build()


def test_tf_keras_constants_are_accepted_only_when_null():
    lstm = _random_lstm()
    x = np.zeros((1, 5, 2), np.float32)
    assert lstm(x, constants=None).shape == (1, 3)
    with pytest.raises(modelio.UnsupportedError, match="'lstm'.*constants"):
        lstm(x, constants=[np.zeros((1, 2), np.float32)])


def test_bad_call_shapes_are_refused_when_the_graph_is_built():
    with pytest.raises(modelio.ConfigError, match="'l'.*\\(batch, time, features\\)"):
        layers.LSTM(2, name="l")(modelio.Input((4,)))
    x, h = modelio.Input((4, 3)), modelio.Input((3,))
    with pytest.raises(modelio.ConfigError, match="'l'.*2 initial state"):
        layers.LSTM(2, name="l")(x, initial_state=[h])
    with pytest.raises(modelio.ConfigError, match="'g'.*initial state must have shape"):
        layers.GRU(2, name="g")(x, initial_state=[h])
    with pytest.raises(modelio.ConfigError, match="'b'.*4 initial state"):
        layers.Bidirectional(layers.LSTM(2), name="b")(x, initial_state=[h, h])
    with pytest.raises(modelio.ConfigError, match="'backward_gru'.*initial state must have"):
        layers.Bidirectional(layers.GRU(3), name="b")(x, initial_state=[h, modelio.Input((2,))])
    with pytest.raises(modelio.ConfigError, match="'t'.*at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2), name="t")(modelio.Input((4,)))
    lstm = layers.LSTM(2, name="l")
    lstm(x)
    with pytest.raises(modelio.ConfigError, match="'l'.*built for 3 input features"):
        lstm(modelio.Input((4, 5)))
