"""Tiny whole models holding the lookup and encoding layers, written by real Keras 3.15.1 as
`.keras` archives (with their `assets/` vocabularies and `idf_weights` variables) into
fixtures/keras3_lookup_files/, each with `<name>.npz` holding the inputs (`input:<name>`, string
inputs as numpy `<U` arrays) and Keras's outputs (`output:<i>`). TextVectorization and the
string lookups need TensorFlow in Keras 3, so this runs on the TensorFlow backend:

    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python tools/lookup_file_fixtures.py

(name models to write only those: `... lookup_file_fixtures.py audio_features`). The audio
model records the TensorFlow backend's numbers.
"""

import os
import sys
import zipfile

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                   "keras3_lookup_files")

CORPUS = np.array(["the cat sat on the mat", "the dog ran far away", "a cat and a dog",
                   "far far away", "the end of the story", "dogs and cats"])
TEXTS = np.array([["The cat ran!"], ["A dog, a cat."], ["unknown words only"],
                  ["far away, the END"]])


def text_classifier():
    """TextVectorization (adapted: vocabulary in assets) -> Embedding -> pooling -> Dense."""
    vectorizer = keras.layers.TextVectorization(max_tokens=16, output_sequence_length=6)
    vectorizer.adapt(CORPUS)
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    x = vectorizer(inputs)
    x = keras.layers.Embedding(16, 4)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="text_classifier"), {"text": TEXTS}


def tf_idf_bag():
    """TextVectorization tf_idf (adapted: vocabulary in assets, idf_weights variable) -> Dense."""
    vectorizer = keras.layers.TextVectorization(output_mode="tf_idf", max_tokens=12)
    vectorizer.adapt(CORPUS)
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    outputs = keras.layers.Dense(2)(vectorizer(inputs))
    return keras.Model(inputs, outputs, name="tf_idf_bag"), {"text": TEXTS}


def lookups_and_hashes():
    """StringLookup (inline vocabulary) and IntegerLookup (adapted) as outputs of their own
    (int64), Hashing, HashedCrossing, Discretization and CategoryEncoding feeding one Dense."""
    words = keras.Input(shape=(3,), dtype="string", name="words")
    ids = keras.Input(shape=(3,), dtype="int64", name="ids")
    values = keras.Input(shape=(3,), name="values")
    word = keras.Input(shape=(1,), dtype="string", name="word")
    single_id = keras.Input(shape=(1,), dtype="int64", name="id")
    string_lookup = keras.layers.StringLookup(vocabulary=["cat", "dog", "mat"],
                                              output_mode="count", mask_token="")
    integer_lookup = keras.layers.IntegerLookup(num_oov_indices=2, output_mode="multi_hot")
    integer_lookup.adapt(np.array([3, 3, 7, 7, 7, 11, 42]))
    hashed = keras.layers.Hashing(num_bins=5, output_mode="count")(words)
    crossed = keras.layers.HashedCrossing(num_bins=4, output_mode="one_hot")([word, single_id])
    buckets = keras.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.0],
                                          output_mode="count")(values)
    encoded = keras.layers.CategoryEncoding(num_tokens=50, output_mode="multi_hot")(ids)
    merged = keras.layers.Concatenate()([hashed, crossed, buckets, encoded])
    outputs = [string_lookup(words), integer_lookup(ids), keras.layers.Dense(2)(merged)]
    inputs = {"words": np.array([["cat", "zebra", ""], ["dog", "dog", "mat"]]),
              "ids": np.array([[3, 9, 42], [7, 7, 0]], dtype="int64"),
              "values": np.array([[-2.0, 0.5, 1.0], [0.0, -0.5, 3.0]], dtype="float32"),
              "word": np.array([["cat"], ["owl"]]),
              "id": np.array([[3], [5]], dtype="int64")}
    return keras.Model([words, ids, values, word, single_id], outputs,
                       name="lookups_and_hashes"), inputs


def bag_of_words():
    """StringLookup multi_hot (int64 in Keras 3) straight into a Dense (Keras promotes it)."""
    words = keras.Input(shape=(4,), dtype="string", name="words")
    counts = keras.layers.StringLookup(vocabulary=["cat", "dog", "mat", "sat"],
                                       output_mode="multi_hot")(words)
    outputs = keras.layers.Dense(2)(counts)
    inputs = {"words": np.array([["cat", "sat", "owl", "cat"], ["dog", "", "mat", "mat"]])}
    return keras.Model(words, outputs, name="bag_of_words"), inputs


def audio_features():
    """MelSpectrogram and STFTSpectrogram (its DFT kernels are weights in the file; window None
    since Keras builds string windows with scipy, which this environment lacks) into Dense."""
    signal = keras.Input(shape=(128,), name="signal")
    mel = keras.layers.MelSpectrogram(fft_length=32, sequence_stride=16, sampling_rate=400,
                                      num_mel_bins=6)(signal)
    stft = keras.layers.STFTSpectrogram(mode="magnitude", frame_length=16, frame_step=8,
                                        window=None, scaling=None)(
        keras.layers.Reshape((128, 1))(signal))
    outputs = [keras.layers.Dense(2)(keras.layers.Flatten()(mel)),
               keras.layers.Dense(2)(keras.layers.Flatten()(stft))]
    t = np.arange(128) / 400.0
    inputs = {"signal": np.stack([np.sin(2 * np.pi * 50 * t), np.cos(2 * np.pi * 90 * t)
                                  + 0.25]).astype("float32")}
    return keras.Model(signal, outputs, name="audio_features"), inputs


def keras_feed(inputs: dict):
    """Keras's predict takes strings as TensorFlow tensors (not numpy `<U` arrays)."""
    import tensorflow as tf

    feed = {name: tf.constant(value) if value.dtype.kind == "U" else value
            for name, value in inputs.items()}
    return feed if len(feed) > 1 else next(iter(feed.values()))


MODELS = [text_classifier, tf_idf_bag, lookups_and_hashes, bag_of_words, audio_features]


def main() -> None:
    assert keras.__version__ == "3.15.1", keras.__version__
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for make in MODELS:
        if only and make.__name__ not in only:
            continue
        keras.utils.clear_session()
        keras.utils.set_random_seed(7)
        model, inputs = make()
        outputs = model.predict(keras_feed(inputs), verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        path = os.path.join(OUT, f"{model.name}.keras")
        model.save(path)
        arrays = {f"input:{name}": value for name, value in inputs.items()}
        arrays.update({f"output:{i}": np.asarray(value) for i, value in enumerate(outputs)})
        np.savez(os.path.join(OUT, f"{model.name}.npz"), **arrays)
        with zipfile.ZipFile(path) as archive:
            members = ", ".join(info.filename for info in archive.infolist())
        print(f"{path}: {os.path.getsize(path)} bytes ({members})")


if __name__ == "__main__":
    main()
