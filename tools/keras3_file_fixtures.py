"""Write `.keras` archives and `.weights.h5` files made by real Keras into fixtures/keras3_files/.

Run from the repository root, in environments that have Keras:

    KERAS_BACKEND=torch ../kenv/bin/python tools/keras3_file_fixtures.py            # Keras 3
    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/keras3_file_fixtures.py --tf-keras

Keras 3: every model of tools/make_fixtures.py (MODELS and CATALOG_MODELS) is rebuilt with the
same seeds and the same `randomize_weights`, so it has exactly the weights recorded in
fixtures/keras3/NAME.npz; the script checks that (weights equal, outputs on the recorded inputs
equal) and then writes NAME.keras (`model.save`) and NAME.weights.h5 (`model.save_weights`). Tests
compare with the inputs and outputs of fixtures/keras3/NAME.npz. One more model, `layer_zoo`, holds
one of nearly every layer class modelio has (nested models, shared layers,
sub-layer-holding layers, frozen and non-trainable weights); its inputs and outputs go to
layer_zoo.npz.

tf-keras (`--tf-keras`): a few models are rebuilt as tools/make_fixtures.py keras2 did (checked
against fixtures/keras2/NAME.npz) and saved as tf_keras_NAME.keras and tf_keras_NAME.weights.h5.
"""

import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

import make_fixtures as mf  # noqa: E402

OUT_DIR = os.path.join(REPO_ROOT, "fixtures", "keras3_files")
TF_KERAS_MODELS = ("text_rnn", "transformer_block", "nested_sequential", "small_mobilenet")
ZOO_SEED = 200


def layer_zoo(keras):
    """One of nearly every layer modelio knows, in three input branches, plus nested models."""
    layers = keras.layers
    sequence = keras.Input((6, 8), name="sequence")
    image = keras.Input((8, 8, 3), name="image")
    tokens = keras.Input((5,), dtype="int32", name="tokens")

    s = layers.Conv1D(4, 3, padding="same")(sequence)
    s = layers.SeparableConv1D(4, 3, padding="same")(s)
    s = layers.DepthwiseConv1D(3, padding="same")(s)
    s = layers.Conv1DTranspose(4, 3, padding="same")(s)
    s = layers.LayerNormalization()(s)
    s = layers.LSTM(5, return_sequences=True)(s)
    s = layers.Bidirectional(
        layers.GRU(3, return_sequences=True),
        backward_layer=layers.SimpleRNN(3, return_sequences=True, go_backwards=True))(s)
    s = layers.TimeDistributed(layers.Dense(4))(s)
    s = layers.TimeDistributed(layers.BatchNormalization())(s)
    frozen = layers.Dense(4, name="frozen")
    frozen.trainable = False
    branches = [
        layers.MultiHeadAttention(2, 3, use_gate=True, dropout=0.1)(s, s),
        layers.MultiHeadAttention(2, 2, value_dim=3, use_bias=False)(s, s),
        layers.Attention(use_scale=True, score_mode="concat")([s, s]),
        layers.AdditiveAttention()([s, s]),
        layers.GroupNormalization(2)(s),
        layers.RMSNormalization()(s),
        layers.Normalization()(s),
        layers.Normalization(mean=0.5, variance=2.0)(s),
        layers.BatchNormalization(renorm=True)(s),
        layers.UnitNormalization()(s),
        frozen(s),
        layers.PReLU()(s),
        layers.Conv1D(4, 2, padding="same", dilation_rate=2)(s),
    ]
    s = layers.GlobalAveragePooling1D()(layers.Concatenate()(branches))

    i = layers.Rescaling(0.5, offset=0.1)(image)
    i = layers.Conv2D(4, 3, padding="same")(i)
    i = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(i)
    i = layers.DepthwiseConv2D(3, depth_multiplier=2)(i)
    i = layers.SeparableConv2D(4, 3)(i)
    i = layers.BatchNormalization(scale=False)(i)
    i = layers.Resizing(6, 6)(i)
    i = layers.CenterCrop(4, 4)(i)
    i = layers.GlobalMaxPooling2D()(i)

    e = layers.GlobalAveragePooling1D()(layers.Embedding(10, 4)(tokens))
    # (A layer used both inside a nested model and outside it is left out: Keras 3.15.1 cannot
    # reload such a model, its config holds two copies of the layer but the file only one.)
    inner_seq = keras.Sequential([keras.Input((4,)), layers.Dense(4, activation="relu"),
                                  layers.Dense(4)], name="inner_seq")
    nested_in = keras.Input((4,), name="nested_in")
    nested = keras.Model(nested_in, layers.Dense(4, name="inner_head")(inner_seq(nested_in)),
                         name="inner_fn")
    shared = layers.Dense(4, name="shared_dense")
    merged = layers.Concatenate()([s, i, nested(e), nested(i), shared(e), shared(i)])
    return keras.Model([sequence, image, tokens], layers.Dense(3, name="head")(merged),
                       name="layer_zoo")


def randomize_any_dtype(model, rng):
    """`make_fixtures.randomize_weights`, cast to each variable's dtype (Normalization's count)."""
    values = []
    for variable, value in zip(model.weights, model.get_weights()):
        random = rng.normal(0.0, 0.5, np.shape(value)).astype(np.float32)
        if "variance" in variable.path or "stddev" in variable.path:
            random = np.abs(random) + 0.5
        if np.asarray(value).dtype.kind in "iu":
            random = np.full(np.shape(value), 7)
        values.append(random.astype(np.asarray(value).dtype))
    model.set_weights(values)


def zoo_inputs(rng) -> dict:
    return {"sequence": rng.normal(0.0, 1.0, (3, 6, 8)).astype(np.float32),
            "image": rng.normal(0.0, 1.0, (3, 8, 8, 3)).astype(np.float32),
            "tokens": rng.integers(0, 10, (3, 5)).astype(np.int32)}


def as_list(outputs) -> list:
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return [np.asarray(value) for value in (outputs if isinstance(outputs, (list, tuple))
                                           else [outputs])]


def recorded(dialect: str, name: str) -> dict:
    with np.load(os.path.join(REPO_ROOT, "fixtures", dialect, f"{name}.npz")) as archive:
        return dict(archive)


def check_same_as_recorded(keras, model, build, arrays: dict) -> float:
    """The rebuilt model has the recorded weights and computes the recorded outputs."""
    weights = mf.leaf_layer_weights(model)
    for key, value in weights.items():
        stored = arrays.get(f"weight:{key}")
        if stored is None or stored.shape != value.shape or not np.array_equal(stored, value):
            sys.exit(f"{build.__name__}: weight {key} differs from the recorded fixture")
    inputs = {key[len("input:"):]: value for key, value in arrays.items()
              if key.startswith("input:")}
    feed = list(inputs.values()) if len(inputs) > 1 else next(iter(inputs.values()))
    if isinstance(getattr(model, "_input_structure", None), dict) or build is mf.shared_layers:
        feed = inputs
    outputs = as_list(model.predict(feed, verbose=0))
    count = sum(key.startswith("output:") for key in arrays)
    worst = max(float(np.max(np.abs(got.astype(np.float64) -
                                     arrays[f"output:{i}"].astype(np.float64))))
                for i, got in zip(range(count), outputs))
    if worst > 1e-6:
        sys.exit(f"{build.__name__}: outputs differ from the recorded fixture by {worst}")
    return worst


def keras3_main(keras) -> None:
    keras.utils.set_random_seed(0)
    builds = [(seed, build) for seed, build in enumerate(mf.MODELS)]
    builds += [(seed, build) for seed, build in enumerate(mf.CATALOG_MODELS, start=100)]
    for seed, build in builds:
        name = build.__name__
        rng = np.random.default_rng(seed)
        model = build(keras)
        mf.randomize_weights(model, rng)
        worst = check_same_as_recorded(keras, model, build, recorded("keras3", name))
        save_both(model, name)
        print(f"  {name}: matches fixtures/keras3/{name}.npz (max diff {worst:.1e})")
    rng = np.random.default_rng(ZOO_SEED)
    model = layer_zoo(keras)
    randomize_any_dtype(model, rng)
    inputs = zoo_inputs(rng)
    outputs = as_list(model.predict([inputs["sequence"], inputs["image"], inputs["tokens"]],
                                    verbose=0))
    arrays = {f"input:{key}": value for key, value in inputs.items()}
    arrays.update({f"output:{i}": value for i, value in enumerate(outputs)})
    np.savez(os.path.join(OUT_DIR, "layer_zoo.npz"), **arrays)
    save_both(model, "layer_zoo")
    print(f"  layer_zoo: {len(model.layers)} layers, outputs recorded")


def tf_keras_main(keras) -> None:
    keras.utils.set_random_seed(0)
    builds = [(seed, build) for seed, build in enumerate(mf.MODELS)]
    builds += [(seed, build) for seed, build in enumerate(mf.CATALOG_MODELS, start=100)]
    for seed, build in builds:
        name = build.__name__
        rng = np.random.default_rng(seed)
        model = build(keras)             # built in order, so automatic names match keras2/*.json
        mf.randomize_weights(model, rng)
        if name not in TF_KERAS_MODELS:
            continue
        worst = check_same_as_recorded(keras, model, build, recorded("keras2", name))
        save_both(model, f"tf_keras_{name}")
        print(f"  tf_keras_{name}: matches fixtures/keras2/{name}.npz (max diff {worst:.1e})")


def save_both(model, name: str) -> None:
    model.save(os.path.join(OUT_DIR, f"{name}.keras"))
    model.save_weights(os.path.join(OUT_DIR, f"{name}.weights.h5"))


def main(argv) -> None:
    tf_keras = "--tf-keras" in argv[1:]
    keras = mf.import_keras("keras2" if tf_keras else "keras3")
    os.makedirs(OUT_DIR, exist_ok=True)
    print(f"{keras.__name__} {keras.__version__} -> {OUT_DIR}")
    if tf_keras:
        tf_keras_main(keras)
        record_version(keras, "tf_keras_*.keras, tf_keras_*.weights.h5")
    else:
        keras3_main(keras)
        record_version(keras, f"the others (backend {keras.backend.backend()})")


def record_version(keras, files: str) -> None:
    """One line per Keras that wrote files here, in fixtures/keras3_files/VERSION."""
    path = os.path.join(OUT_DIR, "VERSION")
    lines = []
    if os.path.exists(path):
        with open(path) as handle:
            lines = [line for line in handle.read().splitlines()
                     if line and not line.startswith(f"{keras.__name__} ")]
    lines.append(f"{keras.__name__} {keras.__version__}: {files}")
    with open(path, "w") as handle:
        handle.write("\n".join(sorted(lines)) + "\n")


if __name__ == "__main__":
    main(sys.argv)
