"""ONNX export of RNN with cells, StackedRNNCells and ConvLSTM1D/2D/3D, run in onnxruntime against
modelio's numpy kernels and the outputs real Keras recorded (fixtures/*/rnn_cell_cases.npz)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import UnsupportedError
from modelio.onnx.export import MAX_OPSET

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
import test_rnn_cell_layers as cell_cases  # noqa: E402

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def op_types(proto) -> set:
    return {node.op_type for node in proto.graph.node}


# One opset per case keeps the tests fast: the oldest for the Scan-based ConvLSTM (onnxruntime
# wants the Scan body's shapes there) and one stack of cells, the newest for the others.
OLDEST = {"conv_lstm_1d", "conv_lstm_2d", "conv_lstm_3d", "conv_lstm_2d_channels_first",
          "k2_conv_lstm", "stacked_cells", "masked_cells"}


@pytest.mark.parametrize("dialect,case_id", sorted(cell_cases.CASES))
def test_recorded_case_runs_in_onnxruntime_like_keras(dialect, case_id):
    opset = 13 if case_id in OLDEST else MAX_OPSET
    model, inputs, expected = cell_cases.load_case(dialect, case_id)
    proto = modelio.export_onnx(model, opset=opset)
    got = run_onnx(proto, inputs)
    wanted = cell_cases.as_list(model.predict(inputs))
    assert len(got) == len(wanted) == len(expected)
    for output, numpy_output, keras_output in zip(got, wanted, expected):
        assert output.shape == keras_output.shape
        if keras_output.dtype == np.bool_:
            np.testing.assert_array_equal(output, keras_output)
            continue
        np.testing.assert_allclose(output, numpy_output, **TOLERANCE)
        np.testing.assert_allclose(output, keras_output, **TOLERANCE)


def test_cells_become_onnx_recurrent_ops_and_conv_lstm_a_conv_and_scan():
    model, _, _ = cell_cases.load_case("keras3", "stacked_cells")
    assert {"LSTM", "GRU", "RNN"} <= op_types(modelio.export_onnx(model))
    model, _, _ = cell_cases.load_case("keras3", "conv_lstm_2d")
    assert {"Conv", "Scan"} <= op_types(modelio.export_onnx(model))


def test_conv_lstm_with_initial_states_runs_in_onnxruntime():
    rng = np.random.default_rng(7)
    x, h, c = modelio.Input((3, 5, 4, 2)), modelio.Input((5, 4, 3)), modelio.Input((5, 4, 3))
    y = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="c")(
        x, initial_state=[h, c])
    model = modelio.Model([x, h, c], y)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5
                       for w in model.get_weights()])
    inputs = {tensor.name: rng.normal(size=(2, *tensor.shape[1:])).astype(np.float32)
              for tensor in model.inputs}
    got = run_onnx(modelio.export_onnx(model), inputs)[0]
    np.testing.assert_allclose(got, model.predict(inputs), **TOLERANCE)


def test_what_onnx_cannot_run_is_refused_naming_the_layer():
    x = modelio.Input((3, 5, 4, 2))
    bidirectional = modelio.Model(x, layers.Bidirectional(
        layers.ConvLSTM2D(2, 3, padding="same", name="conv"), name="bi")(x))
    with pytest.raises(UnsupportedError, match="'forward_conv'.*ConvLSTMCell"):
        modelio.export_onnx(bidirectional)
    sequence = modelio.Input((4, 3))
    softsign = modelio.Model(sequence, layers.RNN(layers.LSTMCell(2, activation="softsign"),
                                                  name="r")(sequence))
    with pytest.raises(UnsupportedError, match="'r'.*softsign"):
        modelio.export_onnx(softsign)
    wide = modelio.Input((3, 5, 4, 2), dtype="float64")
    float64 = modelio.Model(wide, layers.ConvLSTM2D(2, 3, dtype="float64", name="c")(wide))
    with pytest.raises(UnsupportedError, match="'c'.*float64"):
        modelio.export_onnx(float64)
