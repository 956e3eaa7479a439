"""Record what real Keras computes and writes for small models built around the attention layers
(MultiHeadAttention, Attention, AdditiveAttention), for tests/layers/test_attention_layers.py.
The tests rebuild every model with modelio alone (`model_from_json`) and never import Keras.

Run from the repository root, in the environment that has Keras 3; it runs itself again under
tf-keras 2.21 for the Keras 2 half:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/attention_case_fixtures.py

(`... attention_case_fixtures.py keras3` or `keras2` records one half only; the Keras 2 half
needs `TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python`.)

It writes fixtures/keras3/attention_cases.npz and fixtures/keras2/attention_cases.npz,
byte-identical on every run (fixed zip timestamps, seeded values). Each holds:

* ``cases_json`` - UTF-8 JSON bytes ``{"keras_version", "cases": [...], "fresh_configs": [...]}``.
  A case is ``{"id", "model_json" (what ``model.to_json()`` wrote), "inputs" (input names, in
  model order), "outputs" (how many)}``. ``fresh_configs`` (Keras 3 only) lists
  ``{"class_name", "kwargs", "config"}``: ``get_config()`` of a layer made right after
  ``clear_session()`` and never built.
* ``<case id>/input:<name>``, ``<case id>/weight:<layer name>:<i>`` (``get_weights()`` order) and
  ``<case id>/output:<i>`` (Keras's ``predict`` output, inference mode) arrays.

Inputs are multiples of 1/8, weights multiples of 1/16, token inputs hold index 0 (padding, so
``mask_zero`` masks) at fixed places, attention-mask inputs hold a fully masked query row.
"""

import json
import os
import sys
import zlib

import numpy as np
from case_archive import record_dialects, write_model_cases

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 3
VOCAB = 12
KERAS2_PYTHON = os.environ.get("KERAS2_PYTHON", "/work/k2env/bin/python")


def out_path(dialect: str) -> str:
    return os.path.join(REPO_ROOT, "fixtures", dialect, "attention_cases.npz")


# ----- the models (each returns model, [input tensors]) ------------------------------------------

def _inputs(keras, **specs):
    """`name=(shape, dtype)` -> Input tensors, in keyword order."""
    return [keras.Input(shape, dtype=dtype, name=name) for name, (shape, dtype) in specs.items()]


def mha_self_attention(keras):
    (x,) = _inputs(keras, x=((5, 8), "float32"))
    return keras.Model(x, keras.layers.MultiHeadAttention(2, 4, name="mha")(x, x)), [x]


def mha_cross_attention_lengths(keras):
    q, v = _inputs(keras, q=((4, 6), "float32"), v=((7, 6), "float32"))
    mha = keras.layers.MultiHeadAttention(3, 2, value_dim=5, name="mha")
    return keras.Model([q, v], mha(q, v)), [q, v]


def mha_key_given_output_shape(keras):
    q, v, k = _inputs(keras, q=((4, 6), "float32"), v=((5, 3), "float32"), k=((5, 7), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 4, output_shape=3, use_bias=False, name="mha")
    return keras.Model([q, v, k], mha(q, v, key=k)), [q, v, k]


def mha_output_shape_tuple(keras):
    (x,) = _inputs(keras, x=((4, 6), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 3, output_shape=(2, 3), name="mha")
    return keras.Model(x, mha(x, x)), [x]


def mha_attention_mask(keras):
    q, v, amask = _inputs(keras, q=((4, 6), "float32"), v=((5, 6), "float32"),
                          amask=((4, 5), "int32"))
    mha = keras.layers.MultiHeadAttention(2, 3, name="mha")
    return keras.Model([q, v, amask], mha(q, v, attention_mask=amask)), [q, v, amask]


def mha_attention_mask_scores(keras):
    q, v, amask = _inputs(keras, q=((4, 6), "float32"), v=((5, 6), "float32"),
                          amask=((4, 5), "int32"))
    mha = keras.layers.MultiHeadAttention(2, 3, name="mha")
    output, scores = mha(q, v, attention_mask=amask, return_attention_scores=True)
    return keras.Model([q, v, amask], [output, scores]), [q, v, amask]


def mha_causal(keras):
    (x,) = _inputs(keras, x=((5, 6), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 3, name="mha")
    return keras.Model(x, mha(x, x, use_causal_mask=True)), [x]


def mha_causal_scores_cross(keras):
    q, v = _inputs(keras, q=((4, 6), "float32"), v=((6, 6), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 3, name="mha")
    output, scores = mha(q, v, use_causal_mask=True, return_attention_scores=True)
    return keras.Model([q, v], [output, scores]), [q, v]


def mha_embedding_masks(keras):
    tq, tv = _inputs(keras, tokens_q=((6,), "int32"), tokens_v=((5,), "int32"))
    eq = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed_q")(tq)
    ev = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed_v")(tv)
    mha = keras.layers.MultiHeadAttention(2, 4, name="mha")
    return keras.Model([tq, tv], mha(eq, ev)), [tq, tv]


def mha_embedding_mask_causal_scores(keras):
    (tokens,) = _inputs(keras, tokens=((6,), "int32"))
    x = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed")(tokens)
    mha = keras.layers.MultiHeadAttention(2, 4, name="mha")
    output, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    return keras.Model(tokens, [output, scores]), [tokens]


def mha_key_mask_attention_mask_dropout(keras):
    """Masks on query, value and key plus an attention_mask; dropout > 0 takes Keras's
    non-fused path even at inference."""
    tq, tv, tk, amask = _inputs(keras, tokens_q=((4,), "int32"), tokens_v=((5,), "int32"),
                                tokens_k=((5,), "int32"), amask=((4, 5), "int32"))
    eq = keras.layers.Embedding(VOCAB, 6, mask_zero=True, name="embed_q")(tq)
    ev = keras.layers.Embedding(VOCAB, 6, mask_zero=True, name="embed_v")(tv)
    ek = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embed_k")(tk)
    mha = keras.layers.MultiHeadAttention(2, 3, dropout=0.1, seed=5, name="mha")
    return keras.Model([tq, tv, tk, amask], mha(eq, ev, key=ek, attention_mask=amask)), [
        tq, tv, tk, amask]


def mha_rank4_default_axes(keras):
    (x,) = _inputs(keras, x=((3, 4, 6), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 3, name="mha")
    output, scores = mha(x, x, return_attention_scores=True)
    return keras.Model(x, [output, scores]), [x]


def mha_rank4_axis_2(keras):
    q, v = _inputs(keras, q=((3, 4, 6), "float32"), v=((3, 5, 6), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 3, attention_axes=2, name="mha")
    output, scores = mha(q, v, return_attention_scores=True)
    return keras.Model([q, v], [output, scores]), [q, v]


def mha_rank4_axes_1_2_output(keras):
    (x,) = _inputs(keras, x=((2, 3, 5), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), name="mha")
    return keras.Model(x, mha(x, x)), [x]


def mha_gate_sliding_window(keras):
    (x,) = _inputs(keras, x=((6, 8), "float32"))
    mha = keras.layers.MultiHeadAttention(2, 4, use_gate=True, sliding_window=2, name="mha")
    return keras.Model(x, mha(x, x)), [x]


def mha_float64(keras):
    (x,) = _inputs(keras, x=((4, 6), "float64"))
    mha = keras.layers.MultiHeadAttention(2, 3, dtype="float64", name="mha")
    return keras.Model(x, mha(x, x, use_causal_mask=True)), [x]


def transformer_encoder(keras):
    """Embedding(mask_zero) -> MHA -> Dropout -> Add -> LayerNorm -> Dense FFN -> Add -> LayerNorm."""
    layers = keras.layers
    (tokens,) = _inputs(keras, tokens=((7,), "int32"))
    x = layers.Embedding(VOCAB, 16, mask_zero=True, name="embed")(tokens)
    attended = layers.MultiHeadAttention(4, 4, name="mha")(x, x)
    attended = layers.Dropout(0.1, name="attention_dropout")(attended)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm_1")(layers.Add(name="add_1")([x, attended]))
    ffn = layers.Dense(32, activation="relu", name="ffn_1")(x)
    ffn = layers.Dense(16, name="ffn_2")(ffn)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm_2")(layers.Add(name="add_2")([x, ffn]))
    return keras.Model(tokens, x, name="transformer_encoder"), [tokens]


def attention_dot(keras):
    q, v = _inputs(keras, q=((4, 5), "float32"), v=((6, 5), "float32"))
    return keras.Model([q, v], keras.layers.Attention(name="att")([q, v])), [q, v]


def attention_scale_key_scores(keras):
    q, v, k = _inputs(keras, q=((4, 5), "float32"), v=((6, 3), "float32"), k=((6, 5), "float32"))
    output, scores = keras.layers.Attention(use_scale=True, name="att")(
        [q, v, k], return_attention_scores=True)
    return keras.Model([q, v, k], [output, scores]), [q, v, k]


def attention_concat_scale(keras):
    q, v = _inputs(keras, q=((4, 5), "float32"), v=((6, 5), "float32"))
    att = keras.layers.Attention(use_scale=True, score_mode="concat", name="att")
    return keras.Model([q, v], att([q, v])), [q, v]


def attention_concat_key_causal(keras):
    q, v, k = _inputs(keras, q=((5, 4), "float32"), v=((5, 3), "float32"), k=((5, 4), "float32"))
    att = keras.layers.Attention(score_mode="concat", name="att")
    return keras.Model([q, v, k], att([q, v, k], use_causal_mask=True)), [q, v, k]


def attention_embedding_masks_causal_scores(keras):
    tq, tv = _inputs(keras, tokens_q=((5,), "int32"), tokens_v=((6,), "int32"))
    eq = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embed_q")(tq)
    ev = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embed_v")(tv)
    output, scores = keras.layers.Attention(name="att")(
        [eq, ev], use_causal_mask=True, return_attention_scores=True)
    return keras.Model([tq, tv], [output, scores]), [tq, tv]


def additive_embedding_masks(keras):
    tq, tv = _inputs(keras, tokens_q=((5,), "int32"), tokens_v=((6,), "int32"))
    eq = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embed_q")(tq)
    ev = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embed_v")(tv)
    return keras.Model([tq, tv], keras.layers.AdditiveAttention(name="att")([eq, ev])), [tq, tv]


def additive_no_scale_key_causal_scores(keras):
    q, v, k = _inputs(keras, q=((4, 5), "float32"), v=((6, 3), "float32"), k=((6, 5), "float32"))
    output, scores = keras.layers.AdditiveAttention(use_scale=False, name="att")(
        [q, v, k], use_causal_mask=True, return_attention_scores=True)
    return keras.Model([q, v, k], [output, scores]), [q, v, k]


KERAS3_CASES = [
    mha_self_attention, mha_cross_attention_lengths, mha_key_given_output_shape,
    mha_output_shape_tuple, mha_attention_mask, mha_attention_mask_scores, mha_causal,
    mha_causal_scores_cross, mha_embedding_masks, mha_embedding_mask_causal_scores,
    mha_key_mask_attention_mask_dropout, mha_rank4_default_axes, mha_rank4_axis_2,
    mha_rank4_axes_1_2_output, mha_gate_sliding_window, mha_float64, transformer_encoder,
    attention_dot, attention_scale_key_scores, attention_concat_scale,
    attention_concat_key_causal, attention_embedding_masks_causal_scores,
    additive_embedding_masks, additive_no_scale_key_causal_scores,
]


# ----- Keras 2 (tf-keras) models: the same calls, recorded in tf-keras's dialect -------------------

def k2_mha_robust_masking(keras):
    (tokens,) = _inputs(keras, tokens=((6,), "int32"))
    x = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed")(tokens)
    mha = keras.layers.MultiHeadAttention(2, 4, softmax_robust_masking=True, name="mha")
    output, scores = mha(x, x, return_attention_scores=True)
    return keras.Model(tokens, [output, scores]), [tokens]


KERAS2_CASES = [
    mha_self_attention, mha_key_given_output_shape, mha_attention_mask_scores,
    mha_causal_scores_cross, mha_embedding_masks, mha_embedding_mask_causal_scores,
    mha_rank4_axis_2, k2_mha_robust_masking, transformer_encoder, attention_scale_key_scores,
    attention_embedding_masks_causal_scores, additive_embedding_masks,
    additive_no_scale_key_causal_scores,
]

# Layers made and never built: Keras 3's get_config() of each.
GLOROT_SEEDED = {"module": "keras.initializers", "class_name": "GlorotNormal",
                 "config": {"seed": 4, "input_axes": None, "output_axes": None},
                 "registered_name": None}
L2 = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
      "registered_name": None}
FRESH_CONFIGS = [
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4}),
    ("MultiHeadAttention", {"num_heads": 3, "key_dim": 2, "value_dim": 5, "dropout": 0.25,
                            "use_bias": False, "output_shape": 7, "attention_axes": -2,
                            "seed": 3}),
    ("MultiHeadAttention", {"num_heads": 1, "key_dim": 8, "output_shape": [2, 3],
                            "attention_axes": [1, 2], "sliding_window": 4, "use_gate": True,
                            "kernel_initializer": GLOROT_SEEDED, "bias_initializer": "ones",
                            "kernel_regularizer": L2, "flash_attention": False}),
    ("Attention", {}),
    ("Attention", {"use_scale": True, "score_mode": "concat", "dropout": 0.5, "seed": 1}),
    ("AdditiveAttention", {}),
    ("AdditiveAttention", {"use_scale": False, "dropout": 0.2}),
]


# ----- values ------------------------------------------------------------------------------------

def _rng(*salt) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(":".join(map(str, salt)).encode()))


def _input_values(case_id: str, name: str, shape, dtype: str) -> np.ndarray:
    rng = _rng(case_id, name)
    full = (BATCH, *shape)
    if name.startswith("tokens"):
        tokens = rng.integers(1, VOCAB, full).astype(np.int32)
        tokens[0, -2:] = 0                 # padding at the end
        tokens[1, 1] = 0                   # and in the middle
        if case_id == "mha_key_mask_attention_mask_dropout" and name == "tokens_v":
            tokens[2] = 0                  # a fully padded value row: every key masked
        return tokens
    if name == "amask":
        mask = (rng.uniform(size=full) < 0.7).astype(np.int32)
        mask[0, 1, :] = 0                  # a query position that may attend to nothing
        return mask
    values = rng.normal(size=full)
    return (np.round(values * 8) / 8).astype(dtype)


def _set_weights(case_id: str, model) -> None:
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        rng = _rng(case_id, layer.name, "weights")
        values = [np.round(rng.normal(size=np.shape(w)) * 0.5 * 16) / 16 for w in weights]
        layer.set_weights([v.astype(np.asarray(w).dtype) for v, w in zip(values, weights)])


def _clear_session(keras) -> None:
    (keras.backend if keras.__name__ == "tf_keras" else keras.utils).clear_session()


def record_case(keras, build, arrays: dict) -> dict:
    _clear_session(keras)
    case_id = build.__name__
    model, input_tensors = build(keras)
    _set_weights(case_id, model)
    names = [_input_name(keras, tensor) for tensor in input_tensors]
    inputs = [_input_values(case_id, name, tuple(tensor.shape[1:]), _dtype_name(tensor))
              for name, tensor in zip(names, input_tensors)]
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    for name, value in zip(names, inputs):
        arrays[f"{case_id}/input:{name}"] = value
    for layer in model.layers:
        for index, weight in enumerate(layer.get_weights()):
            arrays[f"{case_id}/weight:{layer.name}:{index}"] = np.asarray(weight)
    for index, value in enumerate(outputs):
        value = np.asarray(value)
        assert np.all(np.isfinite(value)), (case_id, index)
        arrays[f"{case_id}/output:{index}"] = value
    return {"id": case_id, "model_json": json.loads(model.to_json()), "inputs": names,
            "outputs": len(outputs)}


def _input_name(keras, tensor) -> str:
    if keras.__name__ == "tf_keras":
        return tensor.name.split(":")[0]
    return tensor._keras_history[0].name


def _dtype_name(tensor) -> str:
    dtype = tensor.dtype
    return getattr(dtype, "name", None) or str(dtype)


def fresh_configs(keras) -> list:
    records = []
    for class_name, kwargs in FRESH_CONFIGS:
        _clear_session(keras)
        layer = getattr(keras.layers, class_name)(**kwargs)
        records.append({"class_name": class_name, "kwargs": kwargs,
                        "config": json.loads(json.dumps(layer.get_config()))})
    return records


def record(dialect: str) -> None:
    if dialect == "keras2":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tf_keras as keras
        cases = KERAS2_CASES
    else:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        assert keras.__version__ == "3.15.1", keras.__version__
        cases = KERAS3_CASES
    arrays = {}
    records = [record_case(keras, build, arrays) for build in cases]
    write_model_cases(out_path(dialect), keras, records, arrays,
                      fresh_configs(keras) if dialect == "keras3" else [])


def main(argv) -> None:
    record_dialects(argv, record, __file__, KERAS2_PYTHON)


if __name__ == "__main__":
    main(sys.argv)
