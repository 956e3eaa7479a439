"""Record tiny tf-keras 2.21 models holding its image preprocessing / augmentation layers (both
the plain `tf_keras.layers.X` names and `tf_keras.layers.experimental.preprocessing.X`) in front
of a small conv net, and `experimental.RandomFourierFeatures` models, for
tests/layers/test_keras2_preprocessing.py.

Run from the repository root in the tf-keras environment:

    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/keras2_preprocessing_fixtures.py

For each model NAME it writes into fixtures/keras2_files/preprocessing/: NAME.h5
(`model.save`, legacy HDF5), NAME.keras (tf-keras's `.keras` zip), NAME.json
(`model.to_json()`) with NAME.weights.h5 (`save_weights`), and NAME.npz holding the input
(`input:x`), tf-keras's inference output (`output:0`, `model.predict`) and the weight names
in the order tf-keras stores them (`weight_names`).
"""

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                   "keras2_files", "preprocessing")


def image_model(ns, name):
    """Every image layer of the namespace `ns` in a row, then a conv net. The crop lands on a
    smaller size with another aspect ratio, so tf-keras's inference-time smart_resize shows."""
    x = keras.Input((8, 7, 3), name="x")
    h = ns.Rescaling(1 / 127.5, offset=-1.0)(x)
    h = ns.Resizing(9, 9, interpolation="bilinear")(h)
    h = ns.CenterCrop(8, 8)(h)
    h = ns.Normalization(mean=[0.1, -0.2, 0.3], variance=[1.5, 0.5, 2.0])(h)
    h = ns.RandomFlip("horizontal", seed=1)(h)
    h = ns.RandomRotation(0.2, seed=2)(h)
    h = ns.RandomZoom((-0.2, 0.1), seed=3)(h)
    h = ns.RandomTranslation(0.1, (-0.2, 0.2), seed=4)(h)
    h = ns.RandomContrast(0.3, seed=5)(h)
    # experimental.preprocessing has no RandomBrightness (added to tf-keras after it froze)
    brightness = getattr(ns, "RandomBrightness", keras.layers.RandomBrightness)
    h = brightness(0.2, value_range=(-1, 1), seed=6)(h)
    h = ns.RandomCrop(5, 7, seed=7)(h)
    h = ns.RandomHeight(0.2, seed=8)(h)
    h = ns.RandomWidth((-0.1, 0.3), interpolation="nearest", seed=9)(h)
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(h)
    y = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    model = keras.Model(x, y, name=name)
    rng = np.random.default_rng(13)
    for weight in model.get_layer("conv").weights:
        weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))
    images = rng.uniform(0, 255, (2, 8, 7, 3)).astype("float32")
    return model, images


def uint8_model():
    """uint8 images: RandomHeight/RandomWidth hand them on untouched, RandomCrop casts."""
    x = keras.Input((6, 5, 3), dtype="uint8", name="x")
    h = keras.layers.RandomHeight(0.3, name="height")(x)
    h = keras.layers.RandomWidth(0.3, name="width")(h)
    y = keras.layers.RandomCrop(4, 4, name="crop")(h)
    model = keras.Model(x, y, name="uint8_crop")
    images = np.random.default_rng(5).integers(0, 256, (2, 6, 5, 3)).astype("uint8")
    return model, images


def fourier_model(name, **kwargs):
    x = keras.Input((5,), name="x")
    h = keras.layers.experimental.RandomFourierFeatures(6, name="rff", **kwargs)(x)
    y = keras.layers.Dense(2, name="head")(h)
    model = keras.Model(x, y, name=name)
    rng = np.random.default_rng(21)
    for weight in model.weights:
        if weight.name.split("/")[-1].startswith("kernel_scale"):
            weight.assign(np.array([1.7], "float32"))
    model.get_layer("head").set_weights([rng.normal(0, 1, (6, 2)).astype("float32"),
                                         rng.normal(0, 1, (2,)).astype("float32")])
    return model, rng.normal(0, 1, (3, 5)).astype("float32")


def write(model, x):
    name = model.name
    base = os.path.join(OUT, name)
    y = model.predict(x, verbose=0)
    model.save(base + ".h5")
    model.save(base + ".keras")
    with open(base + ".json", "w") as handle:
        handle.write(model.to_json())
    model.save_weights(base + ".weights.h5")
    names = np.array([w.name for w in model.weights])
    np.savez(base + ".npz", **{"input:x": x, "output:0": y, "weight_names": names})
    print(name, x.shape, "->", y.shape, y.dtype)


def main():
    os.makedirs(OUT, exist_ok=True)
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    write(*image_model(keras.layers, "plain_names"))
    write(*image_model(keras.layers.experimental.preprocessing, "experimental_names"))
    write(*uint8_model())
    write(*fourier_model("fourier_gaussian"))
    write(*fourier_model("fourier_laplacian", kernel_initializer="laplacian", scale=2.5,
                         trainable=True))
    with open(os.path.join(OUT, "VERSION"), "w") as handle:
        handle.write(f"tf-keras {keras.__version__}, tensorflow {tf.__version__}\n")


if __name__ == "__main__":
    main()
