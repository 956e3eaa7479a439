"""Tiny models under every float dtype policy, written by real Keras, with inputs and outputs.

Run from the repository root, in the environments that have Keras:

    KERAS_BACKEND=torch ../kenv/bin/python tools/dtype_policy_fixtures.py keras3
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python \
        tools/dtype_policy_fixtures.py keras3-tf
    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/dtype_policy_fixtures.py tf-keras

keras3 (Keras 3.15.1, torch backend) writes fixtures/keras3_files/dtypes/POLICY_LAYER.keras: for
each policy (`float16`, `bfloat16`, `mixed_float16`, `mixed_bfloat16`, set model-wide with
`keras.config.set_dtype_policy`) one model per layer family (Dense, Conv2D, BatchNormalization,
LayerNormalization, MultiHeadAttention, Embedding, LSTM), plus `per_layer`: layers with their own
policies (a float32 head after mixed/bfloat16/float16 layers), and `per_layer_float16`, the same
without bfloat16 (ONNX exports it). Weights are seeded random values
(assigned in float32, so Keras rounds them to the variable dtype). The inputs and Keras's
outputs (`model.predict`; bfloat16 outputs widened exactly to float32) and the output dtype go to
fixtures/keras3_files/dtypes/keras3.npz as `NAME/input`, `NAME/output`, `NAME/output_dtype`.

keras3-tf loads each of those archives with Keras 3 on the TensorFlow backend and records its
outputs on the same inputs into tf_backend.npz (`NAME/output`), to show where the backends differ.

tf-keras (tf-keras 2.21, `tf_keras.mixed_precision.set_global_policy("mixed_float16")`) writes
tf_keras_mixed_float16_LAYER.h5 (`model.save`, legacy HDF5) and, for Dense, the `to_json()` text
plus `save_weights("NAME.weights.h5")` beside it; inputs and outputs go to tf_keras.npz.
"""

import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "fixtures", "keras3_files", "dtypes")
POLICIES = ("float16", "bfloat16", "mixed_float16", "mixed_bfloat16")
SEED = 1300


def builders(keras):
    """`{family: (build() -> model, input maker(rng) -> array)}`; models are built under the
    current global dtype policy."""
    layers = keras.layers

    def floats(shape):
        return lambda rng: rng.normal(0.0, 1.0, (2, *shape)).astype(np.float32)

    def dense():
        x = keras.Input((4,), name="x")
        h = layers.Dense(6, activation="relu", name="hidden")(x)
        return keras.Model(x, layers.Dense(3, name="head")(h))

    def conv2d():
        x = keras.Input((5, 5, 2), name="x")
        h = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(x)
        return keras.Model(x, layers.Conv2D(2, 2, strides=2, name="conv_out")(h))

    def batch_norm():
        x = keras.Input((4, 3), name="x")
        return keras.Model(x, layers.BatchNormalization(name="bn")(x))

    def layer_norm():
        x = keras.Input((4, 3), name="x")
        return keras.Model(x, layers.LayerNormalization(name="ln")(x))

    def attention():
        x = keras.Input((4, 6), name="x")
        y = layers.MultiHeadAttention(2, 3, name="mha")(x, x)
        return keras.Model(x, layers.Softmax(name="softmax")(y))

    def embedding():
        x = keras.Input((5,), dtype="int32", name="tokens")
        h = layers.Embedding(10, 4, name="embedding")(x)
        return keras.Model(x, layers.Dense(2, name="head")(h))

    def lstm():
        x = keras.Input((4, 3), name="x")
        # the default orthogonal initializer has no float16 QR on torch's CPU; weights are
        # replaced by seeded values anyway
        lstm = layers.LSTM(5, return_sequences=True, recurrent_initializer="glorot_uniform",
                           name="lstm")
        return keras.Model(x, lstm(x))

    return {
        "dense": (dense, floats((4,))),
        "conv2d": (conv2d, floats((5, 5, 2))),
        "batch_norm": (batch_norm, floats((4, 3))),
        "layer_norm": (layer_norm, floats((4, 3))),
        "attention": (attention, floats((4, 6))),
        "embedding": (embedding, lambda rng: rng.integers(0, 10, (2, 5)).astype(np.int32)),
        "lstm": (lstm, floats((4, 3))),
    }


def per_layer(keras):
    """Each layer with its own policy; the model's output is float32 (Keras's advice for mixed
    precision: a float32 last layer)."""
    layers = keras.layers
    x = keras.Input((4,), name="x")
    h = layers.Dense(6, activation="tanh", dtype="mixed_float16", name="half_mixed")(x)
    h = layers.Dense(5, activation="relu", dtype="mixed_bfloat16", name="bf16_mixed")(h)
    h = layers.Dense(4, dtype="float16", name="half")(h)
    h = layers.LayerNormalization(dtype="bfloat16", name="bf16_norm")(h)
    h = layers.Dense(3, dtype="float32", name="head")(h)
    return keras.Model(x, layers.Activation("softmax", dtype="float32", name="probs")(h))


def per_layer_float16(keras):
    """float16 and mixed_float16 layers between float32 ones, a float32 output."""
    layers = keras.layers
    x = keras.Input((5, 3), name="x")
    h = layers.Dense(4, activation="gelu", dtype="mixed_float16", name="half_mixed")(x)
    h = layers.Conv1D(4, 2, padding="same", dtype="float16", name="half_conv")(h)
    h = layers.BatchNormalization(dtype="mixed_float16", name="half_bn")(h)
    h = layers.Dense(3, dtype="float32", name="wide")(h)
    h = layers.LayerNormalization(dtype="float16", name="half_norm")(h)
    return keras.Model(x, layers.Softmax(dtype="float32", name="probs")(h))


def randomize(model, rng) -> None:
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0.0, 0.5, shape)
        variable.assign(value.astype(np.float32))


def as_recorded(array) -> tuple:
    """(values as float32/int arrays, dtype name): bfloat16 widens to float32 exactly."""
    array = np.asarray(array)
    dtype = str(array.dtype)
    if dtype == "bfloat16":
        array = array.astype(np.float32)
    return array, dtype


def keras3() -> None:
    import keras

    os.makedirs(OUT_DIR, exist_ok=True)
    arrays = {}
    rng = np.random.default_rng(SEED)
    jobs = [(f"{policy}_{family}", policy, build, make_input)
            for policy in POLICIES for family, (build, make_input) in builders(keras).items()]
    jobs.append(("per_layer", "float32", lambda: per_layer(keras), lambda r: r.normal(
        0.0, 1.0, (2, 4)).astype(np.float32)))
    jobs.append(("per_layer_float16", "float32", lambda: per_layer_float16(keras),
                 lambda r: r.normal(0.0, 1.0, (2, 5, 3)).astype(np.float32)))
    for name, policy, build, make_input in jobs:
        keras.config.set_dtype_policy(policy)
        try:
            keras.utils.set_random_seed(SEED)
            model = build()
        finally:
            keras.config.set_dtype_policy("float32")
        randomize(model, rng)
        x = make_input(rng)
        output, dtype = as_recorded(model.predict(x, verbose=0))
        path = os.path.join(OUT_DIR, f"{name}.keras")
        model.save(path)
        again, again_dtype = as_recorded(keras.saving.load_model(path).predict(x, verbose=0))
        assert again_dtype == dtype and np.array_equal(again, output), name
        arrays[f"{name}/input"] = x
        arrays[f"{name}/output"] = output
        arrays[f"{name}/output_dtype"] = np.array(dtype)
        print(f"  {name}: output {dtype} {output.shape}")
    np.savez(os.path.join(OUT_DIR, "keras3.npz"), **arrays)


def keras3_tf() -> None:
    import keras

    assert keras.backend.backend() == "tensorflow"
    with np.load(os.path.join(OUT_DIR, "keras3.npz")) as archive:
        recorded = dict(archive)
    arrays = {}
    for key in sorted(recorded):
        if not key.endswith("/input"):
            continue
        name = key[:-len("/input")]
        model = keras.saving.load_model(os.path.join(OUT_DIR, f"{name}.keras"))
        output, dtype = as_recorded(model.predict(recorded[key], verbose=0))
        assert dtype == str(recorded[f"{name}/output_dtype"]), (name, dtype)
        arrays[f"{name}/output"] = output
        difference = np.max(np.abs(output.astype(np.float64) - recorded[f"{name}/output"]))
        print(f"  {name}: tensorflow vs torch max |difference| {difference:.3g}")
    np.savez(os.path.join(OUT_DIR, "tf_backend.npz"), **arrays)


def tf_keras() -> None:
    import tf_keras as keras

    os.makedirs(OUT_DIR, exist_ok=True)
    rng = np.random.default_rng(SEED + 1)
    arrays = {}
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for family, (build, make_input) in builders(keras).items():
            keras.utils.set_random_seed(SEED)
            model = build()
            for variable in model.weights:
                shape = tuple(variable.shape)
                value = (rng.uniform(0.5, 1.5, shape) if "variance" in variable.name
                         else rng.normal(0.0, 0.5, shape))
                variable.assign(value.astype(np.float32))
            x = make_input(rng)
            output = model.predict(x, verbose=0)
            name = f"tf_keras_mixed_float16_{family}"
            path = os.path.join(OUT_DIR, f"{name}.h5")
            model.save(path)
            again = keras.models.load_model(path).predict(x, verbose=0)
            assert np.array_equal(again, output), name
            if family == "dense":
                with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as handle:
                    handle.write(model.to_json())
                model.save_weights(os.path.join(OUT_DIR, f"{name}.weights.h5"))
            arrays[f"{name}/input"] = x
            arrays[f"{name}/output"] = np.asarray(output)
            arrays[f"{name}/output_dtype"] = np.array(str(np.asarray(output).dtype))
            print(f"  {name}: output {np.asarray(output).dtype} {np.shape(output)}")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.savez(os.path.join(OUT_DIR, "tf_keras.npz"), **arrays)


if __name__ == "__main__":
    {"keras3": keras3, "keras3-tf": keras3_tf, "tf-keras": tf_keras}[sys.argv[1]]()
