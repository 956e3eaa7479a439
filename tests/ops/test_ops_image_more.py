"""keras.ops.image's RGBToHSV, HSVToRGB, ExtractPatches, GaussianBlur, SobelEdges, SSIM,
AffineTransform, PerspectiveTransform, MapCoordinates and ScaleAndTranslate against real Keras
3.15.1 (fixtures/keras3/ops_image_more_cases.npz, tools/ops_image_more_fixtures.py, torch
backend): modelio rebuilds each model from Keras's config, matches Keras's outputs, writes the
same config back, exports to ONNX and matches in onnxruntime. Never imports Keras.

Where Keras's torch backend disagrees with its TensorFlow backend, modelio matches TensorFlow,
whose outputs fixtures/keras3/ops_image_more_cases_tf.npz holds (TENSORFLOW_DIFFERS).
"""

import copy
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array
from keras_op_cases import (
    assert_config_written_back,
    assert_outputs_match,
    case_inputs,
    case_outputs,
    check_op_case,
    predict_list,
)

import modelio
from modelio import ops
from modelio.errors import ModelioError, UnsupportedError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "ops_image_more_cases.npz"
BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}
with np.load(FIXTURE.with_name("ops_image_more_cases_tf.npz")) as _archive:
    TF_OUTPUTS = dict(_archive)

# The torch backend computes these differently from the TensorFlow backend; modelio matches
# TensorFlow: RGBToHSV keeps values below epsilon (torch zeroes them); HSVToRGB does not wrap
# hues outside [0, 1]; GaussianBlur pads "same" for even and
# non-square kernels (torch pads kernel_size[0] // 2 everywhere, changing the size); SobelEdges
# reflects the border (torch pads zeros); AffineTransform applies c0, c1 (torch drops them), wraps
# positions rather than indices, and rounds halves away from zero; MapCoordinates' "reflect"
# mirrors negative indices.
TENSORFLOW_DIFFERS = {"rgb_to_hsv", "hsv_to_rgb", "gaussian_blur_non_square", "gaussian_blur_even",
                      "sobel_edges", "sobel_edges_channels_first", "affine_wrap_bilinear",
                      "affine_wrap_nearest", "affine_shared_transform", "affine_projective",
                      "map_coordinates_reflect_0", "map_coordinates_reflect_1"}
# TensorFlow refuses (AffineTransform) or fails on (MapCoordinates) "mirror": torch's meaning
TORCH_ONLY = {"affine_mirror_bilinear", "affine_mirror_nearest", "map_coordinates_mirror_0",
              "map_coordinates_mirror_1"}
# the homography of points computed in the graph needs a linear solver ONNX lacks
NO_ONNX = {"perspective_transform", "perspective_transform_nearest_channels_first"}
# float32 solving of the homography: TensorFlow and torch differ by ~1e-6 too
TOLERANCE = {name: {"rtol": 1e-5, "atol": 1e-5} for name in CASES}
TOLERANCE.update({name: {"rtol": 1e-4, "atol": 1e-5} for name in CASES if "perspective" in name})


def _expected(case):
    keys = [f"{case['name']}:output_{index}" for index in range(case["n_outputs"])]
    if case["name"] in TENSORFLOW_DIFFERS:
        return [TF_OUTPUTS[key] for key in keys]
    return case_outputs(BUFFERS, case)


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_ONNX))
def test_image_op_case_matches_keras_and_onnxruntime(name):
    check_op_case(BUFFERS, CASES[name], _expected(CASES[name]), **TOLERANCE[name])


@pytest.mark.parametrize("name", sorted(NO_ONNX))
def test_perspective_of_computed_points_matches_keras_and_refuses_onnx(name):
    case = CASES[name]
    model = modelio.Model.from_config(case["config"])
    assert_outputs_match(predict_list(model, case_inputs(BUFFERS, case)), _expected(case),
                         **TOLERANCE[name])
    assert_config_written_back(model, case)
    with pytest.raises(UnsupportedError, match="linear solver"):
        modelio.export_onnx(model)


def test_recorded_backend_differences_are_the_listed_ones():
    recorded = {key.split(":")[0] for key in TF_OUTPUTS}
    assert recorded == TENSORFLOW_DIFFERS
    for name in TENSORFLOW_DIFFERS:  # the backends do disagree there
        case = CASES[name]
        torch_output = read_case_array(BUFFERS, case, "output_0")
        tf_output = TF_OUTPUTS[f"{name}:output_0"]
        assert torch_output.shape != tf_output.shape or \
            not np.allclose(torch_output, tf_output, atol=1e-3)


def test_every_recorded_case_is_checked():
    assert set(CASES) == {case["name"] for case in DOCUMENT["cases"]}
    assert TORCH_ONLY <= set(CASES) and NO_ONNX <= set(CASES)
    classes = {class_name for case in CASES.values() for _, class_name in case["ops"]}
    assert {"RGBToHSV", "HSVToRGB", "ExtractPatches", "GaussianBlur", "SobelEdges", "SSIM",
            "AffineTransform", "PerspectiveTransform", "MapCoordinates",
            "ScaleAndTranslate"} <= classes


def test_extract_patches_config_has_no_name():
    entry = next(layer for layer in CASES["extract_patches"]["config"]["layers"]
                 if layer["class_name"] == "ExtractPatches")
    assert "name" not in entry["config"]
    written = modelio.Model.from_config(CASES["extract_patches"]["config"]).get_config()
    ours = next(layer for layer in written["layers"] if layer["class_name"] == "ExtractPatches")
    assert "name" not in ours["config"]


def test_rgb_to_hsv_special_pixels():
    """Grey pixels: hue and saturation 0; black: all 0; red-dominant with blue > green: the hue
    wraps into [0, 1); a value below epsilon is a value like any other (TensorFlow)."""
    rgb = np.array([[[[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [1.0, 0.0, 0.5], [1e-8, 0.0, 0.0]]]],
                   np.float32)
    hsv = ops.RGBToHSV()(rgb)
    np.testing.assert_allclose(hsv[0, 0], [[0, 0, 0.5], [0, 0, 0], [1 - 1 / 12, 1, 1],
                                           [0, 1, 1e-8]], atol=1e-6)


def test_elastic_transform_stays_refused_by_name():
    config = copy.deepcopy(CASES["gaussian_blur"]["config"])
    entry = next(layer for layer in config["layers"] if layer["class_name"] == "GaussianBlur")
    entry["class_name"] = entry["registered_name"] = "ElasticTransform"
    entry["config"] = {"name": entry["config"]["name"], "alpha": 20.0, "sigma": 5.0,
                       "interpolation": "bilinear", "fill_mode": "reflect", "fill_value": 0.0,
                       "seed": 3, "data_format": None}
    with pytest.raises(UnsupportedError, match="Keras operation 'ElasticTransform'"):
        modelio.Model.from_config(config)


IMAGES = np.zeros((1, 4, 4, 3), np.float32)


@pytest.mark.parametrize("build, call, message", [
    (lambda: ops.ExtractPatches(size=[2, 2, 2, 2]), None, "size"),
    (lambda: ops.ExtractPatches(size=[2, 2], padding="full"), None, "padding"),
    (lambda: ops.ExtractPatches(size=[5, 5]), lambda op: op(IMAGES), "do not fit"),
    (lambda: ops.GaussianBlur(sigma=[1.0, -1.0]), None, "sigma"),
    (lambda: ops.GaussianBlur(kernel_size=[3]), None, "kernel_size"),
    (lambda: ops.GaussianBlur(kernel_size=[99999, 99999]), None, "too large"),
    (lambda: ops.RGBToHSV(), lambda op: op(IMAGES.astype(np.int32)), "float images"),
    (lambda: ops.HSVToRGB(), lambda op: op(IMAGES[..., :2]), "3 channels"),
    (lambda: ops.SobelEdges(), lambda op: op(IMAGES[0]), "rank 4"),
    (lambda: ops.SSIM(filter_size=11), lambda op: op(IMAGES, IMAGES), "filter_size"),
    (lambda: ops.SSIM(), lambda op: op(IMAGES, IMAGES[:, :3]), "one shape"),
    (lambda: ops.AffineTransform(fill_mode="bogus"), None, "fill_mode"),
    (lambda: ops.AffineTransform(interpolation="bicubic"), None, "interpolation"),
    (lambda: ops.AffineTransform(), lambda op: op(IMAGES, np.zeros((1, 6), np.float32)),
     "transform"),
    (lambda: ops.AffineTransform(), lambda op: op(np.zeros((3, 4, 4, 1), np.float32),
                                                  np.zeros((2, 8), np.float32)), "transforms"),
    (lambda: ops.PerspectiveTransform(), lambda op: op(IMAGES, np.zeros((3, 2), np.float32),
                                                       np.zeros((3, 2), np.float32)), "(4, 2)"),
    (lambda: ops.PerspectiveTransform(), lambda op: op(IMAGES, np.zeros((4, 2), np.float32),
                                                       np.zeros((4, 2), np.float32)),
     "no homography"),
    (lambda: ops.MapCoordinates(order=3), None, "order"),
    (lambda: ops.MapCoordinates(order=1), lambda op: op(IMAGES, np.zeros((2, 3), np.float32)),
     "coordinates"),
    (lambda: ops.ScaleAndTranslate(spatial_dims=[1, 2], method="area"), None, "method"),
    (lambda: ops.ScaleAndTranslate(spatial_dims=[1, 2], method="linear"),
     lambda op: op(IMAGES, [1, 8, 8, 5], np.ones(2, np.float32), np.zeros(2, np.float32)),
     "not in spatial_dims"),
    (lambda: ops.ScaleAndTranslate(spatial_dims=[1, 2], method="linear"),
     lambda op: op(IMAGES, [1, 8, 8, 3], np.ones(3, np.float32), np.zeros(2, np.float32)),
     "scale"),
])
def test_bad_arguments_are_refused_naming_the_op(build, call, message):
    with pytest.raises(ModelioError, match=message) as caught:
        op = build()
        call(op)
    assert "operation '" in str(caught.value)
