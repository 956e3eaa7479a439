"""tf-keras 2.21's image preprocessing / augmentation layers and experimental.RandomFourierFeatures,
on files real tf-keras wrote (tools/keras2_preprocessing_fixtures.py: `.h5`, `.keras`, JSON +
weights, with tf-keras's `model.predict` outputs). modelio alone runs here; no Keras import."""

import json
from pathlib import Path

import numpy as np
import pytest
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import ConfigError, UnsupportedError
from modelio.graph import keras2_semantics

FILES = Path(__file__).resolve().parents[2] / "fixtures" / "keras2_files" / "preprocessing"
IMAGE_MODELS = ("plain_names", "experimental_names", "uint8_crop")
FOURIER_MODELS = ("fourier_gaussian", "fourier_laplacian")
MODELS = IMAGE_MODELS + FOURIER_MODELS
FORMATS = (".h5", ".keras", ".json")


def recorded(name):
    with np.load(FILES / f"{name}.npz") as handle:
        return handle["input:x"], handle["output:0"], list(handle["weight_names"])


def load(name, suffix=".h5"):
    return modelio.load_model(FILES / f"{name}{suffix}")


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("name", MODELS)
def test_files_tf_keras_wrote_load_and_predict_what_tf_keras_predicted(name, suffix):
    x, expected, _ = recorded(name)
    got = load(name, suffix).predict(x)
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_tf_keras_configs_hold_rng_type_which_is_dropped():
    document = json.loads((FILES / "plain_names.json").read_text())
    random_layers = [entry for entry in document["config"]["layers"]
                     if entry["class_name"].startswith("Random")]
    assert len(random_layers) == 9
    assert all(entry["config"]["rng_type"] == "stateful" for entry in random_layers)
    model = load("plain_names", ".json")
    assert not any("rng_type" in json.dumps(layer.get_config()) for layer in model.layers)


def test_rng_type_in_a_keras3_config_is_still_refused_as_keras3_refuses_it():
    with pytest.raises(UnsupportedError, match="rng_type"):
        layers.RandomFlip.from_config({"name": "flip", "rng_type": "stateful"})
    with keras2_semantics():
        flip = layers.RandomFlip.from_config({"name": "flip", "rng_type": "stateful",
                                              "force_generator": True})
    assert flip.keras2_casts


def test_random_crop_from_tf_keras_is_a_centre_aspect_crop_and_bilinear_resize():
    model = load("plain_names")
    crop = model.get_layer("random_crop")
    assert isinstance(crop, layers.Resizing)
    assert (crop.height, crop.width, crop.interpolation, crop.crop_to_aspect_ratio) == (
        5, 7, "bilinear", True)
    images = np.random.default_rng(0).uniform(0, 9, (1, 8, 8, 2)).astype(np.float32)
    # the centred 5 x 8 window (aspect 5:7 inside 8 x 8: rows 1..5) resized to 5 x 7
    np.testing.assert_allclose(crop(images), layers.Resizing(5, 7)(images[:, 1:6]), atol=1e-6)


def test_uint8_images_keep_their_dtype_through_random_height_and_width_then_crop_casts():
    model = load("uint8_crop")
    x, expected, _ = recorded("uint8_crop")
    height = model.get_layer("height")
    assert height(x).dtype == np.uint8 and np.array_equal(height(x), x)
    assert model.get_layer("height").output.shape == (None, None, 5, 3)
    assert model.get_layer("width").output.shape == (None, None, None, 3)
    assert model.get_layer("width").output.dtype == "uint8"
    assert model.outputs[0].dtype == "float32" and expected.dtype == np.float32


def test_random_height_and_width_are_written_back_as_keras3_identity(tmp_path):
    model = load("plain_names")
    path = tmp_path / "written.json"
    modelio.save_model(model, path)
    entries = {entry["config"]["name"]: entry for entry in
               json.loads(path.read_text())["config"]["layers"]}
    for name in ("random_height", "random_width"):
        assert entries[name]["class_name"] == "Identity"
        assert set(entries[name]["config"]) == {"name", "trainable", "dtype"}
    assert entries["random_crop"]["class_name"] == "Resizing"
    assert model.get_layer("random_width").settings == {
        "factor": [-0.1, 0.3], "interpolation": "nearest", "seed": 9}
    x, expected, _ = recorded("plain_names")
    np.testing.assert_allclose(modelio.load_model(path).predict(x), expected, rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("name", ("plain_names", "experimental_names") + FOURIER_MODELS)
def test_onnx_export_matches_onnxruntime_and_tf_keras(name):
    x, expected, _ = recorded(name)
    model = load(name)
    (got,) = run_onnx(modelio.export_onnx(model), {"x": x})
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-5)


def test_onnx_export_of_an_aspect_crop_after_random_height_is_refused_naming_the_layer():
    with pytest.raises(UnsupportedError, match="'crop'.*known image sizes"):
        modelio.export_onnx(load("uint8_crop"))


@pytest.mark.parametrize("name", FOURIER_MODELS)
def test_random_fourier_features_weights_follow_tf_keras_storage_order(name):
    _, _, names = recorded(name)
    layer = load(name).get_layer("rff")
    assert [f"rff/{weight.name}:0" for weight in layer.weights] == names[:3]
    assert [weight.trainable for weight in layer.weights] == [True, False, False]


def test_random_fourier_features_computes_cos_of_the_scaled_projection():
    layer = load("fourier_laplacian").get_layer("rff")
    assert layer.get_config()["kernel_initializer"] == "laplacian"
    assert layer.get_config()["scale"] == 2.5 and layer.trainable
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    kernel = layer.unscaled_kernel.value / layer.kernel_scale.value[0]
    np.testing.assert_allclose(layer(x), np.cos(x @ kernel + layer.bias.value), atol=1e-5)
    assert not load("fourier_gaussian").get_layer("rff").trainable  # tf-keras's default


def test_a_fresh_random_fourier_features_layer_starts_at_tf_keras_default_scale():
    x = modelio.Input((8,))
    layer = layers.RandomFourierFeatures(3)
    y = layer(x)
    assert y.shape == (None, 3)
    assert layer.kernel_scale.value[0] == pytest.approx(2.0)  # sqrt(8 / 2)
    assert layers.RandomFourierFeatures(3, "laplacian").default_scale(8) == 1.0


@pytest.mark.parametrize("cls, config, expected", [
    (layers.RandomHeight, {"factor": -0.2}, "factor"),                  # upper < lower
    (layers.RandomHeight, {"factor": [0.3, 0.1]}, "factor"),            # upper < lower
    (layers.RandomWidth, {"factor": [-1.5, 0.2]}, "factor"),            # below -1
    (layers.RandomWidth, {"factor": "wide"}, "factor"),
    (layers.RandomHeight, {"factor": 0.2, "interpolation": "cubic"}, "interpolation"),
    (layers.RandomWidth, {"factor": 0.2, "seed": 1.5}, "seed"),
    (layers.RandomCrop, {"height": 0, "width": 3}, "height"),
    (layers.RandomCrop, {"height": 2, "width": 2.5}, "width"),
    (layers.RandomCrop, {"height": 2, "width": 2, "seed": "x"}, "seed"),
    (layers.RandomContrast, {"factor": -0.5}, "factor"),
    (layers.RandomContrast, {"factor": 1.5}, "factor"),
    (layers.RandomBrightness, {"factor": [0.5, -1.5]}, "factor"),
    (layers.RandomRotation, {"factor": 1.5}, "factor"),
    (layers.RandomZoom, {"height_factor": -1.0}, "height_factor"),
    (layers.RandomFourierFeatures, {"output_dim": 0}, "output_dim"),
    (layers.RandomFourierFeatures, {"output_dim": 3, "scale": -1.0}, "scale"),
    (layers.RandomFourierFeatures, {"output_dim": 3, "kernel_initializer": "cosine"},
     "kernel_initializer"),
])
def test_bad_tf_keras_configs_are_config_errors_naming_the_layer(cls, config, expected):
    with keras2_semantics(), pytest.raises(ConfigError, match=f"'bad'.*{expected}"):
        extra = {} if cls is layers.RandomFourierFeatures else {"rng_type": "stateful"}
        cls.from_config({"name": "bad", **extra, **config})


def test_random_fourier_features_refuses_inputs_of_other_ranks_naming_the_layer():
    with pytest.raises(ConfigError, match="'rff'.*rank 2"):
        layers.RandomFourierFeatures(3, name="rff")(modelio.Input((4, 5)))


@pytest.mark.parametrize("suffix,keras_version", ((".keras", None), (".json", 3), (".h5", 3)))
def test_a_tf_keras_crop_of_integer_images_is_not_written_as_keras3_resizing(tmp_path, suffix,
                                                                            keras_version):
    """Keras 3's Resizing rounds uint8 images back to uint8 (0.5 off, evidence in
    fixtures/evidence/keras3_loads_modelio_keras2_preprocessing.txt before this refusal); the
    Keras 2 dialect (the default for .json and .h5 of this tf-keras file) writes tf-keras's
    Resizing, which computes floats as the layer does."""
    with pytest.raises(UnsupportedError, match="'crop'.*integer images"):
        modelio.save_model(load("uint8_crop"), tmp_path / f"written{suffix}",
                           keras_version=keras_version)
    assert not list(tmp_path.iterdir())
