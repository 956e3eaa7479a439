"""ZeroPadding, Cropping, UpSampling, Rescaling, Resizing and CenterCrop against what real Keras
3.15.1 (and tf-keras 2.21) computes and writes.

Reference values come from fixtures/keras3/image_cases.npz and fixtures/keras2/image_configs.json,
written by tools/image_case_fixtures.py in environments with Keras; these tests never import Keras.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.graph import keras2_semantics

ROOT = Path(__file__).resolve().parents[2]
KERAS3_FIXTURE = ROOT / "fixtures" / "keras3" / "image_cases.npz"
KERAS2_FIXTURE = ROOT / "fixtures" / "keras2" / "image_configs.json"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
CLASS_NAMES = ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
               "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Rescaling",
               "Resizing", "CenterCrop"]
REQUIRED_ARGUMENTS = {"Rescaling": {"scale": 0.5}, "Resizing": {"height": 2, "width": 3},
                      "CenterCrop": {"height": 2, "width": 3}}
# Integer images resized bilinearly are rounded; where the exact value is a tie (x.5), Keras's
# PyTorch backend rounds whichever way its float32 noise points. Those cells may differ by one.
ROUNDED_TIE_CASES = {"resizing_uint8_bilinear"}


BUFFERS, DOCUMENT = load_case_archive(KERAS3_FIXTURE)
CASES = {case["id"]: case for case in DOCUMENT["cases"] if case["class_name"] in CLASS_NAMES}
CASE_IDS = list(CASES)
SYMBOLIC_CASES = [(case_id, index) for case_id, case in CASES.items()
                  for index in range(len(case["symbolic"]))]
KERAS2_CASES = {case["id"]: case
                for case in json.loads(KERAS2_FIXTURE.read_text(encoding="utf-8"))["cases"]
                if case["class_name"] in CLASS_NAMES}


def case_array(case: dict, key: str) -> np.ndarray:
    return read_case_array(BUFFERS, case, key)


def make_layer(case: dict):
    kwargs = dict(case["kwargs"])
    for key in case["numpy_kwargs"]:  # Keras was given these as float64 numpy arrays
        kwargs[key] = np.asarray(kwargs[key], dtype=np.float64)
    return getattr(layers, case["class_name"])(**kwargs)


def as_json(value):
    return json.loads(json.dumps(value))


def assert_matches_keras(case_id: str, output: np.ndarray, expected: np.ndarray):
    assert output.shape == expected.shape
    assert output.dtype == expected.dtype
    if case_id in ROUNDED_TIE_CASES:
        difference = np.abs(output.astype(np.int64) - expected.astype(np.int64))
        assert difference.max() <= 1
        assert (difference > 0).mean() < 0.05
        return
    np.testing.assert_allclose(output, expected, **TOLERANCE)


def test_fixture_was_recorded_with_keras_3_15_1_and_covers_every_layer():
    assert DOCUMENT["keras_version"] == "3.15.1"
    assert {case["class_name"] for case in CASES.values()} == set(CLASS_NAMES)


# ----- 1. values and shapes match Keras ------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_eager_output_matches_keras_for_the_same_config_and_input(case_id):
    case = CASES[case_id]
    output = make_layer(case)(case_array(case, "input:0"))
    assert isinstance(output, np.ndarray)
    assert output.dtype == np.dtype(case["output_dtype"])
    assert_matches_keras(case_id, output, case_array(case, "output"))


@pytest.mark.parametrize("case_id,index", SYMBOLIC_CASES)
def test_symbolic_output_shape_matches_keras_compute_output_shape(case_id, index):
    case = CASES[case_id]
    shape = tuple(case["symbolic"][index][0])
    layer = make_layer(case)
    assert tuple(layer.compute_output_shape(shape)) == tuple(case["output_shapes"][index])
    output = layer(modelio.Input(batch_shape=shape, dtype=case["dtype"]))
    assert output.shape == tuple(case["output_shapes"][index])


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_layer_inside_a_functional_model_predicts_what_keras_computed(case_id):
    case = CASES[case_id]
    x = case_array(case, "input:0")
    inputs = modelio.Input(shape=x.shape[1:], dtype=case["dtype"])
    model = modelio.Model(inputs, make_layer(case)(inputs))
    assert_matches_keras(case_id, model.predict(x), case_array(case, "output"))


def test_uint8_bilinear_resize_differs_from_keras_only_on_exact_ties():
    case = CASES["resizing_uint8_bilinear"]
    x = case_array(case, "input:0")
    output = make_layer(case)(x)
    expected = case_array(case, "output")
    exact = layers.Resizing(**case["kwargs"], dtype="float64")(x.astype(np.float64))
    ties = np.abs(exact % 1 - 0.5) < 1e-4
    assert ties.any() and not ties.all()
    assert not (output != expected)[~ties].any()  # every difference is on a tie
    np.testing.assert_array_equal(output[~ties], np.round(exact[~ties]))
    assert np.isin(output[ties].astype(int) - np.floor(exact[ties]), (0, 1)).all()


def test_bilinear_upsampling_by_two_blends_with_quarter_weights_and_repeats_the_edge():
    x = np.array([[0.0, 4.0]], np.float32).reshape(1, 1, 2, 1)
    output = layers.UpSampling2D((1, 2), interpolation="bilinear")(x)
    np.testing.assert_allclose(output.ravel(), [0.0, 1.0, 3.0, 4.0])


def test_nearest_resize_uses_half_pixel_centres():
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 6, 1)
    np.testing.assert_array_equal(
        layers.Resizing(1, 4, interpolation="nearest")(x).ravel(), [0.0, 2.0, 3.0, 5.0])


def test_resizing_and_center_crop_accept_a_single_unbatched_image():
    x = np.random.default_rng(0).normal(size=(2, 7, 9, 3)).astype(np.float32)
    for layer in (layers.Resizing(4, 5), layers.CenterCrop(3, 4), layers.CenterCrop(8, 8)):
        np.testing.assert_allclose(layer(x[0]), layer(x)[0], rtol=1e-6, atol=1e-6)
        assert layer.compute_output_shape((7, 9, 3)) == layer(x[0]).shape


def test_center_crop_smaller_image_is_cropped_to_the_aspect_ratio_and_resized():
    case = CASES["center_crop_larger_on_one_axis_resizes"]  # 6x6 image, 3x8 target
    x = case_array(case, "input:0")
    expected = layers.Resizing(3, 8, crop_to_aspect_ratio=True)(x)
    np.testing.assert_allclose(make_layer(case)(x), expected, rtol=1e-6, atol=1e-6)


def test_rescaling_keeps_masks_and_casts_integers_to_the_compute_dtype():
    layer = layers.Rescaling(1 / 255)
    assert layer.supports_masking is True
    output = layer(np.full((1, 2, 2, 1), 255, np.uint8))
    assert output.dtype == np.float32
    np.testing.assert_allclose(output, 1.0)


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_only_rescaling_supports_masking_and_none_is_built_at_init(class_name):
    layer = getattr(layers, class_name)(**REQUIRED_ARGUMENTS.get(class_name, {}))
    assert type(layer).supports_masking is (class_name == "Rescaling")
    assert not layer.built


def test_padding_cropping_and_nearest_upsampling_keep_integer_dtypes():
    x = np.arange(24, dtype=np.int32).reshape(1, 3, 4, 2)
    assert layers.ZeroPadding2D()(x).dtype == np.int32
    assert layers.Cropping2D(1)(x).dtype == np.int32
    assert layers.UpSampling2D()(x).dtype == np.int32


# ----- 2. configs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_matches_what_keras_get_config_returns(case_id):
    case = CASES[case_id]
    assert as_json(make_layer(case).get_config()) == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_round_trips_through_from_config(case_id):
    layer = make_layer(CASES[case_id])
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_written_by_keras_loads_computes_and_is_written_back_unchanged(case_id):
    case = CASES[case_id]
    layer = getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))
    assert as_json(layer.get_config()) == case["keras_config"]
    assert_matches_keras(case_id, layer(case_array(case, "input:0")), case_array(case, "output"))


def test_rescaling_numpy_scale_is_written_as_keras_writes_a_numpy_array():
    config = layers.Rescaling(np.array([2.0, 0.5], np.float32), offset=np.float64(1.0)).get_config()
    assert config["scale"] == {"class_name": "__numpy__",
                               "config": {"value": [2.0, 0.5], "dtype": "float32"}}
    assert config["offset"] == 1.0


def test_model_with_image_layers_round_trips_through_json():
    inputs = modelio.Input((9, 10, 3), dtype="uint8")
    x = layers.Resizing(8, 8, crop_to_aspect_ratio=True)(inputs)
    x = layers.Rescaling([0.5, 1.0, 2.0], offset=-1.0)(x)
    x = layers.ZeroPadding2D(((1, 0), (0, 1)))(x)
    x = layers.UpSampling2D((2, 1), interpolation="bilinear")(x)
    x = layers.Cropping2D(((2, 1), (1, 2)))(x)
    outputs = layers.CenterCrop(6, 5)(x)
    model = modelio.Model(inputs, outputs)
    rebuilt = modelio.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    images = np.random.default_rng(1).integers(0, 256, size=(2, 9, 10, 3)).astype(np.uint8)
    np.testing.assert_array_equal(rebuilt.predict(images), model.predict(images))
    assert model.outputs[0].shape == (None, 6, 5, 3)


@pytest.mark.parametrize("case_id", list(KERAS2_CASES))
def test_keras2_config_loads_and_computes_what_tf_keras_computed(case_id):
    case = KERAS2_CASES[case_id]
    with keras2_semantics():
        layer = getattr(layers, case["class_name"]).from_config(dict(case["config"]))
    output = layer(np.asarray(case["input"], dtype=case["input_dtype"]))
    expected = np.asarray(case["output"], dtype=case["output_dtype"])
    assert output.dtype == expected.dtype
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-4)
    assert isinstance(layer.get_config()["dtype"], dict)  # written back as a Keras 3 policy


def test_keras2_resizing_of_uint8_images_outputs_floats_as_tf_keras_did():
    config = KERAS2_CASES["resizing_uint8_outputs_float"]["config"]
    images = np.full((1, 4, 4, 1), 7, np.uint8)
    with keras2_semantics():
        keras2_layer = layers.Resizing.from_config(dict(config))
    assert keras2_layer(images).dtype == np.float32
    assert layers.Resizing.from_config(dict(config))(images).dtype == np.uint8  # Keras 3


def test_keras2_resizing_config_gets_keras3_defaults():
    config = KERAS2_CASES["resizing_bilinear"]["config"]
    assert "pad_to_aspect_ratio" not in config
    written = layers.Resizing.from_config(dict(config)).get_config()
    assert written["pad_to_aspect_ratio"] is False
    assert written["antialias"] is False
    assert written["data_format"] == "channels_last"


# ----- 3. errors ----------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("ZeroPadding1D", {"padding": -1}, "padding"),
    ("ZeroPadding1D", {"padding": [1, 2, 3]}, "padding"),
    ("ZeroPadding2D", {"padding": "1"}, "padding"),
    ("ZeroPadding2D", {"padding": [[1, 2], [3]]}, "padding"),
    ("ZeroPadding3D", {"padding": [1, 1]}, "padding"),
    ("ZeroPadding2D", {"data_format": "NHWC"}, "data_format"),
    ("Cropping1D", {"cropping": 1.5}, "cropping"),
    ("Cropping2D", {"cropping": -1}, "cropping"),
    ("Cropping3D", {"cropping": [[1, 1], [1, -1], [0, 0]]}, "cropping"),
    ("UpSampling1D", {"size": 2.0}, "size"),
    ("UpSampling2D", {"size": [2, 0]}, "size"),
    ("UpSampling2D", {"interpolation": 1}, "interpolation"),
    ("UpSampling3D", {"size": [2, 2]}, "size"),
    ("Rescaling", {"scale": "1/255"}, "scale"),
    ("Rescaling", {"scale": 1.0, "offset": [1.0, "a"]}, "offset"),
    ("Rescaling", {"scale": {"class_name": "Foo"}}, "scale"),
    ("Resizing", {"height": 0, "width": 3}, "height"),
    ("Resizing", {"height": 2, "width": 3.5}, "width"),
    ("Resizing", {"height": 2, "width": 3, "crop_to_aspect_ratio": 1}, "crop_to_aspect_ratio"),
    ("Resizing", {"height": 2, "width": 3, "crop_to_aspect_ratio": True,
                  "pad_to_aspect_ratio": True}, "pad_to_aspect_ratio"),
    ("Resizing", {"height": 2, "width": 3, "antialias": "no"}, "antialias"),
    ("Resizing", {"height": 2, "width": 3, "fill_value": None}, "fill_value"),
    ("CenterCrop", {"height": "2", "width": 3}, "height"),
]


@pytest.mark.parametrize("class_name,kwargs,argument", BAD_ARGUMENTS,
                         ids=[f"{c}-{a}-{i}" for i, (c, _, a) in enumerate(BAD_ARGUMENTS)])
def test_bad_argument_raises_config_error_naming_layer_and_argument(class_name, kwargs, argument):
    with pytest.raises(modelio.ConfigError) as info:
        getattr(layers, class_name)(name="suspect_layer", **kwargs)
    assert "suspect_layer" in str(info.value)
    assert argument in str(info.value)


UNSUPPORTED = [
    # Keras 3 refuses these two on every backend (tests/layers/test_resize_interpolations.py).
    ("Resizing", {"height": 2, "width": 3, "interpolation": "gaussian"}, "interpolation"),
    ("Resizing", {"height": 2, "width": 3, "interpolation": "cubic"}, "interpolation"),
    ("Resizing", {"height": 2, "width": 3, "fill_mode": "reflect"}, "fill_mode"),
    ("UpSampling2D", {"interpolation": "mitchellcubic"}, "interpolation"),
    ("UpSampling2D", {"interpolation": "trilinear"}, "interpolation"),
]


@pytest.mark.parametrize("class_name,kwargs,argument", UNSUPPORTED,
                         ids=[f"{c}-{a}-{i}" for i, (c, _, a) in enumerate(UNSUPPORTED)])
def test_unsupported_argument_value_raises_unsupported_error_naming_it(class_name, kwargs,
                                                                       argument):
    with pytest.raises(modelio.UnsupportedError) as info:
        getattr(layers, class_name)(name="suspect_layer", **kwargs)
    assert "suspect_layer" in str(info.value)
    assert argument in str(info.value)


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_unknown_argument_raises_unsupported_error_naming_it(class_name):
    with pytest.raises(modelio.UnsupportedError, match="frobnicate"):
        getattr(layers, class_name)(name="suspect_layer", frobnicate=1,
                                    **REQUIRED_ARGUMENTS.get(class_name, {}))


@pytest.mark.parametrize("class_name,kwargs,shape", [
    ("Cropping1D", {"cropping": (2, 2)}, (4, 3)),
    ("Cropping2D", {"cropping": ((1, 1), (3, 2))}, (4, 5, 2)),
    ("Cropping3D", {}, (3, 2, 3, 1)),
])
def test_cropping_everything_away_is_refused(class_name, kwargs, shape):
    layer = getattr(layers, class_name)(**kwargs)
    with pytest.raises(modelio.ModelioError, match="cropping"):
        layer(modelio.Input(shape))
    with pytest.raises(modelio.ModelioError, match="cropping"):
        layer(np.zeros((1, *shape), np.float32))


@pytest.mark.parametrize("class_name,kwargs,shape", [
    ("ZeroPadding2D", {}, (4, 3)), ("UpSampling1D", {}, (4, 3, 2)),
    ("Cropping3D", {}, (4, 4, 4)), ("Resizing", {"height": 2, "width": 2}, (4,)),
    ("CenterCrop", {"height": 2, "width": 2}, (4, 4, 4, 4)),
])
def test_input_of_the_wrong_rank_is_refused(class_name, kwargs, shape):
    with pytest.raises(modelio.ModelioError, match="rank"):
        getattr(layers, class_name)(**kwargs)(modelio.Input(shape))


def test_rescaling_scale_that_cannot_broadcast_to_the_channels_is_refused():
    with pytest.raises(modelio.ModelioError, match="scale"):
        layers.Rescaling([1.0, 2.0, 3.0])(modelio.Input((4, 4, 2)))
