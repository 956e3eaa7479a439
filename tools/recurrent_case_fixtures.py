"""Record what real Keras computes and writes for recurrent layers and their wrappers, for
tests/layers/test_recurrent_layers.py. Tests read the archives with modelio alone.

Run from the repository root, once per dialect, in the environments that have Keras:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/recurrent_case_fixtures.py keras3
    TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python tools/recurrent_case_fixtures.py keras2

Each writes fixtures/<dialect>/recurrent_cases.npz holding:

* ``cases_json`` - UTF-8 JSON bytes ``{"keras_version", "cases", "configs"}``. Each case is a small
  ``keras.Model``: ``{"id", "model" (what ``model.to_json()`` wrote, parsed), "inputs" (input
  names), "outputs" (how many), "weights" ({layer name: weight count})}``. ``configs`` (Keras 3
  only) lists ``{"id", "class_name", "kwargs", "input_shape", "config", "build_config"}``: what
  ``layer.get_config()`` returned for a layer built on ``input_shape`` right after
  ``clear_session()``.
* ``<case id>/input:<name>``, ``<case id>/output:<i>`` (Keras's ``model.predict``, masks included
  as bool outputs) and ``<case id>/weight:<layer name>:<i>`` (``layer.get_weights()`` order).

Weights and inputs come from generators seeded by the case id; the zip entries carry a fixed
timestamp, so reruns write byte-identical files.
"""

import json
import os
import sys
import zlib

import numpy as np
from case_archive import write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 3


def _rng(case_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case_id}:{salt}".encode()))


# ----- the models, each `build(keras) -> keras.Model` ------------------------------------------
# Token inputs are named "tokens"; the recorder fills them with padded sequences.

def _seq(keras, steps=6, features=3, name="x", dtype="float32"):
    return keras.Input((steps, features), name=name, dtype=dtype)


def _tokens(keras, steps=7):
    return keras.Input((steps,), dtype="int32", name="tokens")


def _single(layer_factory, steps=6, features=3):
    def build(keras):
        x = _seq(keras, steps, features)
        y = layer_factory(keras.layers)(x)
        return keras.Model(x, y)
    return build


def lstm_initial_state(keras):
    layers = keras.layers
    x, h, c = _seq(keras), keras.Input((4,), name="h"), keras.Input((4,), name="c")
    y = layers.LSTM(4, return_sequences=True, return_state=True, name="lstm")(
        x, initial_state=[h, c])
    return keras.Model([x, h, c], list(y))


def gru_initial_state(keras):
    layers = keras.layers
    x, h = _seq(keras), keras.Input((3,), name="h")
    y = layers.GRU(3, return_sequences=True, go_backwards=True, name="gru")(x, initial_state=h)
    return keras.Model([x, h], y)


def simple_rnn_initial_state(keras):
    layers = keras.layers
    x, h = _seq(keras), keras.Input((2,), name="h")
    y = layers.SimpleRNN(2, name="rnn")(x, initial_state=[h])
    return keras.Model([x, h], y)


def _mask_outputs(keras, outputs, masked):
    """Keras 3 can output the masks too; tf-keras cannot."""
    if keras.__name__ == "tf_keras":
        return outputs
    return outputs + [tensor._keras_mask for tensor in masked]


def masked_lstm(keras):
    layers = keras.layers
    tokens = _tokens(keras)
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    sequence = layers.LSTM(3, return_sequences=True, name="sequence")(x)
    last = layers.LSTM(3, name="last")(x)
    backwards = layers.LSTM(3, return_sequences=True, go_backwards=True, name="backwards")(x)
    with_state = layers.LSTM(3, return_state=True, name="with_state")(x)
    zeros = layers.LSTM(2, return_sequences=True, zero_output_for_mask=True, name="zeros")(x) \
        if keras.__name__ != "tf_keras" else layers.LSTM(2, name="zeros")(x)
    outputs = [sequence, last, backwards, *with_state, zeros]
    return keras.Model(tokens, _mask_outputs(keras, outputs, [sequence]))


def masked_gru_simple(keras):
    layers = keras.layers
    tokens = _tokens(keras)
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    after = layers.GRU(3, return_sequences=True, name="after")(x)
    before = layers.GRU(3, reset_after=False, return_sequences=True, go_backwards=True,
                        name="before")(x)
    last = layers.GRU(2, reset_after=False, name="last")(x)
    simple = layers.SimpleRNN(3, return_sequences=True, name="simple")(x)
    simple_back = layers.SimpleRNN(2, go_backwards=True, name="simple_back")(x)
    stacked = layers.GRU(2, name="stacked")(after)  # the mask travels through return_sequences
    outputs = [after, before, last, simple, simple_back, stacked]
    return keras.Model(tokens, _mask_outputs(keras, outputs, [after]))


def masked_with_initial_state(keras):
    """In Keras 3 a call with two tensor arguments gets no implicit mask: the state call below
    runs unmasked, the other one masked."""
    layers = keras.layers
    tokens = _tokens(keras)
    h = keras.Input((3,), name="h")
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    with_state = layers.GRU(3, return_sequences=True, name="with_state")(x, initial_state=h)
    without = layers.GRU(3, return_sequences=True, name="without")(x)
    return keras.Model([tokens, h], [with_state, without])


def bidirectional_merge_modes(keras):
    layers = keras.layers
    x = _seq(keras)
    outputs = []
    for mode in ("concat", "sum", "mul", "ave"):
        outputs.append(layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode=mode,
                                            name=f"bi_{mode}")(x))
    outputs.extend(layers.Bidirectional(layers.GRU(2), merge_mode=None, name="bi_none")(x))
    return keras.Model(x, outputs)


def bidirectional_states(keras):
    layers = keras.layers
    x = _seq(keras)
    concat = layers.Bidirectional(layers.LSTM(3, return_state=True), name="bi_state")(x)
    none = layers.Bidirectional(layers.GRU(2, return_sequences=True, return_state=True,
                                           reset_after=False), merge_mode=None, name="bi_none")(x)
    simple = layers.Bidirectional(layers.SimpleRNN(2, return_state=True), merge_mode="sum",
                                  name="bi_simple")(x)
    return keras.Model(x, [*concat, *none, *simple])


def bidirectional_backward_layer(keras):
    layers = keras.layers
    x = _seq(keras)
    forward = layers.LSTM(3, return_sequences=True, name="fw")
    backward = layers.LSTM(3, return_sequences=True, go_backwards=True, activation="relu",
                           name="bw")
    y = layers.Bidirectional(forward, backward_layer=backward, name="bi")(x)
    return keras.Model(x, y)


def bidirectional_initial_state(keras):
    layers = keras.layers
    x = _seq(keras)
    states = [keras.Input((3,), name=f"s{index}") for index in range(4)]
    y = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi")(
        x, initial_state=states)
    return keras.Model([x, *states], y)


def bidirectional_masked(keras):
    layers = keras.layers
    tokens = _tokens(keras)
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    concat = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi_concat")(x)
    last = layers.Bidirectional(layers.GRU(2), merge_mode="sum", name="bi_last")(x)
    none = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode=None,
                                name="bi_none")(x)
    outputs = [concat, last, *none]
    return keras.Model(tokens, _mask_outputs(keras, outputs, [concat, none[1]]))


def time_distributed(keras):
    layers = keras.layers
    x = keras.Input((5, 2, 3), name="x")
    flat = layers.TimeDistributed(layers.Flatten(), name="td_flatten")(x)
    dense = layers.TimeDistributed(layers.Dense(4, activation="tanh"), name="td_dense")(flat)
    reshaped = layers.TimeDistributed(layers.Reshape((2, 2)), name="td_reshape")(dense)
    dense4 = layers.TimeDistributed(layers.Dense(3), name="td_dense_rank4")(reshaped)
    act = layers.TimeDistributed(layers.Activation("relu"), name="td_relu")(dense4)
    dropped = layers.TimeDistributed(layers.Dropout(0.5), name="td_dropout")(dense)
    return keras.Model(x, [dense, act, dropped])


def time_distributed_masked(keras):
    """TimeDistributed passes the mask through to the LSTM after it."""
    layers = keras.layers
    tokens = _tokens(keras)
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    projected = layers.TimeDistributed(layers.Dense(4), name="td")(x)
    y = layers.LSTM(3, return_sequences=True, name="lstm")(projected)
    return keras.Model(tokens, _mask_outputs(keras, [projected, y], [projected]))


def text_model(keras):
    """Embedding(mask_zero) -> Bidirectional(LSTM) -> GRU -> Dense, end to end."""
    layers = keras.layers
    tokens = _tokens(keras, steps=9)
    x = layers.Embedding(12, 5, mask_zero=True, name="embedding")(tokens)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bi_lstm")(x)
    x = layers.GRU(4, name="gru")(x)
    return keras.Model(tokens, layers.Dense(3, activation="softmax", name="head")(x))


KERAS3_MODELS = {
    "simple_rnn_last": _single(lambda L: L.SimpleRNN(4, name="rnn")),
    "simple_rnn_sequences_backwards_relu_no_bias": _single(lambda L: L.SimpleRNN(
        3, activation="relu", use_bias=False, return_sequences=True, go_backwards=True,
        name="rnn")),
    "simple_rnn_state": _single(lambda L: L.SimpleRNN(3, return_sequences=True,
                                                      return_state=True, name="rnn")),
    "lstm_last": _single(lambda L: L.LSTM(4, name="lstm")),
    "lstm_sequences_state": _single(lambda L: L.LSTM(4, return_sequences=True,
                                                     return_state=True, name="lstm")),
    "lstm_backwards_unroll": _single(lambda L: L.LSTM(3, return_sequences=True,
                                                      go_backwards=True, unroll=True,
                                                      name="lstm")),
    "lstm_no_bias_hard_sigmoid_relu": _single(lambda L: L.LSTM(
        3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
        return_sequences=True, name="lstm")),
    "lstm_dropout_is_inference_noop": _single(lambda L: L.LSTM(
        3, dropout=0.4, recurrent_dropout=0.3, seed=5, return_sequences=True, name="lstm")),
    "lstm_unit_forget_bias_false_cudnn_off": _single(lambda L: L.LSTM(
        3, unit_forget_bias=False, use_cudnn=False, name="lstm")),
    "gru_reset_after": _single(lambda L: L.GRU(4, name="gru")),
    "gru_reset_before_sequences": _single(lambda L: L.GRU(4, reset_after=False,
                                                          return_sequences=True, name="gru")),
    "gru_state_backwards": _single(lambda L: L.GRU(3, return_state=True, go_backwards=True,
                                                   name="gru")),
    "gru_no_bias_reset_after": _single(lambda L: L.GRU(3, use_bias=False, return_sequences=True,
                                                       name="gru")),
    "gru_no_bias_reset_before": _single(lambda L: L.GRU(3, use_bias=False, reset_after=False,
                                                        name="gru")),
    "gru_linear_hard_sigmoid": _single(lambda L: L.GRU(3, activation=None,
                                                       recurrent_activation="hard_sigmoid",
                                                       return_sequences=True, name="gru")),
    "lstm_float64": lambda keras: _float64_lstm(keras),
    "lstm_initial_state": lstm_initial_state,
    "gru_initial_state": gru_initial_state,
    "simple_rnn_initial_state": simple_rnn_initial_state,
    "masked_lstm": masked_lstm,
    "masked_gru_simple": masked_gru_simple,
    "masked_with_initial_state": masked_with_initial_state,
    "bidirectional_merge_modes": bidirectional_merge_modes,
    "bidirectional_states": bidirectional_states,
    "bidirectional_backward_layer": bidirectional_backward_layer,
    "bidirectional_initial_state": bidirectional_initial_state,
    "bidirectional_masked": bidirectional_masked,
    "time_distributed": time_distributed,
    "time_distributed_masked": time_distributed_masked,
    "text_model": text_model,
}


def _float64_lstm(keras):
    x = _seq(keras, dtype="float64")
    y = keras.layers.LSTM(3, return_sequences=True, dtype="float64", name="lstm")(x)
    return keras.Model(x, y)


# ----- Keras 2 (tf-keras) models ---------------------------------------------------------------

def k2_lstm_hard_sigmoid_initial_state(keras):
    """tf-keras records initial states as extra inputs of the node: [x, h, c]."""
    layers = keras.layers
    x, h, c = _seq(keras), keras.Input((4,), name="h"), keras.Input((4,), name="c")
    y = layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True,
                    name="lstm")(x, initial_state=[h, c])
    return keras.Model([x, h, c], y)


def k2_gru_variants(keras):
    layers = keras.layers
    x = _seq(keras)
    before = layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid",
                        return_sequences=True, name="before")(x)
    after = layers.GRU(3, name="after")(x)
    simple = layers.SimpleRNN(2, go_backwards=True, name="simple")(x)
    lstm = layers.LSTM(3, return_state=True, go_backwards=True, name="lstm")(x)
    return keras.Model(x, [before, after, simple, *lstm])


def k2_masked(keras):
    layers = keras.layers
    tokens = _tokens(keras)
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    sequence = layers.LSTM(3, return_sequences=True, name="sequence")(x)
    backwards = layers.GRU(3, reset_after=False, return_sequences=True, go_backwards=True,
                           name="backwards")(x)
    last = layers.LSTM(3, recurrent_activation="hard_sigmoid", name="last")(x)
    return keras.Model(tokens, [sequence, backwards, last])


def k2_bidirectional_text(keras):
    layers = keras.layers
    tokens = _tokens(keras, steps=9)
    x = layers.Embedding(12, 5, mask_zero=True, name="embedding")(tokens)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True,
                                         recurrent_activation="hard_sigmoid"), name="bi_lstm")(x)
    x = layers.Bidirectional(layers.GRU(3, reset_after=False), merge_mode="ave",
                             name="bi_gru")(x)
    return keras.Model(tokens, layers.Dense(3, activation="softmax", name="head")(x))


def k2_bidirectional_state_and_backward(keras):
    layers = keras.layers
    x = _seq(keras)
    states = layers.Bidirectional(layers.LSTM(2, return_state=True), merge_mode="sum",
                                  name="bi_state")(x)
    backward = layers.GRU(2, return_sequences=True, go_backwards=True, reset_after=False,
                          name="bw")
    given = layers.Bidirectional(layers.GRU(2, return_sequences=True, reset_after=False),
                                 backward_layer=backward, merge_mode="mul", name="bi_given")(x)
    none = layers.Bidirectional(layers.SimpleRNN(2), merge_mode=None, name="bi_none")(x)
    return keras.Model(x, [*states, given, *none])


def k2_time_distributed(keras):
    layers = keras.layers
    x = keras.Input((5, 2, 3), name="x")
    flat = layers.TimeDistributed(layers.Flatten(), name="td_flatten")(x)
    dense = layers.TimeDistributed(layers.Dense(4, activation="relu"), name="td_dense")(flat)
    y = layers.SimpleRNN(3, return_sequences=True, name="rnn")(dense)
    return keras.Model(x, [dense, y])


def k2_initial_states_with_mask(keras):
    """tf-keras masks a call whose initial states are extra inputs (Keras 3 would not)."""
    layers = keras.layers
    tokens = _tokens(keras)
    h, c = keras.Input((3,), name="h"), keras.Input((3,), name="c")
    states = [keras.Input((2,), name=f"s{index}") for index in range(2)]
    x = layers.Embedding(9, 3, mask_zero=True, name="embedding")(tokens)
    lstm = layers.LSTM(3, return_sequences=True, name="lstm")(x, initial_state=[h, c])
    bi = layers.Bidirectional(layers.GRU(2, return_sequences=True), name="bi")(
        x, initial_state=states)
    return keras.Model([tokens, h, c, *states], [lstm, bi])


KERAS2_MODELS = {
    "k2_lstm_hard_sigmoid_initial_state": k2_lstm_hard_sigmoid_initial_state,
    "k2_gru_variants": k2_gru_variants,
    "k2_masked": k2_masked,
    "k2_bidirectional_text": k2_bidirectional_text,
    "k2_bidirectional_state_and_backward": k2_bidirectional_state_and_backward,
    "k2_time_distributed": k2_time_distributed,
    "k2_initial_states_with_mask": k2_initial_states_with_mask,
}


# ----- single-layer configs (Keras 3) ------------------------------------------------------------

def _regularizer(class_name, **config):
    """Regularizers and constraints as the configs Keras writes (modelio keeps them as given)."""
    module = "keras.constraints" if class_name == "NonNeg" else "keras.regularizers"
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": None}


CONFIG_CASES = [
    ("simple_rnn_defaults", "SimpleRNN", {"units": 3}),
    ("simple_rnn_everything", "SimpleRNN", {
        "units": 2, "activation": "relu", "use_bias": False, "kernel_initializer": "he_normal",
        "recurrent_initializer": "glorot_uniform", "kernel_regularizer": _regularizer("L2", l2=0.25),
        "dropout": 0.25, "recurrent_dropout": 0.5, "return_sequences": True,
        "return_state": True, "go_backwards": True, "unroll": True, "seed": 3}),
    ("lstm_defaults", "LSTM", {"units": 3}),
    ("lstm_everything", "LSTM", {
        "units": 2, "activation": "relu", "recurrent_activation": "hard_sigmoid",
        "use_bias": False, "unit_forget_bias": False, "bias_initializer": "ones",
        "recurrent_regularizer": _regularizer("L1", l1=0.5),
        "activity_regularizer": _regularizer("L2", l2=0.125), "dropout": 0.1,
        "recurrent_dropout": 0.2, "seed": 7, "return_sequences": True, "go_backwards": True,
        "use_cudnn": False, "zero_output_for_mask": True, "implementation": 1}),
    ("gru_defaults", "GRU", {"units": 3}),
    ("gru_everything", "GRU", {
        "units": 2, "activation": "softsign", "recurrent_activation": "relu",
        "reset_after": False, "bias_constraint": _regularizer("NonNeg"), "dropout": 0.5, "seed": 1,
        "return_state": True, "unroll": True, "trainable": False}),
]


# ----- recording ---------------------------------------------------------------------------------

def _inputs(keras, model, case_id):
    arrays = {}
    for tensor in model.inputs:
        name = (tensor.name.split(":")[0] if keras.__name__ == "tf_keras"
                else tensor._keras_history[0].name)
        shape = (BATCH, *tensor.shape[1:])
        rng = _rng(case_id, f"input:{name}")
        if name == "tokens":
            values = rng.integers(1, 9, shape).astype(np.int32)
            values[0, -3:] = 0            # padding at the end
            values[1, 2] = 0              # in the middle
            values[1, 4] = 0
            values[2, :2] = 0             # and at the start
            arrays[name] = values
        else:
            dtype = getattr(tensor.dtype, "name", tensor.dtype)
            arrays[name] = rng.normal(0.0, 1.0, shape).astype(dtype)
    return arrays


def _set_weights(model, case_id):
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            rng = _rng(case_id, f"weights:{layer.name}")
            layer.set_weights([rng.normal(0.0, 0.6, w.shape).astype(w.dtype) for w in weights])


def _clear_session(keras):
    (keras.backend if keras.__name__ == "tf_keras" else keras.utils).clear_session()


def record_model(keras, case_id, build, arrays):
    _clear_session(keras)
    model = build(keras)
    _set_weights(model, case_id)
    inputs = _inputs(keras, model, case_id)
    feed = [inputs[name] for name in inputs] if len(inputs) > 1 else next(iter(inputs.values()))
    outputs = model.predict(feed, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    for name, value in inputs.items():
        arrays[f"{case_id}/input:{name}"] = value
    for index, value in enumerate(outputs):
        arrays[f"{case_id}/output:{index}"] = np.asarray(value)
    weights = {}
    for layer in model.layers:
        values = layer.get_weights()
        if values:
            weights[layer.name] = len(values)
            for index, value in enumerate(values):
                arrays[f"{case_id}/weight:{layer.name}:{index}"] = np.asarray(value)
    return {"id": case_id, "model": json.loads(model.to_json()), "inputs": list(inputs),
            "outputs": len(outputs), "weights": weights}


def record_config(keras, case_id, class_name, kwargs):
    keras.utils.clear_session()
    layer = getattr(keras.layers, class_name)(**kwargs)
    input_shape = (None, 5, 3)
    layer.build(input_shape)
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs,
            "input_shape": list(input_shape), "config": json.loads(json.dumps(layer.get_config())),
            "build_config": json.loads(json.dumps(layer.get_build_config()))}


def main(argv) -> None:
    dialect = argv[1] if len(argv) > 1 else "keras3"
    if dialect == "keras2":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tf_keras as keras
        models, config_cases = KERAS2_MODELS, []
    elif dialect == "keras3":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        assert keras.__version__ == "3.15.1", keras.__version__
        models, config_cases = KERAS3_MODELS, CONFIG_CASES
    else:
        sys.exit("usage: recurrent_case_fixtures.py keras3|keras2")
    arrays = {}
    cases = [record_model(keras, case_id, build, arrays) for case_id, build in models.items()]
    configs = [record_config(keras, *spec) for spec in config_cases]
    document = {"keras_version": keras.__version__, "cases": cases, "configs": configs}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    out_path = os.path.join(REPO_ROOT, "fixtures", dialect, "recurrent_cases.npz")
    write_npz(out_path, arrays)
    print(f"wrote {len(cases)} models and {len(configs)} configs to {out_path} "
          f"({os.path.getsize(out_path)} bytes)")


if __name__ == "__main__":
    main(sys.argv)
