"""Record tiny tf-keras 2.21 models holding `tf_keras.layers.experimental.DynamicLookup` and
`DynamicEmbedding`, for tests/layers/test_dynamic_lookup.py.

Run from the repository root in the tf-keras environment:

    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/dynamic_lookup_fixtures.py

For each model NAME it writes into fixtures/keras2_files/dynamic_lookup/ NAME.npz holding the
input (`input:x`), tf-keras's inference output (`output:0`, `model.predict`), the layer's
`get_config()` as JSON (`config`; string tokens decoded from the bytes tf-keras keeps), the
layer's weights in tf-keras's order (`weight:0`, `weight:1`, ...) with their names
(`weight_names`), taken after the prediction (a call updates the frequency table). Where
tf-keras can write it, NAME.h5 (`model.save`) and NAME.json (`model.to_json()`) with
NAME.weights.h5 (`save_weights`) too: tf-keras writes integer vocabularies; with a string
vocabulary `get_config()` holds bytes, which neither JSON nor HDF5 takes, so those models are
recorded in memory only. (tf-keras itself cannot load any of these files back: its
constructor refuses the list `get_config()` wrote for `initial_vocabulary`.)
"""

import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras.layers.experimental import DynamicEmbedding, DynamicLookup  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                   "keras2_files", "dynamic_lookup")


def decoded(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list):
        return [decoded(item) for item in value]
    if isinstance(value, dict):
        return {key: decoded(item) for key, item in value.items()}
    return value


def as_array(value):
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    if array.dtype == object:
        return np.array([item.decode("utf-8") for item in array.reshape(-1)]).reshape(
            array.shape)
    return array


def write(name, layer, x, files):
    inputs = keras.Input(shape=x.shape[1:], dtype=layer_dtype(layer), name="x")
    model = keras.Model(inputs, layer(inputs), name=name)
    base = os.path.join(OUT, name)
    tf_x = tf.constant(x)
    y = model.predict(tf_x, verbose=0)
    if files:
        model.save(base + ".h5")
        with open(base + ".json", "w") as handle:
            handle.write(model.to_json())
        model.save_weights(base + ".weights.h5")
    weights = {f"weight:{i}": as_array(w) for i, w in enumerate(layer.weights)}
    names = np.array([w.name for w in layer.weights])
    np.savez(base + ".npz", **{"input:x": x, "output:0": y, "weight_names": names,
                               "config": json.dumps(decoded(layer.get_config())), **weights})
    print(name, x.shape, "->", y.shape, y.dtype, "files" if files else "in memory")


def layer_dtype(layer):
    lookup = getattr(layer, "dynamic_lookup_layer", layer)
    return lookup.vocabulary_dtype


def main():
    os.makedirs(OUT, exist_ok=True)
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    ints = np.array([[3, 9, 5], [7, 0, 3], [9, 9, -1]], dtype=np.int64)
    strings = np.array([["bb", "zz", "a"], ["c", "", "bb"], ["a", "A", "c"]])
    # repeated token 3: the first index wins; vocabulary shorter than vocabulary_size
    write("lookup_int64", DynamicLookup(5, tf.constant([7, 3, 9, 3], tf.int64)), ints, True)
    write("lookup_int32", DynamicLookup(3, tf.constant([9, 0, 5], tf.int32)),
          ints.astype(np.int32), True)
    write("lookup_string", DynamicLookup(4, tf.constant(["a", "bb", "c", "a"])), strings,
          False)
    write("embedding_int64", DynamicEmbedding(4, 3, tf.constant([7, 3, 9, 5], tf.int64),
                                              num_oov_indices=2), ints, True)
    write("embedding_string", DynamicEmbedding(3, 2, tf.constant(["c", "a", "bb"])), strings,
          False)
    with open(os.path.join(OUT, "VERSION"), "w") as handle:
        handle.write(f"tf-keras {keras.__version__}, tensorflow {tf.__version__}\n")


if __name__ == "__main__":
    main()
