"""Record tf-keras models whose graphs hold `TFOpLambda` / `SlicingOpLambda` nodes (TensorFlow
functions called on Keras tensors), for tests/layers/test_tf_functions.py.

Run from the repository root in the tf-keras environment:

    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/tf_op_lambda_fixtures.py

It writes:

* fixtures/keras2/tf_functions.h5 (+ .h5.npz with `input:x` and `output:<i>`): a tiny model
  that calls every TensorFlow function of modelio's allowlist (modelio/ops/tf_functions.py), its
  weights drawn at random, saved by tf-keras's `model.save`;
* fixtures/keras2/applications/NAME.json (+ NAME.npz): real `tf_keras.applications` models whose
  graphs hold TFOpLambda nodes (MobileNetV3Small, MobileNetV3Large, RegNetX002, RegNetY002) at a
  32x32 input, with logits as outputs (`classifier_activation=None`). They are megabytes of weights, so only the config is kept: their kernels are set
  from tests/formula_weights.py (closed form, the test sets the same values); the npz holds the
  vectors (`weight:<layer name>:<i>`, see tests/formula_weights.py: biases, and BatchNormalization statistics
  calibrated on random images so that every block passes a signal on, variances floored), the input, and the output
  tf-keras computed.
"""

import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from formula_weights import is_formula_weight, set_fixture_weights, weight_key  # noqa: E402


def tf_functions_model():
    """Every allowlisted function once, on small shapes; two outputs."""
    x = keras.Input((4, 6), name="x")
    layers = keras.layers
    h = layers.Dense(6, name="mix")(x)
    a = x + 0.5                                             # __operators__.add
    a = tf.math.add(a, h)
    a = tf.math.subtract(a, 0.25) - h                       # math.subtract
    a = tf.math.multiply(a, x) * 0.5                        # math.multiply
    a = a / 2.0                                             # math.truediv
    a = tf.math.divide(a, 1.5)
    a = tf.math.maximum(a, -1.0)
    a = tf.math.minimum(a, tf.math.abs(h) + 1.0)
    a = tf.math.pow(a, 2.0)
    a = tf.math.squared_difference(a, h)
    a = -a                                                  # math.negative
    b = tf.math.sqrt(tf.math.abs(a) + 1.0) + tf.math.rsqrt(tf.math.square(h) + 1.0)
    b = tf.math.exp(-tf.math.abs(b)) + tf.math.log(tf.math.abs(b) + 1.0)
    b = tf.math.tanh(b) + tf.math.sigmoid(b) + tf.math.erf(b)
    b = b + tf.math.floor(h) + tf.math.ceil(h) + tf.math.round(h * 3.0) + tf.math.sign(h)
    c = tf.nn.relu(b) + tf.nn.relu6(h * 4.0) + tf.nn.elu(h) + tf.nn.selu(h) + tf.nn.softplus(h)
    c = c + tf.nn.silu(h) + tf.nn.swish(h) + tf.nn.sigmoid(h) + tf.nn.tanh(h)
    c = c + tf.nn.leaky_relu(h, alpha=0.3) + tf.nn.gelu(h) + tf.nn.gelu(h, approximate=True)
    c = tf.nn.softmax(c) + tf.nn.softmax(c, axis=1)
    d = tf.reshape(c, (-1, 3, 8))
    d = tf.transpose(d, perm=[0, 2, 1])
    d = tf.concat([d, d * 2.0], axis=-1)
    d = tf.stack([d, d + 1.0], axis=1)
    d = tf.expand_dims(d, axis=-1)
    d = tf.squeeze(d, axis=-1)
    d = tf.cast(d, "float32")
    d = tf.clip_by_value(d, -2.0, 2.0)
    s = d[:, 1, ::2, 1:5]                                    # __operators__.getitem
    s = s[..., None, :2]
    m = tf.linalg.matmul(tf.reshape(s, (-1, 4, 2)), tf.ones((2, 3)))
    r1 = tf.math.reduce_mean(m, axis=1) + tf.math.reduce_sum(m, axis=[1, 2], keepdims=True)[:, 0]
    r2 = tf.math.reduce_max(m, axis=-1) + tf.math.reduce_min(m, axis=-1)
    r2 = r2 * tf.math.reduce_prod(tf.nn.sigmoid(m), axis=-1)
    return keras.Model(x, [r1, r2], name="tf_functions")


APPLICATIONS = {
    "mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), weights=None, alpha=0.75, classes=10,
        classifier_activation=None),
    "mobilenet_v3_large": lambda: keras.applications.MobileNetV3Large(
        input_shape=(32, 32, 3), weights=None, classes=10, classifier_activation=None),
    "regnet_x002": lambda: keras.applications.RegNetX002(
        input_shape=(32, 32, 3), weights=None, classes=10, classifier_activation=None),
    "regnet_y002": lambda: keras.applications.RegNetY002(
        input_shape=(32, 32, 3), weights=None, classes=10, classifier_activation=None),
}


def set_application_weights(model, rng) -> dict:
    """Formula kernels, small signed biases and betas, unit gammas, and each BatchNormalization's
    moving statistics measured on its own inputs (layer by layer, in graph order) for 8 random
    images. Returns the vectors as `{weight_key(layer name, i): array}`."""
    vectors = {}
    for layer in model.layers:
        for index, (weight, value) in enumerate(zip(layer.weights, layer.get_weights())):
            if not is_formula_weight(value.shape):
                ones = "gamma" in weight.name or "variance" in weight.name
                vectors[weight_key(layer.name, index)] = (
                    np.ones(value.shape, np.float32) if ones else
                    (0.1 * np.sin(np.arange(value.size) + len(vectors))).astype(np.float32))
    set_fixture_weights(model, vectors)
    calibration = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            probe = keras.Model(model.inputs, layer.input)
            features = probe.predict(calibration, verbose=0)
            axes = tuple(range(features.ndim - 1))
            vectors[weight_key(layer.name, 2)] = features.mean(axis=axes).astype(np.float32)
            variance = features.var(axis=axes)
            # floored, so a channel that barely varies does not amplify rounding differences
            variance = variance + 2.0 * variance.mean() + 1e-3
            vectors[weight_key(layer.name, 3)] = variance.astype(np.float32)
            set_fixture_weights(model, vectors)
    return vectors


def write_npz(path, arrays):
    np.savez_compressed(path, **arrays)
    print(f"wrote {os.path.relpath(path, REPO_ROOT)}")


def main():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    model = tf_functions_model()
    model.set_weights([rng.normal(0, 0.5, np.shape(w)).astype(np.float32)
                       for w in model.get_weights()])
    x = rng.normal(0, 1, (3, 4, 6)).astype(np.float32)
    outputs = model.predict(x, verbose=0)
    files = os.path.join(REPO_ROOT, "fixtures", "keras2")
    model.save(os.path.join(files, "tf_functions.h5"))
    write_npz(os.path.join(files, "tf_functions.h5.npz"),
              {"input:x": x, **{f"output:{i}": np.asarray(o) for i, o in enumerate(outputs)}})

    folder = os.path.join(REPO_ROOT, "fixtures", "keras2", "applications")
    os.makedirs(folder, exist_ok=True)
    for name, build in APPLICATIONS.items():
        model = build()
        vectors = set_application_weights(model, rng)
        image = rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
        output = model.predict(image, verbose=0)
        with open(os.path.join(folder, f"{name}.json"), "w") as handle:
            json.dump(json.loads(model.to_json()), handle, separators=(",", ":"))
        write_npz(os.path.join(folder, f"{name}.npz"),
                  {"input": image, "output": output, **vectors})
        print(f"  {name}: {model.count_params()} parameters, output range "
              f"[{output.min():.4g}, {output.max():.4g}]")
    with open(os.path.join(folder, "VERSION"), "w") as handle:
        handle.write(f"tf_keras {keras.__version__}\n")


if __name__ == "__main__":
    main()
