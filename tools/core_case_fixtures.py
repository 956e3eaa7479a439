"""Record what real Keras computes and writes for small models built around the layers of issue 13's
"core" part: EinsumDense, ReversibleEmbedding, GroupQueryAttention, SpectralNormalization,
AdaptiveAverage/AdaptiveMaxPooling1D/2D/3D and the classes keras.applications defines for itself
(ConvNeXt's LayerScale and StochasticDepth, InceptionResNetV2's CustomScaleLayer) in Keras 3.15.1;
and tf-keras 2.21's LocallyConnected1D/2D, ThresholdedReLU, SyncBatchNormalization and
`experimental.EinsumDense` for the Keras 2 half (its models: tools/core_case_models_keras2.py).
The tests (tests/layers/test_core_cases.py, tests/onnx/test_export_core_cases.py) rebuild every
model with modelio alone and never import Keras.

Run from the repository root, in the environment that has Keras 3; it runs itself again under
tf-keras 2.21 for the Keras 2 half:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/core_case_fixtures.py

(`... core_case_fixtures.py keras3` or `keras2` records one half only; the Keras 2 half needs
`TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python`.)

It writes fixtures/keras3/core_cases.npz and fixtures/keras2/core_cases.npz (the attention_cases
layout: ``cases_json`` = ``{"keras_version", "cases": [{"id", "model_json", "inputs", "outputs",
"files"}], "fresh_configs": [...]}``, and ``<case id>/input:<name>``, ``<case id>/weight:<layer
name>:<i>`` (``get_weights()`` order), ``<case id>/output:<i>`` arrays). The cases named in FILES
are also saved by Keras itself: Keras 3 ``.keras`` (and legacy ``.h5`` where Keras 3 writes it)
into fixtures/keras3_files/core/, tf-keras ``.h5`` into fixtures/keras2_files/core/; each file's
case id and format are listed in the case's ``files``. Inputs are multiples of 1/8, weights
multiples of 1/16 (seeded by the case id), so reruns write the same values.
"""

import json
import os
import sys
import zlib

import numpy as np
from case_archive import record_dialects, write_model_cases

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 2
VOCAB = 11
KERAS2_PYTHON = os.environ.get("KERAS2_PYTHON", "/work/k2env/bin/python")


def out_path(dialect: str) -> str:
    return os.path.join(REPO_ROOT, "fixtures", dialect, "core_cases.npz")


def files_dir(dialect: str) -> str:
    return os.path.join(REPO_ROOT, "fixtures", f"{dialect}_files", "core")


def _inputs(keras, **specs):
    return [keras.Input(shape, dtype=dtype, name=name) for name, (shape, dtype) in specs.items()]


def _single(keras, layer, shape, dtype="float32"):
    (x,) = _inputs(keras, x=(shape, dtype))
    return keras.Model(x, layer(x)), [x]


# ----- Keras 3: EinsumDense -------------------------------------------------------------------------

def einsum_dense_like(keras):
    return _single(keras, keras.layers.EinsumDense("ab,bc->ac", 4, bias_axes="c",
                                                   activation="relu", name="ed"), (5,))


def einsum_heads(keras):
    return _single(keras, keras.layers.EinsumDense("abc,cde->abde", (None, 2, 3),
                                                   bias_axes="de", name="ed"), (3, 4))


def einsum_left_ellipsis(keras):
    return _single(keras, keras.layers.EinsumDense("...b,bc->...c", 3, bias_axes="c",
                                                   name="ed"), (2, 3, 4))


def einsum_right_ellipsis(keras):
    return _single(keras, keras.layers.EinsumDense("ab...,bc->ac...", 5, bias_axes="c",
                                                   name="ed"), (4, 3, 2))


def einsum_bias_inner_axis(keras):
    return _single(keras, keras.layers.EinsumDense("abc,cde->abde", (None, 2, 3),
                                                   bias_axes="d", activation="tanh", name="ed"),
                   (3, 4))


def einsum_uppercase_letters(keras):
    return _single(keras, keras.layers.EinsumDense("aBc,cD->aBD", (None, 4), bias_axes="D",
                                                   name="ed"), (3, 5))


def einsum_transposed_output(keras):
    return _single(keras, keras.layers.EinsumDense("abc,dc->adb", (5, None), name="ed"), (3, 4))


def einsum_float64(keras):
    return _single(keras, keras.layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d",
                                                   activation="sigmoid", dtype="float64",
                                                   name="ed"), (3, 4), "float64")


# ----- Keras 3: ReversibleEmbedding -----------------------------------------------------------------

def reversible_tied(keras):
    (tokens,) = _inputs(keras, tokens=((5,), "int32"))
    embedding = keras.layers.ReversibleEmbedding(VOCAB, 6, mask_zero=True, name="emb")
    hidden = keras.layers.Dense(6, name="mix")(embedding(tokens))
    return keras.Model(tokens, [hidden, embedding(hidden, reverse=True)]), [tokens]


def reversible_untied_soft_cap(keras):
    (tokens,) = _inputs(keras, tokens=((5,), "int32"))
    embedding = keras.layers.ReversibleEmbedding(VOCAB, 4, tie_weights=False, logit_soft_cap=2.0,
                                                 name="emb")
    return keras.Model(tokens, embedding(embedding(tokens), reverse=True)), [tokens]


def reversible_mask_zero_is_not_propagated(keras):
    (tokens,) = _inputs(keras, tokens=((6,), "int32"))
    x = keras.layers.ReversibleEmbedding(VOCAB, 4, mask_zero=True, name="emb")(tokens)
    return keras.Model(tokens, keras.layers.GlobalAveragePooling1D(name="gap")(x)), [tokens]


# ----- Keras 3: GroupQueryAttention -----------------------------------------------------------------

def gqa_self(keras):
    (x,) = _inputs(keras, x=((5, 8), "float32"))
    gqa = keras.layers.GroupQueryAttention(3, 4, 2, name="gqa")
    return keras.Model(x, gqa(x, x)), [x]


def gqa_causal_cross(keras):
    q, v = _inputs(keras, q=((4, 8), "float32"), v=((6, 8), "float32"))
    gqa = keras.layers.GroupQueryAttention(2, 4, 1, name="gqa")
    return keras.Model([q, v], gqa(q, v, use_causal_mask=True)), [q, v]


def gqa_key_mask_scores(keras):
    q, v, k, amask = _inputs(keras, q=((4, 6), "float32"), v=((5, 6), "float32"),
                             k=((5, 3), "float32"), amask=((4, 5), "int32"))
    gqa = keras.layers.GroupQueryAttention(2, 2, 2, name="gqa")
    output, scores = gqa(q, v, key=k, attention_mask=amask, return_attention_scores=True)
    return keras.Model([q, v, k, amask], [output, scores]), [q, v, k, amask]


def gqa_fused_attention_mask(keras):
    q, v, amask = _inputs(keras, q=((4, 6), "float32"), v=((5, 6), "float32"),
                          amask=((4, 5), "int32"))
    gqa = keras.layers.GroupQueryAttention(2, 4, 2, name="gqa")
    return keras.Model([q, v, amask], gqa(q, v, attention_mask=amask)), [q, v, amask]


def gqa_dropout_attention_mask_causal(keras):
    q, amask = _inputs(keras, q=((5, 6), "float32"), amask=((5, 5), "int32"))
    gqa = keras.layers.GroupQueryAttention(2, 2, 1, dropout=0.25, seed=3, name="gqa")
    return keras.Model([q, amask], gqa(q, q, attention_mask=amask, use_causal_mask=True)), [
        q, amask]


def gqa_embedding_masks(keras):
    tq, tv = _inputs(keras, tokens_q=((5,), "int32"), tokens_v=((6,), "int32"))
    eq = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed_q")(tq)
    ev = keras.layers.Embedding(VOCAB, 8, mask_zero=True, name="embed_v")(tv)
    gqa = keras.layers.GroupQueryAttention(2, 4, 2, name="gqa")
    return keras.Model([tq, tv], gqa(eq, ev)), [tq, tv]


def gqa_gate_window_no_bias(keras):
    (x,) = _inputs(keras, x=((6, 8), "float32"))
    gqa = keras.layers.GroupQueryAttention(2, 4, 2, use_gate=True, sliding_window=2,
                                           use_bias=False, flash_attention=False, name="gqa")
    return keras.Model(x, gqa(x, x, use_causal_mask=True)), [x]


def mini_transformer(keras):
    """ReversibleEmbedding -> causal GroupQueryAttention -> Add/LayerNorm -> EinsumDense FFN ->
    Add/LayerNorm -> logits through the embedding's reverse direction."""
    layers = keras.layers
    (tokens,) = _inputs(keras, tokens=((6,), "int32"))
    embedding = layers.ReversibleEmbedding(VOCAB, 8, name="embed")
    x = embedding(tokens)
    attended = layers.GroupQueryAttention(2, 4, 2, name="gqa")(x, x, use_causal_mask=True)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm_1")(layers.Add(name="add_1")([x, attended]))
    ffn = layers.EinsumDense("abc,cd->abd", (None, 16), bias_axes="d", activation="gelu",
                             name="ffn_1")(x)
    ffn = layers.EinsumDense("abc,cd->abd", (None, 8), bias_axes="d", name="ffn_2")(ffn)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm_2")(layers.Add(name="add_2")([x, ffn]))
    return keras.Model(tokens, embedding(x, reverse=True), name="mini_transformer"), [tokens]


# ----- Keras 3: SpectralNormalization ---------------------------------------------------------------

def spectral_dense(keras):
    layer = keras.layers.SpectralNormalization(keras.layers.Dense(4, name="inner"),
                                               power_iterations=2, name="sn")
    return _single(keras, layer, (5,))


def spectral_conv2d(keras):
    layer = keras.layers.SpectralNormalization(
        keras.layers.Conv2D(3, 2, activation="relu", name="inner"), name="sn")
    return _single(keras, layer, (5, 5, 2))


def spectral_embedding_casts_to_input_dtype(keras):
    layer = keras.layers.SpectralNormalization(keras.layers.Embedding(VOCAB, 4, name="inner"),
                                               name="sn")
    (tokens,) = _inputs(keras, tokens=((5,), "float32"))
    return keras.Model(tokens, layer(tokens)), [tokens]


# ----- Keras 3: adaptive pooling --------------------------------------------------------------------

def _adaptive(kind, rank, output_size, shape, data_format="channels_last"):
    def build(keras):
        layer = getattr(keras.layers, f"Adaptive{kind}Pooling{rank}D")(
            output_size, data_format=data_format, name="pool")
        return _single(keras, layer, shape)
    build.__name__ = (f"adaptive_{kind.lower()}_{rank}d_{'x'.join(map(str, np.atleast_1d(output_size)))}"
                      f"_{'cf' if data_format == 'channels_first' else 'cl'}")
    return build


ADAPTIVE_CASES = [
    _adaptive("Average", 1, 3, (7, 3)), _adaptive("Average", 1, 4, (8, 2)),
    _adaptive("Average", 1, 5, (3, 2), "channels_first"),
    _adaptive("Average", 2, (2, 3), (5, 7, 2)), _adaptive("Average", 2, 2, (2, 6, 4), "channels_first"),
    _adaptive("Average", 3, (2, 2, 3), (4, 5, 3, 2)),
    _adaptive("Max", 1, 3, (7, 3)), _adaptive("Max", 1, 2, (3, 4), "channels_first"),
    _adaptive("Max", 2, (3, 2), (5, 7, 2)), _adaptive("Max", 2, (4, 4), (2, 8, 8), "channels_first"),
    _adaptive("Max", 3, 2, (5, 3, 4, 2)), _adaptive("Max", 3, (1, 2, 3), (2, 3, 4, 5),
                                                    "channels_first"),
]


# ----- Keras 3: classes of keras.applications -------------------------------------------------------

def tiny_convnext(keras):
    """keras.applications' own ConvNeXt builder at depths 1 and widths 4..8 (ConvNeXtTiny is
    ~110 MB): LayerScale in every block, StochasticDepth (drop_path_rate > 0) in the later ones."""
    from keras.src.applications.convnext import ConvNeXt
    model = ConvNeXt(depths=[1, 1, 1, 1], projection_dims=[4, 8, 8, 8], drop_path_rate=0.2,
                     weights=None, input_shape=(32, 32, 3), classes=3, name="tiny_convnext",
                     default_size=32,
                     classifier_activation="softmax")
    return model, list(model.inputs)


def custom_scale_layer(keras):
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    a, b = _inputs(keras, a=((3, 4), "float32"), b=((3, 4), "float32"))
    return keras.Model([a, b], CustomScaleLayer(0.17, name="scale")([a, b])), [a, b]


KERAS3_CASES = [
    einsum_dense_like, einsum_heads, einsum_left_ellipsis, einsum_right_ellipsis,
    einsum_bias_inner_axis, einsum_uppercase_letters, einsum_transposed_output, einsum_float64,
    reversible_tied, reversible_untied_soft_cap, reversible_mask_zero_is_not_propagated,
    gqa_self, gqa_causal_cross, gqa_key_mask_scores, gqa_fused_attention_mask,
    gqa_dropout_attention_mask_causal, gqa_embedding_masks, gqa_gate_window_no_bias,
    mini_transformer, spectral_dense, spectral_conv2d, spectral_embedding_casts_to_input_dtype,
    *ADAPTIVE_CASES, tiny_convnext, custom_scale_layer,
]
# Saved by Keras itself as well: case id -> formats.
KERAS3_FILES = {"mini_transformer": ("keras", "h5"), "tiny_convnext": ("keras", "h5"),
                "spectral_conv2d": ("keras",), "custom_scale_layer": ("keras",),
                "adaptive_max_2d_3x2_cl": ("keras",), "einsum_right_ellipsis": ("keras", "h5")}

GLOROT_SEEDED = {"module": "keras.initializers", "class_name": "GlorotNormal",
                 "config": {"seed": 4, "input_axes": None, "output_axes": None},
                 "registered_name": None}
FRESH_CONFIGS = [
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4}),
    ("EinsumDense", {"equation": "...b,bc->...c", "output_shape": [3], "bias_axes": "c",
                     "activation": "relu", "kernel_initializer": GLOROT_SEEDED}),
    ("ReversibleEmbedding", {"input_dim": 5, "output_dim": 3}),
    ("ReversibleEmbedding", {"input_dim": 5, "output_dim": 3, "tie_weights": False,
                             "logit_soft_cap": 1.5, "mask_zero": True}),
    ("GroupQueryAttention", {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}),
    ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1,
                             "dropout": 0.5, "use_bias": False, "use_gate": True,
                             "sliding_window": 3, "seed": 2, "flash_attention": False}),
    ("AdaptiveAveragePooling1D", {"output_size": 3}),
    ("AdaptiveAveragePooling2D", {"output_size": [2, 3], "data_format": "channels_first"}),
    ("AdaptiveAveragePooling3D", {"output_size": 2}),
    ("AdaptiveMaxPooling1D", {"output_size": [4]}),
    ("AdaptiveMaxPooling2D", {"output_size": 5}),
    ("AdaptiveMaxPooling3D", {"output_size": [1, 2, 3], "data_format": "channels_first"}),
]


from core_case_models_keras2 import KERAS2_CASES  # noqa: E402 - the tf-keras half

KERAS2_FILES = {"k2_classics": ("h5",)}


# ----- values ---------------------------------------------------------------------------------------

def _rng(*salt) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(":".join(map(str, salt)).encode()))


def _input_values(case_id: str, name: str, shape, dtype: str) -> np.ndarray:
    rng = _rng(case_id, name)
    full = (BATCH, *shape)
    if name.startswith("tokens"):
        tokens = rng.integers(1, VOCAB, full)
        tokens[0, -2:] = 0
        tokens[1, 1] = 0
        return tokens.astype(dtype)
    if name == "amask":
        mask = (rng.uniform(size=full) < 0.7).astype(np.int32)
        mask[0, 1, :] = 0                  # a query position that may attend to nothing
        return mask
    if case_id == "tiny_convnext":
        return np.round(rng.uniform(0, 255, full)).astype(dtype)
    return (np.round(rng.normal(size=full) * 8) / 8).astype(dtype)


def _all_layers(model):
    """Leaf layers, with their paths (a nested model's layers as `outer/inner`)."""
    found = []
    for layer in model.layers:
        if hasattr(layer, "layers") and hasattr(layer, "inputs"):
            found += [(f"{layer.name}/{path}", inner) for path, inner in _all_layers(layer)]
        else:
            found.append((layer.name, layer))
    return found


def _set_weights(case_id: str, model) -> None:
    for path, layer in _all_layers(model):
        weights = layer.get_weights()
        if not weights:
            continue
        rng = _rng(case_id, path, "weights")
        names = [getattr(w, "path", getattr(w, "name", "")) for w in layer.weights]
        values = []
        for name, weight in zip(names, weights):
            value = np.round(rng.normal(size=np.shape(weight)) * 0.5 * 16) / 16
            if "variance" in name:
                value = np.abs(value) + 0.25
            values.append(value.astype(np.asarray(weight).dtype))
        layer.set_weights(values)


def _clear_session(keras) -> None:
    (keras.backend if keras.__name__ == "tf_keras" else keras.utils).clear_session()


def _input_name(keras, tensor) -> str:
    if keras.__name__ == "tf_keras":
        return tensor.name.split(":")[0]
    return tensor._keras_history[0].name


def _dtype_name(tensor) -> str:
    dtype = tensor.dtype
    return getattr(dtype, "name", None) or str(dtype)


def _predict(model, inputs):
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    return [np.asarray(value) for value in outputs] if isinstance(outputs, (list, tuple)) else [
        np.asarray(outputs)]


def _reload(keras, path):
    if keras.__name__ == "tf_keras":
        return keras.models.load_model(path)
    # Keras 3 reads its own legacy .h5 of these classes only when told about them.
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    return keras.saving.load_model(path, custom_objects={
        "LayerScale": LayerScale, "StochasticDepth": StochasticDepth,
        "CustomScaleLayer": CustomScaleLayer})


def _save_files(keras, model, case_id, formats, inputs, outputs, dialect) -> list:
    """Save the model in each of `formats`; each entry says whether Keras reads its own file
    back (Keras 3.15.1 cannot reload the legacy .h5 of a model whose graph holds `keras.ops`
    calls, such as ConvNeXt's `inputs + layer(x)`: "too many positional arguments")."""
    folder = files_dir(dialect)
    os.makedirs(folder, exist_ok=True)
    written = []
    for suffix in formats:
        path = os.path.join(folder, f"{case_id}.{suffix}")
        model.save(path)
        try:
            reloaded = _reload(keras, path)
        except (TypeError, ValueError) as exc:
            written.append({"file": f"{case_id}.{suffix}", "keras_reloads": False,
                            "keras_error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        for got, want in zip(_predict(reloaded, inputs), outputs):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        written.append({"file": f"{case_id}.{suffix}", "keras_reloads": True})
    return written


def record_case(keras, build, arrays: dict, dialect: str, files: dict) -> dict:
    _clear_session(keras)
    case_id = build.__name__
    model, input_tensors = build(keras)
    _set_weights(case_id, model)
    names = [_input_name(keras, tensor) for tensor in input_tensors]
    inputs = [_input_values(case_id, name, tuple(tensor.shape[1:]), _dtype_name(tensor))
              for name, tensor in zip(names, input_tensors)]
    outputs = _predict(model, inputs)
    for name, value in zip(names, inputs):
        arrays[f"{case_id}/input:{name}"] = value
    for path, layer in _all_layers(model):
        for index, weight in enumerate(layer.get_weights()):
            arrays[f"{case_id}/weight:{path}:{index}"] = np.asarray(weight)
    for index, value in enumerate(outputs):
        assert np.all(np.isfinite(value)), (case_id, index)
        arrays[f"{case_id}/output:{index}"] = value
    saved = _save_files(keras, model, case_id, files.get(case_id, ()), inputs, outputs, dialect)
    return {"id": case_id, "model_json": json.loads(model.to_json()), "inputs": names,
            "outputs": len(outputs), "files": saved}


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
        cases, files = KERAS2_CASES, KERAS2_FILES
    else:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        assert keras.__version__ == "3.15.1", keras.__version__
        cases, files = KERAS3_CASES, KERAS3_FILES
    arrays = {}
    records = [record_case(keras, build, arrays, dialect, files) for build in cases]
    write_model_cases(out_path(dialect), keras, records, arrays,
                      fresh_configs(keras) if dialect == "keras3" else [])


def main(argv) -> None:
    record_dialects(argv, record, __file__, KERAS2_PYTHON)


if __name__ == "__main__":
    main(sys.argv)
