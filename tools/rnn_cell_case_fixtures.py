"""Record what real Keras computes and writes for RNN with cells (SimpleRNNCell, LSTMCell, GRUCell,
StackedRNNCells), ConvLSTM1D/2D/3D and tf-keras's CuDNNLSTM/CuDNNGRU, for
tests/layers/test_rnn_cell_layers.py. Tests read the results with modelio alone.

Run from the repository root, once per dialect, in the environments that have Keras:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/rnn_cell_case_fixtures.py keras3
    TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python tools/rnn_cell_case_fixtures.py keras2

Each writes fixtures/<dialect>/rnn_cell_cases.npz in the layout of
tools/recurrent_case_fixtures.py (whose recorder it uses: per case Keras's `model.to_json()`,
inputs, `get_weights()` per layer and `model.predict` outputs), and whole-model files into
fixtures/rnn_cell_files/:

* keras3: `stacked_cells_convlstm.keras`, `.h5` (Keras 3's legacy HDF5), `.json` +
  `.weights.h5`, with `stacked_cells_convlstm.npz` (inputs `input:<name>`, outputs
  `output:<i>`): a model holding RNN(StackedRNNCells([LSTMCell, GRUCell])) and ConvLSTM2D.
* keras2: `tf_keras_cells_convlstm.h5` (RNN with cells and ConvLSTM2D, `model.save`) and
  `tf_keras_cudnn.h5`: a real tf-keras Bidirectional(CuDNNLSTM) + CuDNNLSTM + CuDNNGRU model (tf-keras 2.21 still builds and
  saves them on CPU: `tf_keras.src.layers.rnn.cudnn_lstm.CuDNNLSTM`; it cannot run them without
  a GPU). Its expected outputs come from the same model built with LSTM/GRU in tf-keras (the
  CuDNN-equivalent settings: tanh, sigmoid, use_bias, GRU reset_after=True), into which
  tf-keras's own `load_weights` loads the CuDNN file (tf-keras converts the weights there, in
  `hdf5_format._convert_rnn_weights`). Each file has a `<file>.npz` beside it.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import recurrent_case_fixtures as base  # noqa: E402
from case_archive import write_npz  # noqa: E402

REPO_ROOT = base.REPO_ROOT
FILES_DIR = os.path.join(REPO_ROOT, "fixtures", "rnn_cell_files")


def _seq(keras, steps=5, features=3, name="x"):
    return keras.Input((steps, features), name=name)


def _frames(keras, shape, name="frames"):
    return keras.Input(shape, name=name)


# ----- Keras 3 models ------------------------------------------------------------------------------

def single_cells(keras):
    layers = keras.layers
    x = _seq(keras)
    outputs = [
        layers.RNN(layers.LSTMCell(3), return_sequences=True, name="rnn_lstm")(x),
        layers.RNN(layers.GRUCell(3), go_backwards=True, name="rnn_gru_after")(x),
        layers.RNN(layers.GRUCell(2, reset_after=False, activation="relu"),
                   return_sequences=True, name="rnn_gru_before")(x),
        layers.RNN(layers.SimpleRNNCell(2, use_bias=False), unroll=True, name="rnn_simple")(x),
    ]
    outputs.extend(layers.RNN(layers.LSTMCell(2, recurrent_activation="hard_sigmoid"),
                              return_state=True, name="rnn_state")(x))
    return keras.Model(x, outputs)


def stacked_cells(keras):
    layers = keras.layers
    x = _seq(keras)
    stacked = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(4), layers.GRUCell(3)]),
                         return_sequences=True, return_state=True, name="stacked")(x)
    listed = layers.RNN([layers.SimpleRNNCell(2), layers.LSTMCell(3), layers.GRUCell(2)],
                        go_backwards=True, name="listed")(x)
    return keras.Model(x, [*keras.tree.flatten(stacked), listed])


def masked_cells(keras):
    layers = keras.layers
    tokens = base._tokens(keras)
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    sequence = layers.RNN(layers.LSTMCell(3), return_sequences=True, name="sequence")(x)
    stacked = layers.RNN(layers.StackedRNNCells([layers.GRUCell(3), layers.LSTMCell(2)]),
                         return_sequences=True, zero_output_for_mask=True, name="stacked")(x)
    backwards = layers.RNN([layers.SimpleRNNCell(2), layers.GRUCell(2, reset_after=False)],
                           go_backwards=True, name="backwards")(x)
    return keras.Model(tokens, base._mask_outputs(keras, [sequence, stacked, backwards],
                                                  [sequence]))


def cell_initial_state(keras):
    layers = keras.layers
    x, h, c = _seq(keras), keras.Input((3,), name="h"), keras.Input((3,), name="c")
    y = layers.RNN(layers.LSTMCell(3), return_sequences=True, name="rnn")(x, initial_state=[h, c])
    return keras.Model([x, h, c], y)


def stacked_initial_state(keras):
    """Keras 3 nests a stack's initial states per cell: [[h1, c1], h2]."""
    layers = keras.layers
    x = _seq(keras)
    h1, c1, h2 = (keras.Input((size,), name=name) for name, size in (("h1", 2), ("c1", 2),
                                                                       ("h2", 3)))
    y = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(2), layers.GRUCell(3)]),
                   return_sequences=True, name="rnn")(x, initial_state=[[h1, c1], h2])
    return keras.Model([x, h1, c1, h2], y)


def bidirectional_cells(keras):
    layers = keras.layers
    x = _seq(keras)
    y = layers.Bidirectional(layers.RNN(layers.GRUCell(2), return_sequences=True), name="bi")(x)
    z = layers.Bidirectional(layers.RNN([layers.LSTMCell(2), layers.SimpleRNNCell(2)]),
                             merge_mode="sum", name="bi_stacked")(x)
    return keras.Model(x, [y, z])


def conv_lstm_1d(keras):
    layers = keras.layers
    x = _frames(keras, (4, 7, 2))
    same = layers.ConvLSTM1D(3, 3, padding="same", return_sequences=True, name="same")(x)
    strided = layers.ConvLSTM1D(2, 2, strides=2, return_state=True, name="strided")(x)
    return keras.Model(x, [same, *strided])


def conv_lstm_2d(keras):
    layers = keras.layers
    x = _frames(keras, (3, 6, 5, 2))
    same = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, name="same")(x)
    valid = layers.ConvLSTM2D(3, (2, 3), strides=(2, 1), go_backwards=True, name="valid")(x)
    dilated = layers.ConvLSTM2D(2, 2, dilation_rate=2, padding="same", activation="relu",
                                recurrent_activation="hard_sigmoid", use_bias=False,
                                return_state=True, name="dilated")(x)
    return keras.Model(x, [same, valid, *dilated])


def conv_lstm_2d_channels_first(keras):
    layers = keras.layers
    x = _frames(keras, (3, 2, 5, 4))
    y = layers.ConvLSTM2D(2, 3, padding="same", data_format="channels_first",
                          return_sequences=True, go_backwards=True, name="first")(x)
    z = layers.ConvLSTM2D(3, 2, strides=2, data_format="channels_first", return_state=True,
                          unit_forget_bias=False, name="first_state")(x)
    return keras.Model(x, [y, *z])


def conv_lstm_3d(keras):
    layers = keras.layers
    x = _frames(keras, (2, 3, 4, 3, 2))
    y = layers.ConvLSTM3D(2, 2, padding="same", return_sequences=True, name="conv3d")(x)
    return keras.Model(x, y)


KERAS3_MODELS = {
    "single_cells": single_cells,
    "stacked_cells": stacked_cells,
    "masked_cells": masked_cells,
    "cell_initial_state": cell_initial_state,
    "stacked_initial_state": stacked_initial_state,
    "bidirectional_cells": bidirectional_cells,
    "conv_lstm_1d": conv_lstm_1d,
    "conv_lstm_2d": conv_lstm_2d,
    "conv_lstm_2d_channels_first": conv_lstm_2d_channels_first,
    "conv_lstm_3d": conv_lstm_3d,
}


# ----- Keras 2 (tf-keras) models ----------------------------------------------------------------------

def k2_cells(keras):
    layers = keras.layers
    x = _seq(keras)
    stacked = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(3), layers.GRUCell(2)]),
                         return_sequences=True, name="stacked")(x)
    simple = layers.RNN(layers.SimpleRNNCell(2), go_backwards=True, name="simple")(x)
    before = layers.RNN(layers.GRUCell(2, reset_after=False,
                                       recurrent_activation="hard_sigmoid"), name="before")(x)
    return keras.Model(x, [stacked, simple, before])


def k2_conv_lstm(keras):
    layers = keras.layers
    x = _frames(keras, (3, 6, 5, 2))
    same = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, name="same")(x)
    valid = layers.ConvLSTM2D(2, 2, strides=2, recurrent_activation="sigmoid",
                              return_state=True, name="valid")(x)
    return keras.Model(x, [same, *valid])


KERAS2_MODELS = {"k2_cells": k2_cells, "k2_conv_lstm": k2_conv_lstm}


# ----- whole-model files --------------------------------------------------------------------------

def stacked_cells_convlstm(keras):
    layers = keras.layers
    x = _seq(keras, 5, 3, "sequence")
    frames = _frames(keras, (3, 5, 4, 2))
    rnn = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(4), layers.GRUCell(3)]),
                     name="stacked_rnn")(x)
    conv = layers.ConvLSTM2D(2, 3, padding="same", name="conv_lstm")(frames)
    flat = layers.Flatten(name="flatten")(conv)
    merged = layers.Concatenate(name="concat")([rnn, flat])
    return keras.Model([x, frames], layers.Dense(3, name="head")(merged))


def _record_file_model(keras, build, case_id, paths, dialect):
    base._clear_session(keras)
    model = build(keras)
    base._set_weights(model, case_id)
    inputs = base._inputs(keras, model, case_id)
    feed = [inputs[name] for name in inputs] if len(inputs) > 1 else next(iter(inputs.values()))
    outputs = model.predict(feed, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    arrays = {f"input:{name}": value for name, value in inputs.items()}
    arrays.update({f"output:{index}": np.asarray(value) for index, value in enumerate(outputs)})
    for path in paths:
        if path.endswith(".json"):
            with open(path, "w") as handle:
                handle.write(model.to_json())
        elif path.endswith(".weights.h5"):
            model.save_weights(path)
        else:
            model.save(path)
    return model, arrays


def keras3_files(keras):
    stem = os.path.join(FILES_DIR, "stacked_cells_convlstm")
    _, arrays = _record_file_model(keras, stacked_cells_convlstm, "stacked_cells_convlstm",
                                   [f"{stem}.keras", f"{stem}.h5", f"{stem}.json",
                                    f"{stem}.weights.h5"], "keras3")
    write_npz(f"{stem}.npz", arrays)


def _cudnn_model(keras, lstm, gru):
    x = _seq(keras, 5, 3, "x")
    y = keras.layers.Bidirectional(lstm(2, return_sequences=True), name="bi")(x)
    y = lstm(4, return_sequences=True, name="lstm")(y)
    z = gru(3, name="gru")(y)
    return keras.Model(x, z)


def keras2_files(keras):
    from tf_keras.src.layers.rnn.cudnn_gru import CuDNNGRU
    from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM

    path = os.path.join(FILES_DIR, "tf_keras_cells_convlstm.h5")

    def cells_convlstm(keras):
        layers = keras.layers
        x = _seq(keras, 5, 3, "sequence")
        frames = _frames(keras, (3, 5, 4, 2))
        rnn = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(4), layers.GRUCell(3)]),
                         name="stacked_rnn")(x)
        conv = layers.Flatten(name="flatten")(layers.ConvLSTM2D(2, 3, padding="same",
                                                                name="conv_lstm")(frames))
        return keras.Model([x, frames], layers.Concatenate(name="concat")([rnn, conv]))

    _, arrays = _record_file_model(keras, cells_convlstm, "tf_keras_cells_convlstm", [path],
                                   "keras2")
    write_npz(f"{path}.npz", arrays)

    # CuDNN: save the CuDNN model, then compute its outputs with LSTM/GRU loading that file.
    path = os.path.join(FILES_DIR, "tf_keras_cudnn.h5")
    base._clear_session(keras)
    cudnn = _cudnn_model(keras, CuDNNLSTM, CuDNNGRU)
    base._set_weights(cudnn, "tf_keras_cudnn")
    cudnn.save(path)
    base._clear_session(keras)

    def lstm(units, **kwargs):
        return keras.layers.LSTM(units, activation="tanh", recurrent_activation="sigmoid",
                                 **kwargs)

    def gru(units, **kwargs):
        return keras.layers.GRU(units, activation="tanh", recurrent_activation="sigmoid",
                                reset_after=True, **kwargs)

    plain = _cudnn_model(keras, lstm, gru)
    plain.load_weights(path)  # tf-keras converts the CuDNN weights here
    inputs = base._inputs(keras, plain, "tf_keras_cudnn")
    arrays = {f"input:{name}": value for name, value in inputs.items()}
    arrays["output:0"] = np.asarray(plain.predict(inputs["x"], verbose=0))
    for layer in plain.layers:  # the converted weights, as tf-keras holds them
        for index, value in enumerate(layer.get_weights()):
            arrays[f"weight:{layer.name}:{index}"] = np.asarray(value)
    write_npz(f"{path}.npz", arrays)


def main(argv) -> None:
    dialect = argv[1] if len(argv) > 1 else "keras3"
    if dialect == "keras2":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tf_keras as keras
        models, write_files = KERAS2_MODELS, keras2_files
    elif dialect == "keras3":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        assert keras.__version__ == "3.15.1", keras.__version__
        models, write_files = KERAS3_MODELS, keras3_files
    else:
        sys.exit("usage: rnn_cell_case_fixtures.py keras3|keras2")
    arrays = {}
    cases = [base.record_model(keras, case_id, build, arrays) for case_id, build in models.items()]
    document = {"keras_version": keras.__version__, "cases": cases, "configs": []}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    out_path = os.path.join(REPO_ROOT, "fixtures", dialect, "rnn_cell_cases.npz")
    write_npz(out_path, arrays)
    os.makedirs(FILES_DIR, exist_ok=True)
    write_files(keras)
    print(f"wrote {len(cases)} models to {out_path} ({os.path.getsize(out_path)} bytes) and "
          f"files to {FILES_DIR}")


if __name__ == "__main__":
    main(sys.argv)
