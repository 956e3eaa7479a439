"""Write the save variants of Keras 3 and custom-object models into fixtures/save_variants/.

Run from the repository root, in the Keras environments:

    KERAS_BACKEND=torch ../kenv/bin/python tools/save_variant_fixtures.py
    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/save_variant_fixtures.py --tf-keras

Keras 3 (from the fixture model fixtures/keras3_files/mlp.keras, loaded by Keras):

- `mlp_folder/`: `model.save("mlp_folder", zipped=False)` (config.json, metadata.json,
  model.weights.h5, assets/);
- `mlp.json` + `mlp.weights.json` + `mlp_0000N.weights.h5`: `model.to_json()` and
  `model.save_weights("mlp.weights.json", max_shard_size=...)` (a few shards, a layer's weights
  split between two);
- `mlp_npz.keras`: `saving_lib.save_model(model, path, weights_format="npz")`, which Keras
  3.15.1 writes as pickled dicts and cannot load itself (recorded in mlp_variants.txt);
- `mlp.npz`: the recorded inputs and Keras's outputs after loading the folder and the sharded
  weights (`output:0`, checked equal to the sharded model's);
- `custom_objects.keras` + `custom_objects.npz`: a model with a registered custom activation
  (`modelio_fixtures>scaled_swish`), a registered custom layer (`modelio_fixtures>MyScale`)
  and a registered activation with an argument (`modelio_fixtures>leaky_tenth`).

tf-keras (`--tf-keras`): `tf_keras_custom.h5` + `.npz`: a Dense with a lambda activation (saved
as `<lambda>`) and the custom layer, saved with `model.save("x.h5")`.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "fixtures" / "save_variants"
SEED = 1313


def keras3() -> None:
    import keras
    from keras.src.saving import saving_lib

    OUT.mkdir(parents=True, exist_ok=True)
    notes = [f"keras {keras.__version__}, backend {keras.backend.backend()}"]
    model = keras.saving.load_model(REPO_ROOT / "fixtures" / "keras3_files" / "mlp.keras")
    with np.load(REPO_ROOT / "fixtures" / "keras3" / "mlp.npz") as recorded:
        x = recorded["input:features"]
    folder = OUT / "mlp_folder"
    model.save(folder, zipped=False)
    (OUT / "mlp.json").write_text(model.to_json())
    # 1.5 KB shards: the 8x16 kernel (512 B) and its bias fit in one, 16x16 (1 KB) needs its own
    model.save_weights(OUT / "mlp.weights.json", max_shard_size=1.5e-6)
    from_folder = keras.saving.load_model(folder)
    y = np.asarray(from_folder.predict(x, verbose=0))
    sharded = keras.models.model_from_json((OUT / "mlp.json").read_text())
    sharded.load_weights(OUT / "mlp.weights.json")
    y_sharded = np.asarray(sharded.predict(x, verbose=0))
    notes.append(f"folder vs sharded: max |diff| {np.max(np.abs(y - y_sharded)):.3g}")
    assert np.array_equal(y, y_sharded)
    np.savez(OUT / "mlp.npz", **{"input:features": x, "output:0": y})
    saving_lib.save_model(model, OUT / "mlp_npz.keras", weights_format="npz")
    try:
        keras.saving.load_model(OUT / "mlp_npz.keras")
        notes.append("keras loads mlp_npz.keras: yes")
    except ValueError as exc:
        notes.append(f"keras loads mlp_npz.keras: no ({str(exc).splitlines()[0]})")
    custom_keras3(keras)
    (OUT / "keras3_variants.txt").write_text("\n".join(notes) + "\n")
    print("\n".join(notes))


def define_custom(keras, register):
    """The custom activation functions and layer, registered under `modelio_fixtures`."""
    ops = getattr(keras, "ops", None)

    @register(package="modelio_fixtures")
    def scaled_swish(x):
        if ops is not None:
            return 1.5 * x * ops.sigmoid(x)
        return 1.5 * x * keras.activations.sigmoid(x)

    @register(package="modelio_fixtures")
    def leaky_tenth(x):
        if ops is not None:
            return keras.activations.leaky_relu(x, negative_slope=0.1)
        return keras.activations.relu(x, alpha=0.1)

    @register(package="modelio_fixtures")
    class MyScale(keras.layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                         initializer="random_normal")

        def call(self, inputs):
            return inputs * self.scale * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return scaled_swish, leaky_tenth, MyScale


def custom_keras3(keras) -> None:
    keras.utils.set_random_seed(SEED)
    scaled_swish, leaky_tenth, my_scale = define_custom(keras,
                                                        keras.saving.register_keras_serializable)
    inputs = keras.Input((4,), name="x")
    y = keras.layers.Dense(5, activation=scaled_swish, name="swish_dense")(inputs)
    y = my_scale(factor=0.5, name="scale")(y)
    y = keras.layers.Dense(3, activation=leaky_tenth, name="leaky_dense")(y)
    model = keras.Model(inputs, y, name="custom_objects")
    x = np.random.default_rng(SEED).normal(size=(3, 4)).astype("float32")
    model.save(OUT / "custom_objects.keras")
    loaded = keras.saving.load_model(OUT / "custom_objects.keras")
    out = np.asarray(loaded.predict(x, verbose=0))
    assert np.allclose(out, model.predict(x, verbose=0))
    np.savez(OUT / "custom_objects.npz", **{"input:x": x, "output:0": out})


def tf_keras() -> None:
    import tf_keras

    tf_keras.utils.set_random_seed(SEED)
    _, _, my_scale = define_custom(tf_keras, tf_keras.saving.register_keras_serializable)
    inputs = tf_keras.Input((4,), name="x")
    y = tf_keras.layers.Dense(5, activation=lambda t: t * 0.5,
                              name="lambda_dense")(inputs)
    y = my_scale(factor=0.5, name="scale")(y)
    y = tf_keras.layers.Dense(3, name="out")(y)
    model = tf_keras.Model(inputs, y, name="tf_keras_custom")
    x = np.random.default_rng(SEED + 1).normal(size=(3, 4)).astype("float32")
    model.save(OUT / "tf_keras_custom.h5")
    out = np.asarray(model.predict(x, verbose=0))
    np.savez(OUT / "tf_keras_custom.npz", **{"input:x": x, "output:0": out})
    config = json.loads(model.to_json())
    print("tf-keras lambda activation saved as:",
          config["config"]["layers"][1]["config"]["activation"])


if __name__ == "__main__":
    if "--tf-keras" in sys.argv:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        tf_keras()
    else:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        keras3()
