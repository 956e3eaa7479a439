"""The image augmentation layers (RandomFlip ... RandAugment, AutoContrast, Equalization, CLAHE,
MaxNumBoundingBoxes, Pipeline) against what real Keras 3.15.1 computes and writes.

Reference values come from fixtures/keras3/augmentation_cases.npz and the augmentation_* models
in fixtures/keras3_files/, written by tools/augmentation_case_fixtures.py; these tests never
import Keras.

CLAHE: Keras's backends disagree (with clip_limit > 0 the PyTorch backend gives back the input
truncated to whole numbers, and it pads non-multiple image sizes by repeating the edge where
TensorFlow mirrors it); modelio matches the TensorFlow backend, recorded as `tf_output`.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.errors import ConfigError, ModelioError, UnsupportedError

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "fixtures" / "keras3_files"
BUFFERS, DOCUMENT = load_case_archive(ROOT / "fixtures" / "keras3" / "augmentation_cases.npz")
CASES = {case["id"]: case for case in DOCUMENT["cases"]}
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
CLASS_NAMES = sorted("""AugMix AutoContrast ContrastLimitedAdaptiveHistogramEqualization CutMix
Equalization MixUp RandAugment RandomBrightness RandomColorDegeneration RandomColorJitter
RandomContrast RandomCrop RandomElasticTransform RandomErasing RandomFlip RandomGaussianBlur
RandomGrayscale RandomHue RandomInvert RandomPerspective RandomPosterization RandomRotation
RandomSaturation RandomSharpness RandomShear RandomTranslation RandomZoom Solarization
MaxNumBoundingBoxes""".split())


def case_array(case, key):
    return read_case_array(BUFFERS, case, key)


def make_layer(case):
    return getattr(layers, case["class_name"])(**case["kwargs"])


def expected_output(case):
    """Keras's inference output: the TensorFlow backend's where it was recorded (CLAHE)."""
    return case_array(case, "tf_output" if "tf_output" in case["arrays"] else "output")


def as_json(value):
    return json.loads(json.dumps(value))


def test_fixture_was_recorded_with_keras_3_15_1_and_covers_every_class():
    assert DOCUMENT["keras_version"] == "3.15.1"
    assert {case["class_name"] for case in CASES.values()} == set(CLASS_NAMES)


# ----- values, dtypes, shapes -------------------------------------------------------------------

@pytest.mark.parametrize("case_id", list(CASES))
def test_inference_output_matches_keras_values_and_dtype(case_id):
    case = CASES[case_id]
    output = make_layer(case)(case_array(case, "input:0"))
    expected = expected_output(case)
    assert isinstance(output, np.ndarray)
    assert output.shape == expected.shape
    assert output.dtype == expected.dtype == np.dtype(case["output_dtype"])
    np.testing.assert_allclose(output, expected, **TOLERANCE)


@pytest.mark.parametrize("case_id", list(CASES))
def test_symbolic_output_shape_and_dtype_match_keras(case_id):
    case = CASES[case_id]
    for entry in case["symbolic"]:
        shape = entry["shape"]
        tensor = modelio.Input(batch_shape=tuple(shape), dtype=entry["dtype"])
        result = make_layer(case)(tensor)
        assert list(result.shape) == entry["output_shape"]
        assert result.dtype == entry["output_dtype"]


def test_random_crop_returns_full_images_while_declaring_the_crop_size():
    case = CASES["random_crop_uint8"]
    x = case_array(case, "input:0")
    layer = make_layer(case)
    output = layer(x)
    assert output is x or np.array_equal(output, x)
    assert output.dtype == np.uint8
    assert layer.compute_output_shape((None, 5, 6, 3)) == (None, 2, 2, 3)


def test_auto_contrast_leaves_a_constant_channel_unchanged():
    case = CASES["auto_contrast_constant_channel"]
    x = case_array(case, "input:0")
    output = make_layer(case)(x)
    np.testing.assert_array_equal(output[0, ..., 1], x[0, ..., 1])
    assert output[0, ..., 0].min() == 0 and output[0, ..., 0].max() == 255


def test_contrast_model_matches_the_tensorflow_backend_where_pytorch_differs():
    arrays = recorded("augmentation_contrast")
    assert not np.allclose(arrays["torch_output:0"], arrays["output:0"], **TOLERANCE)
    model = modelio.load_model(path_of("augmentation_contrast"))
    np.testing.assert_allclose(model.predict(arrays["input:image"]), arrays["output:0"],
                               **TOLERANCE)


def test_clahe_matches_the_tensorflow_backend_where_pytorch_differs():
    differing = [case for case in CASES.values() if "tf_output" in case["arrays"]
                 and not np.allclose(case_array(case, "tf_output"), case_array(case, "output"))]
    assert differing  # the fixture does record the disagreement
    for case in differing:
        output = make_layer(case)(case_array(case, "input:0"))
        np.testing.assert_allclose(output, case_array(case, "tf_output"), **TOLERANCE)


def test_layers_from_keras2_configs_cast_like_tf_keras_and_crop_like_tf_keras():
    from modelio.graph import keras2_semantics

    images = case_array(CASES["random_contrast_uint8_single"], "input:0")
    with keras2_semantics():
        layer = layers.RandomContrast.from_config({"name": "c", "factor": 0.2, "seed": None})
        crop = layers.RandomCrop.from_config({"name": "crop", "height": 2, "width": 2})
    output = layer(images)
    assert output.dtype == np.float32
    np.testing.assert_array_equal(output, images.astype(np.float32))
    assert layers.RandomContrast(0.2)(images).dtype == np.uint8  # Keras 3 keeps uint8
    # tf-keras's RandomCrop resizes a centred aspect-ratio crop at inference (see
    # tests/layers/test_keras2_preprocessing.py for files tf-keras wrote)
    assert isinstance(crop, layers.Resizing) and crop.crop_to_aspect_ratio
    assert crop(images).shape[-3:-1] == (2, 2) and crop(images).dtype == np.float32


def test_images_of_rank_other_than_3_or_4_are_refused_naming_the_layer():
    layer = layers.RandomFlip(name="flipper")
    with pytest.raises(ModelioError, match="flipper"):
        layer(np.zeros((2, 3), np.float32))
    with pytest.raises(ModelioError, match="AutoContrast"):
        layers.AutoContrast()(np.zeros((1, 2, 3, 4, 5), np.float32))


def test_dict_inputs_with_bounding_boxes_are_refused_clearly():
    layer = layers.MaxNumBoundingBoxes(3)
    with pytest.raises(UnsupportedError, match="MaxNumBoundingBoxes"):
        layer.compute_output_shape({"images": (None, 4, 4, 3),
                                    "bounding_boxes": {"boxes": (None, 2, 4),
                                                       "labels": (None, 2)}})


# ----- configs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", list(CASES))
def test_config_matches_keras_and_round_trips(case_id):
    case = CASES[case_id]
    modelio.clear_session()
    config = as_json(make_layer(case).get_config())
    assert config == case["keras_config"]
    rebuilt = getattr(layers, case["class_name"]).from_config(case["keras_config"])
    assert as_json(rebuilt.get_config()) == case["keras_config"]


def test_random_shear_reads_back_the_symmetric_pair_keras_writes():
    layer = layers.RandomShear.from_config({"name": "s", "x_factor": [-0.2, 0.2],
                                            "y_factor": [0.1, 0.3]})
    assert layer.x_factor == (-0.2, 0.2) and layer.y_factor == (0.1, 0.3)
    with pytest.raises(ConfigError, match="RandomShear"):
        layers.RandomShear(x_factor=[-0.2, 0.3])


BAD = [entry for entry in DOCUMENT["bad_configs"] if entry["keras_refuses"]]


@pytest.mark.parametrize("entry", BAD, ids=[f"{e['class_name']}-{json.dumps(e['kwargs'])}"
                                            for e in BAD])
def test_bad_config_keras_refuses_is_a_config_error_naming_the_layer(entry):
    defaults = {"RandomRotation": {"factor": 0.1}, "RandomZoom": {"height_factor": 0.1},
                "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
                "RandomBrightness": {"factor": 0.1}, "RandomContrast": {"factor": 0.1},
                "RandomColorDegeneration": {"factor": 0.1}, "RandomHue": {"factor": 0.1},
                "RandomSaturation": {"factor": 0.1}, "RandomPosterization": {"factor": 2},
                "RandomSharpness": {"factor": 0.1}, "MaxNumBoundingBoxes": {"max_number": 2}}
    kwargs = {**defaults.get(entry["class_name"], {}), **entry["kwargs"], "name": "bad_one"}
    with pytest.raises(ConfigError, match="bad_one") as caught:
        getattr(layers, entry["class_name"])(**kwargs)
    assert entry["class_name"] in str(caught.value)


def test_every_recorded_bad_config_is_one_keras_refuses():
    # modelio refuses nothing Keras accepts among the recorded cases (mode=3 aside: Keras
    # only fails on it when training)
    accepted = [(e["class_name"], e["kwargs"]) for e in DOCUMENT["bad_configs"]
                if not e["keras_refuses"]]
    assert accepted == [("RandomFlip", {"mode": 3})]
    with pytest.raises(ConfigError, match="mode"):
        layers.RandomFlip(mode=3)


@pytest.mark.parametrize("cls, kwargs, argument", [
    (layers.RandomRotation, {"factor": True}, "factor"),
    (layers.RandomZoom, {"height_factor": 0.1, "interpolation": "lanczos3"}, "interpolation"),
    (layers.RandomTranslation, {"height_factor": 0.1, "width_factor": 0.1, "fill_mode": "edge"},
     "fill_mode"),
    (layers.RandomCrop, {"height": 0, "width": 2}, "height"),
    (layers.RandomCrop, {"height": 2, "width": 2.5}, "width"),
    (layers.RandomFlip, {"seed": "abc"}, "seed"),
    (layers.ContrastLimitedAdaptiveHistogramEqualization, {"tile_grid_size": [2]},
     "tile_grid_size"),
    (layers.ContrastLimitedAdaptiveHistogramEqualization, {"clip_limit": "4"}, "clip_limit"),
    (layers.Equalization, {"bins": 0}, "bins"),
    (layers.AugMix, {"num_chains": 0}, "num_chains"),
    (layers.RandAugment, {"num_ops": 1.5}, "num_ops"),
    (layers.RandomGrayscale, {"factor": [0.1, 0.2]}, "factor"),
])
def test_wrong_argument_types_are_config_errors_naming_layer_and_argument(cls, kwargs, argument):
    with pytest.raises(ConfigError, match=argument) as caught:
        cls(name="odd", **kwargs)
    assert "odd" in str(caught.value)


# ----- Pipeline ---------------------------------------------------------------------------------

def test_pipeline_runs_its_layers_in_order_and_serializes_them_back():
    pipeline = layers.Pipeline([layers.RandomFlip(name="f"), layers.AutoContrast(name="a")],
                               name="pipe")
    x = CASES["auto_contrast_uint8"]
    images = case_array(x, "input:0")
    np.testing.assert_allclose(pipeline(images), expected_output(x), **TOLERANCE)
    config = pipeline.get_config()
    assert set(config) == {"layers", "name"}
    assert [entry["class_name"] for entry in config["layers"]] == ["RandomFlip", "AutoContrast"]
    rebuilt = layers.Pipeline.from_config(as_json(config))
    assert [type(layer).__name__ for layer in rebuilt.layers] == ["RandomFlip", "AutoContrast"]


def test_pipeline_symbolic_output_follows_its_layers():
    tensor = modelio.Input(batch_shape=(None, 8, 8, 3), dtype="uint8")
    kept = layers.Pipeline([layers.RandomGrayscale()])(tensor)
    assert kept.dtype == "uint8"
    cropped = layers.Pipeline([layers.RandomCrop(2, 3, seed=1), layers.RandomFlip()])(tensor)
    assert cropped.shape == (None, 2, 3, 3) and cropped.dtype == "float32"


@pytest.mark.parametrize("layers_value", ["RandomFlip", [{"class_name": "RandomFlip"}, 3], None])
def test_pipeline_config_without_a_list_of_layer_entries_is_refused(layers_value):
    with pytest.raises(ModelioError, match="Pipeline"):
        layers.Pipeline.from_config({"name": "p", "layers": layers_value})


def test_pipeline_refuses_a_module_outside_keras():
    entry = {"module": "evil.module", "class_name": "RandomFlip", "config": {}}
    with pytest.raises(ModelioError, match="evil.module"):
        layers.Pipeline.from_config({"name": "p", "layers": [entry]})


def test_pipeline_of_layers_with_weights_is_refused():
    pipeline = layers.Pipeline([layers.Dense(2)], name="weighted")
    with pytest.raises(UnsupportedError, match="weights"):
        pipeline(np.zeros((1, 3), np.float32))


# ----- whole models written by Keras -------------------------------------------------------------

def path_of(stem, suffix="keras"):
    """The crop model sits in onnx_refused/ (modelio refuses its ONNX export)."""
    folder = FILES / "onnx_refused" if stem == "augmentation_crop" else FILES
    return folder / f"{stem}.{suffix}"


def recorded(stem):
    with np.load(path_of(stem, "npz")) as archive:
        return dict(archive)


@pytest.mark.parametrize("stem, suffix", [
    ("augmentation_zoo", "keras"), ("augmentation_every_layer", "keras"),
    ("augmentation_contrast", "keras"), ("augmentation_contrast", "h5"),
    ("augmentation_crop", "keras"), ("augmentation_crop", "h5"),
])
def test_keras_written_model_loads_and_predicts_as_keras(stem, suffix):
    arrays = recorded(stem)
    model = modelio.load_model(path_of(stem, suffix))
    outputs = model.predict(arrays["input:image"])
    outputs = outputs if isinstance(outputs, list) else [outputs]
    for index, output in enumerate(outputs):
        # augmentation_contrast: the TensorFlow backend's numbers (the backends disagree on
        # CLAHE; the PyTorch backend's are recorded as torch_output)
        np.testing.assert_allclose(output, arrays[f"output:{index}"], **TOLERANCE)
        declared = [None if dim < 0 else int(dim) for dim in arrays[f"declared:{index}"]]
        assert list(model.outputs[index].shape) == declared


def test_crop_model_declares_the_crop_size_and_predicts_full_size_as_keras():
    arrays = recorded("augmentation_crop")
    model = modelio.load_model(path_of("augmentation_crop"))
    conv = model.predict(arrays["input:image"])[0]
    assert tuple(model.outputs[0].shape) == (None, 2, 2, 2)
    assert conv.shape == (2, 6, 6, 2) == arrays["output:0"].shape


@pytest.mark.parametrize("stem", ["augmentation_zoo", "augmentation_crop"])
def test_model_written_back_reloads_with_the_same_config_and_outputs(stem, tmp_path):
    arrays = recorded(stem)
    model = modelio.load_model(path_of(stem))
    modelio.save_model(model, tmp_path / "copy.keras")
    again = modelio.load_model(tmp_path / "copy.keras")
    assert again.get_config() == model.get_config()
    first = model.predict(arrays["input:image"])
    second = again.predict(arrays["input:image"])
    for a, b in zip(first if isinstance(first, list) else [first],
                    second if isinstance(second, list) else [second]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("stem", ["augmentation_zoo", "augmentation_every_layer"])
def test_weights_file_groups_match_the_ones_keras_writes(stem, tmp_path):
    import h5py

    def layout(path):
        names = set()
        with h5py.File(path, "r") as handle:
            handle.visit(names.add)
        return names

    model = modelio.load_model(FILES / f"{stem}.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    assert layout(tmp_path / "w.weights.h5") == layout(FILES / f"{stem}.weights.h5")
