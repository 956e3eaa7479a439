"""RNN with SimpleRNNCell/LSTMCell/GRUCell/StackedRNNCells, ConvLSTM1D/2D/3D and tf-keras's
CuDNNLSTM/CuDNNGRU against real Keras 3.15.1 and tf-keras 2.21.

Models, weights, inputs and outputs come from fixtures/<dialect>/rnn_cell_cases.npz and the files
in fixtures/rnn_cell_files/, written by tools/rnn_cell_case_fixtures.py; these tests never import
Keras.
"""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import modelio
from modelio import layers
from modelio.graph.serialization import serialize_layer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FILES = FIXTURES / "rnn_cell_files"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
SKIPPED_CLASSES = {"InputLayer", "Embedding", "NotEqual"}


def _load(dialect: str):
    with np.load(FIXTURES / dialect / "rnn_cell_cases.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    document = json.loads(arrays.pop("cases_json").tobytes().decode("utf-8"))
    return arrays, document


ARRAYS, DOCUMENTS = {}, {}
for _dialect in ("keras3", "keras2"):
    ARRAYS[_dialect], DOCUMENTS[_dialect] = _load(_dialect)
CASES = {(dialect, case["id"]): case for dialect, document in DOCUMENTS.items()
         for case in document["cases"]}


def load_case(dialect: str, case_id: str):
    """(modelio model from Keras's JSON with Keras's weights, inputs, Keras's outputs)."""
    case, arrays = CASES[(dialect, case_id)], ARRAYS[dialect]
    model = modelio.model_from_json(json.dumps(case["model"]))
    for layer_name, count in case["weights"].items():
        model.get_layer(layer_name).set_weights(
            [arrays[f"{case_id}/weight:{layer_name}:{index}"] for index in range(count)])
    inputs = {name: arrays[f"{case_id}/input:{name}"] for name in case["inputs"]}
    expected = [arrays[f"{case_id}/output:{index}"] for index in range(case["outputs"])]
    return model, inputs, expected


def as_list(outputs) -> list:
    return outputs if isinstance(outputs, list) else [outputs]


def assert_outputs_match(outputs, expected):
    assert len(outputs) == len(expected)
    for output, reference in zip(outputs, expected):
        output = np.asarray(output)
        assert output.shape == reference.shape
        if reference.dtype == np.bool_:
            np.testing.assert_array_equal(output, reference)
        else:
            assert output.dtype == reference.dtype
            np.testing.assert_allclose(output, reference, **TOLERANCE)


def file_arrays(name: str) -> tuple[dict, list]:
    with np.load(FILES / name) as archive:
        arrays = {key: archive[key] for key in archive.files}
    inputs = {key[len("input:"):]: value for key, value in arrays.items()
              if key.startswith("input:")}
    outputs = [arrays[f"output:{index}"] for index in range(len(
        [key for key in arrays if key.startswith("output:")]))]
    return inputs, outputs, arrays


# ----- 1. recorded cases --------------------------------------------------------------------------

def test_fixtures_were_recorded_with_the_expected_keras_versions():
    assert DOCUMENTS["keras3"]["keras_version"] == "3.15.1"
    assert DOCUMENTS["keras2"]["keras_version"].startswith("2.21")


@pytest.mark.parametrize("dialect,case_id", sorted(CASES))
def test_recorded_case_matches_keras(dialect, case_id):
    model, inputs, expected = load_case(dialect, case_id)
    assert_outputs_match(as_list(model.predict(inputs)), expected)


def test_recorded_cases_cover_every_cell_and_conv_lstm_variant():
    classes = set()
    for case in CASES.values():
        stack = [case["model"]]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if isinstance(item.get("class_name"), str):
                    classes.add(item["class_name"])
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    assert {"RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "ConvLSTM1D",
            "ConvLSTM2D", "ConvLSTM3D", "Bidirectional"} <= classes


@pytest.mark.parametrize("case_id", sorted(case_id for dialect, case_id in CASES
                                           if dialect == "keras3"))
def test_configs_are_written_as_keras_3_writes_them(case_id):
    """Each layer's config and build config (nested cell entries included) equal Keras's."""
    case = CASES[("keras3", case_id)]
    model = modelio.model_from_json(json.dumps(case["model"]))
    for entry in case["model"]["config"]["layers"]:
        if entry["class_name"] in SKIPPED_CLASSES:
            continue
        written = json.loads(json.dumps(serialize_layer(model.get_layer(entry["config"]["name"]))))
        assert written["config"] == entry["config"]
        assert written.get("build_config") == entry.get("build_config")


# ----- 2. structure: the cell holds the weights -----------------------------------------------------

def test_builtin_layers_hold_their_cell_with_keras_weight_paths():
    lstm = layers.LSTM(2, name="lstm")
    lstm.build((None, 4, 3))
    assert isinstance(lstm.cell, layers.LSTMCell) and lstm.cell.name == "lstm_cell"
    assert [weight.path for weight in lstm.weights] == [
        "lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel", "lstm/lstm_cell/bias"]
    assert lstm.weights[0] is lstm.cell.kernel
    gru = layers.GRU(2, name="gru", reset_after=False)
    gru.build((None, 4, 3))
    assert gru.cell.reset_after is False and gru.weights[2].shape == (6,)


def test_stacked_cells_weights_follow_keras_paths_and_order():
    model, _, _ = load_case("keras3", "stacked_cells")
    stacked = model.get_layer("stacked")
    assert isinstance(stacked.cell, layers.StackedRNNCells)
    assert [weight.path for weight in stacked.weights] == [
        f"stacked/stacked_rnn_cells/{cell}/{name}" for cell in ("lstm_cell", "gru_cell")
        for name in ("kernel", "recurrent_kernel", "bias")]
    assert stacked.state_sizes == [4, 4, 3]


def test_a_cell_called_for_one_step_matches_the_rnn_over_one_step():
    rng = np.random.default_rng(3)
    cell = layers.GRUCell(3)
    rnn = layers.RNN(cell)
    x = rng.normal(size=(2, 1, 4)).astype(np.float32)
    rnn.build(x.shape)
    rnn.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in rnn.get_weights()])
    h = rng.normal(size=(2, 3)).astype(np.float32)
    output, states = cell(x[:, 0], [h])
    np.testing.assert_allclose(output, rnn(x, initial_state=[h]), rtol=1e-6)
    np.testing.assert_allclose(states[0], output)


def test_stacked_cells_run_like_the_layers_they_stack():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    stacked = layers.RNN([layers.LSTMCell(3), layers.SimpleRNNCell(2)], return_sequences=True)
    first, second = layers.LSTM(3, return_sequences=True), layers.SimpleRNN(2,
                                                                            return_sequences=True)
    stacked.build(x.shape)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in stacked.get_weights()]
    stacked.set_weights(weights)
    first.build(x.shape)
    first.set_weights(weights[:3])
    second.build((2, 5, 3))
    second.set_weights(weights[3:])
    np.testing.assert_allclose(stacked(x), second(first(x)), rtol=1e-5, atol=1e-6)


# ----- 3. whole-model files written by Keras ----------------------------------------------------------

@pytest.mark.parametrize("suffix", [".keras", ".h5", ".json"])
def test_keras3_file_with_stacked_cells_and_conv_lstm_loads_and_matches(suffix):
    model = modelio.load_model(FILES / f"stacked_cells_convlstm{suffix}")
    inputs, expected, _ = file_arrays("stacked_cells_convlstm.npz")
    assert_outputs_match(as_list(model.predict(inputs)), expected)


def test_tf_keras_h5_with_cells_and_conv_lstm_loads_and_matches():
    model = modelio.load_model(FILES / "tf_keras_cells_convlstm.h5")
    inputs, expected, _ = file_arrays("tf_keras_cells_convlstm.h5.npz")
    assert_outputs_match(as_list(model.predict(inputs)), expected)


def test_tf_keras_cudnn_file_loads_as_lstm_and_gru_with_converted_weights():
    model = modelio.load_model(FILES / "tf_keras_cudnn.h5")
    inputs, expected, arrays = file_arrays("tf_keras_cudnn.h5.npz")
    lstm, gru, bidirectional = (model.get_layer(name) for name in ("lstm", "gru", "bi"))
    assert isinstance(lstm, layers.LSTM) and isinstance(gru, layers.GRU)
    assert bidirectional.backward_layer.recurrent_activation_name == "sigmoid"
    assert serialize_layer(lstm)["class_name"] == "LSTM"
    assert serialize_layer(gru)["config"]["reset_after"] is True
    assert gru.recurrent_activation_name == lstm.recurrent_activation_name == "sigmoid"
    for layer in (bidirectional, lstm, gru):  # the weights tf-keras's own conversion gives
        for index, value in enumerate(layer.get_weights()):
            np.testing.assert_array_equal(value, arrays[f"weight:{layer.name}:{index}"])
    with h5py.File(FILES / "tf_keras_cudnn.h5") as handle:  # the file holds cuDNN's layout
        assert handle["model_weights/lstm/lstm/bias:0"].shape == (32,)
        assert handle["model_weights/bi/bi/backward_cu_dnnlstm/bias:0"].shape == (16,)
        assert handle["model_weights/gru/gru/bias:0"].shape == (18,)
    assert_outputs_match(as_list(model.predict(inputs)), expected)


def _plain_cudnn_equivalent(reset_after=True):
    x = modelio.Input((5, 3), name="x")
    y = layers.Bidirectional(layers.LSTM(2, return_sequences=True), name="bi")(x)
    y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
    return modelio.Model(x, layers.GRU(3, reset_after=reset_after, name="gru")(y))


def test_cudnn_weights_load_into_a_plain_lstm_gru_model():
    model = _plain_cudnn_equivalent()
    model.load_weights(FILES / "tf_keras_cudnn.h5")
    inputs, expected, _ = file_arrays("tf_keras_cudnn.h5.npz")
    assert_outputs_match(as_list(model.predict(inputs)), expected)


def test_cudnn_gru_weights_are_refused_by_a_reset_before_gru():
    model = _plain_cudnn_equivalent(reset_after=False)
    before = [weight.copy() for weight in model.get_weights()]
    with pytest.raises(modelio.WeightMismatchError, match="'gru'"):
        model.load_weights(FILES / "tf_keras_cudnn.h5")
    for weight, old in zip(model.get_weights(), before):
        np.testing.assert_array_equal(weight, old)


def test_cudnn_model_written_back_reloads_as_lstm_and_gru(tmp_path):
    model = modelio.load_model(FILES / "tf_keras_cudnn.h5")
    inputs, expected, _ = file_arrays("tf_keras_cudnn.h5.npz")
    for name in ("back.keras", "back.h5"):
        modelio.save_model(model, tmp_path / name)
        reloaded = modelio.load_model(tmp_path / name)
        assert type(reloaded.get_layer("lstm")) is layers.LSTM
        assert_outputs_match(as_list(reloaded.predict(inputs)), expected)


# ----- 4. bad arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("build,error,pattern", [
    (lambda: layers.RNN.from_config({"name": "r"}), modelio.ConfigError, "'r'.*cell"),
    (lambda: layers.RNN(layers.Dense(2), name="r"), modelio.UnsupportedError, "'r'.*Dense"),
    (lambda: layers.RNN.from_config({"name": "r", "cell": {"class_name": "Nope", "config": {}}}),
     modelio.UnsupportedError, "'r'.*Nope"),
    (lambda: layers.RNN.from_config({"name": "r", "cell": "lstm"}), modelio.ConfigError,
     "'r'.*cell"),
    (lambda: layers.RNN(layers.LSTMCell(2), stateful=True, name="r"), modelio.UnsupportedError,
     "'r'.*stateful"),
    (lambda: layers.StackedRNNCells([], name="s"), modelio.ConfigError, "'s'.*cells"),
    (lambda: layers.StackedRNNCells([layers.Dense(2)], name="s"), modelio.UnsupportedError,
     "'s'.*Dense"),
    (lambda: layers.LSTMCell(0, name="c"), modelio.ConfigError, "'c'.*units"),
    (lambda: layers.GRUCell(2, reset_after="yes", name="c"), modelio.ConfigError,
     "'c'.*reset_after"),
    (lambda: layers.LSTM(0, name="l"), modelio.ConfigError, "'l'.*units"),
    (lambda: layers.GRUCell(2, name="c")(modelio.Input((3,)), [modelio.Input((2,))]),
     modelio.UnsupportedError, "'c'.*inside an RNN"),
    (lambda: layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2, name="c"), modelio.ConfigError,
     "'c'.*dilation_rate"),
    (lambda: layers.ConvLSTM2D(2, 3, padding="causal", name="c"), modelio.ConfigError,
     "'c'.*padding"),
    (lambda: layers.ConvLSTM1D(2, (3, 3), name="c"), modelio.ConfigError, "'c'.*kernel_size"),
    (lambda: layers.ConvLSTM2D(2, 3, name="c")(modelio.Input((3, 4))), modelio.ConfigError,
     "'c'.*rank 5"),
    (lambda: layers.ConvLSTM2D(2, 3, name="c")(modelio.Input((3, None, 4, 2))),
     modelio.ConfigError, "'c'.*spatial"),
    (lambda: layers.ConvLSTM2D(2, 5, name="c")(modelio.Input((3, 4, 4, 2))),
     modelio.ConfigError, "'c'.*smaller"),
])
def test_bad_arguments_are_refused_naming_layer_and_argument(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build()


def test_conv_lstm_initial_states_must_have_the_state_shape():
    x, h = modelio.Input((3, 5, 4, 2)), modelio.Input((5, 4, 3))
    with pytest.raises(modelio.ConfigError, match="'c'.*initial state must have shape"):
        layers.ConvLSTM2D(2, 3, padding="same", name="c")(x, initial_state=[h, h])
    layer = layers.ConvLSTM2D(2, 3, padding="same", name="c")
    y = layer(x, initial_state=[modelio.Input((5, 4, 2)), modelio.Input((5, 4, 2))])
    assert y.shape == (None, 5, 4, 2)


def test_stacked_cells_take_one_initial_state_per_cell_state():
    x = modelio.Input((4, 3))
    rnn = layers.RNN([layers.LSTMCell(2), layers.GRUCell(3)], return_state=True, name="r")
    with pytest.raises(modelio.ConfigError, match="'r'.*3 initial state"):
        rnn(x, initial_state=[modelio.Input((2,))])
    outputs = rnn(x, initial_state=[modelio.Input((2,)), modelio.Input((2,)),
                                    modelio.Input((3,))])
    assert [tensor.shape for tensor in outputs] == [(None, 3), (None, 2), (None, 2), (None, 3)]
