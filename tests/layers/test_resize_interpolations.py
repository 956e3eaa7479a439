"""Resizing and UpSampling2D with "bicubic", "lanczos3", "lanczos5" and "area", and AveragePooling
with uneven "same" padding, against what Keras 3.15.1 computes on its TensorFlow AND its PyTorch
backends.

The two backends disagree here, so fixtures/keras3/resize_cases.npz (tools/resize_case_fixtures.py)
records both. **modelio matches the TensorFlow backend** (`output`, 1e-4; integer images exactly).
The PyTorch backend's numbers (`torch_output`) are recorded beside it and these tests state by how
much they differ:

* bicubic (no antialias): TensorFlow uses Keys' cubic with a = -0.5, tabulated at 1/1024 steps,
  and drops the taps that fall outside the image (renormalizing the rest); PyTorch uses
  a = -0.75 and repeats the edge cells. They differ by 1-10% of the image's range (up to 0.47
  on these inputs of range ~10, up to 15 grey levels on uint8 images).
* bicubic with antialias: both backends compute the same (a = -0.5, normalized, within 1e-5).
* lanczos3, lanczos5, area: the PyTorch backend refuses them; only TensorFlow's numbers exist.
* gaussian, mitchellcubic: tf.image.resize knows them but Keras 3 refuses them on both
  backends; modelio refuses them too, except in layers made from tf-keras (Keras 2) configs,
  which resize with them: those match tf-keras 2.21 (fixtures/keras2/resize_configs.json).
* AveragePooling with "same" padding uneven on some axis: the PyTorch backend pads by
  replicating the edge (mode "replicate") and averages the copies as if they were real cells;
  TensorFlow leaves padding out of the mean. modelio matched TensorFlow already and still does
  (also in ONNX export); the PyTorch backend differs by up to 2.19 on these inputs.

These tests never import Keras.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.graph import keras2_semantics
from modelio.kernels import resize_filters

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "keras3" / "resize_cases.npz"
MODELS = ROOT / "fixtures" / "keras3_resize"
KERAS2_FIXTURE = ROOT / "fixtures" / "keras2" / "resize_configs.json"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}

BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
CASES = {case["id"]: case for case in DOCUMENT["cases"]}
COMPUTED = [case_id for case_id, case in CASES.items() if "keras_error" not in case]
REFUSED = [case_id for case_id, case in CASES.items() if "keras_error" in case]
SYMBOLIC = [case_id for case_id in COMPUTED if CASES[case_id]["symbolic"]]


def array(case: dict, key: str) -> np.ndarray:
    return read_case_array(BUFFERS, case, key)


def make_layer(case: dict):
    return getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))


def worst(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def interpolation(case: dict) -> str:
    return case["kwargs"].get("interpolation", "nearest").lower()


def test_fixture_was_recorded_with_keras_3_15_1_on_both_backends():
    assert DOCUMENT["keras_version"] == "3.15.1"
    kinds = {interpolation(case) for case in CASES.values() if case["class_name"] != "AveragePooling2D"}
    assert {"bicubic", "lanczos3", "lanczos5", "area", "gaussian", "mitchellcubic"} <= kinds
    for case in CASES.values():  # each case has the PyTorch backend's result or its refusal
        assert ("torch_output" in case["arrays"]) != ("torch_error" in case)


# ----- 1. modelio computes what the TensorFlow backend computes ----------------------------------

@pytest.mark.parametrize("case_id", COMPUTED)
def test_output_matches_the_tensorflow_backend(case_id):
    case = CASES[case_id]
    output = make_layer(case)(array(case, "input:0"))
    expected = array(case, "output")
    assert output.shape == expected.shape
    assert output.dtype == expected.dtype == np.dtype(case["output_dtype"])
    if output.dtype.kind in "iu":
        np.testing.assert_array_equal(output, expected)  # rounded and saturated as Keras does
    else:
        np.testing.assert_allclose(output, expected, **TOLERANCE)


@pytest.mark.parametrize("case_id", COMPUTED)
def test_config_is_what_keras_get_config_returns(case_id):
    case = CASES[case_id]
    assert json.loads(json.dumps(make_layer(case).get_config())) == case["keras_config"]
    kwargs_layer = getattr(layers, case["class_name"])(**case["kwargs"])
    config = json.loads(json.dumps(kwargs_layer.get_config()))
    assert {key: value for key, value in config.items() if key != "name"} == \
        {key: value for key, value in case["keras_config"].items() if key != "name"}


@pytest.mark.parametrize("case_id", SYMBOLIC)
def test_symbolic_output_shape_matches_keras(case_id):
    case = CASES[case_id]
    shape = tuple(case["symbolic"][0])
    output = make_layer(case)(modelio.Input(batch_shape=shape, dtype=case["dtype"]))
    assert output.shape == tuple(case["output_shapes"][0])


# ----- 2. where the PyTorch backend differs, and by how much ------------------------------------

def _torch_difference(case_id: str) -> float:
    case = CASES[case_id]
    return worst(array(case, "torch_output"), array(case, "output"))


BICUBIC_DIFFERS = [case_id for case_id in COMPUTED
                   if interpolation(CASES[case_id]) == "bicubic"
                   and not CASES[case_id]["kwargs"].get("antialias")]


@pytest.mark.parametrize("case_id", BICUBIC_DIFFERS)
def test_pytorch_backend_bicubic_differs_and_modelio_follows_tensorflow(case_id):
    case = CASES[case_id]
    output = make_layer(case)(array(case, "input:0"))
    # a = -0.75 with repeated edges vs a = -0.5: 1-10% of the image's range apart
    relative_gap = _torch_difference(case_id) / np.ptp(array(case, "input:0").astype(np.float64))
    assert 0.01 < relative_gap < 0.1
    assert worst(output, array(case, "output")) < 1e-4 < worst(output, array(case, "torch_output"))


def test_pytorch_backend_agrees_on_antialiased_bicubic():
    for case_id in ("bicubic_antialias_down", "bicubic_antialias_up"):
        assert _torch_difference(case_id) < 1e-5


@pytest.mark.parametrize("case_id", [case_id for case_id in COMPUTED
                                     if interpolation(CASES[case_id]) in ("lanczos3", "lanczos5",
                                                                          "area")])
def test_pytorch_backend_refuses_lanczos_and_area(case_id):
    assert "interpolation" in CASES[case_id]["torch_error"].lower()


def test_pytorch_backend_averages_replicated_edges_in_uneven_same_pooling():
    uneven = [case_id for case_id in COMPUTED if case_id.startswith("avg")]
    gaps = {case_id: _torch_difference(case_id) for case_id in uneven}
    # Pool 2, stride 1 pads one cell after: each padded window holds one real cell and its copy,
    # whose mean is that cell either way, so the backends agree; even padding goes to torch's own
    # (padding-excluding) pooling; the other uneven cases differ by up to ~2.2.
    assert gaps["avg2d_pool2_stride1_same_uneven"] == 0
    assert gaps["avg2d_pool3_stride1_same_even"] == 0
    for case_id in ("avg2d_pool3_stride2_same_uneven", "avg2d_pool2x4_strides1x3_same_uneven",
                    "avg1d_pool4_stride1_same_uneven"):
        assert gaps[case_id] > 0.5


# ----- 3. refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", REFUSED)
def test_interpolation_keras_refuses_on_both_backends_is_refused_naming_the_layer(case_id):
    case = CASES[case_id]
    assert "interpolation" in case["keras_error"] and "interpolation" in case["torch_error"]
    with pytest.raises(modelio.UnsupportedError) as info:
        make_layer(case)
    assert case["keras_config"]["name"] in str(info.value)
    assert "Keras 3's backends refuse it" in str(info.value)


@pytest.mark.parametrize("value", [3, None, ["bicubic"]])
def test_interpolation_that_is_not_a_string_is_a_config_error(value):
    for make in (lambda: layers.Resizing(2, 3, interpolation=value, name="suspect"),
                 lambda: layers.UpSampling2D(interpolation=value, name="suspect")):
        with pytest.raises(modelio.ConfigError, match="suspect.*interpolation"):
            make()


@pytest.mark.parametrize("value", ["cubic", "lanczos4", "Bicubic"])
def test_unknown_resizing_interpolation_is_refused_naming_what_modelio_computes(value):
    # Resizing keeps the case as written (Keras's backends refuse "Bicubic"); UpSampling2D
    # lowers it as Keras does.
    with pytest.raises(modelio.UnsupportedError, match="suspect.*'bicubic', 'lanczos3'"):
        layers.Resizing(2, 3, interpolation=value, name="suspect")


# ----- 4. the kernels -------------------------------------------------------------------------

@pytest.mark.parametrize("name", resize_filters.FILTERED_INTERPOLATIONS)
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("sizes", [(7, 3), (4, 9), (5, 5), (1, 4), (9, 2)])
def test_filter_weights_preserve_constants_and_keep_sizes_unchanged(name, antialias, sizes):
    matrix = resize_filters.filter_weights(*sizes, name, antialias)
    assert matrix.shape == sizes
    np.testing.assert_allclose(matrix.sum(axis=0), 1.0, atol=1e-6)
    if sizes[0] == sizes[1] and name not in resize_filters.BLURRING_INTERPOLATIONS:
        np.testing.assert_allclose(matrix, np.eye(sizes[0]), atol=1e-6)


def test_area_upsampling_by_an_integer_factor_repeats_cells():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1)
    np.testing.assert_allclose(layers.UpSampling2D((2, 3), interpolation="area")(x),
                               layers.UpSampling2D((2, 3))(x), rtol=1e-6, atol=1e-6)


def keys_cubic(distance: float, a: float = -0.5) -> float:
    d = abs(distance)
    if d < 1:
        return ((a + 2) * d - (a + 3)) * d * d + 1
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a if d < 2 else 0.0


def test_bicubic_drops_taps_outside_the_image_instead_of_repeating_the_edge():
    # Doubling [1, 0, 0, 0]: the first output samples -0.25, between the missing cell -1 and
    # cell 0. TensorFlow drops the taps at -2 and -1 and renormalizes cells 0 and 1's weights;
    # repeating cell 0 there (as PyTorch does) would give 1 - w(1.25) instead.
    x = np.array([1, 0, 0, 0], np.float32).reshape(1, 1, 4, 1)
    output = layers.Resizing(1, 8, interpolation="bicubic")(x).ravel()
    dropped = keys_cubic(0.25) / (keys_cubic(0.25) + keys_cubic(1.25))
    assert output[0] == pytest.approx(dropped, abs=1e-6)
    assert abs(output[0] - (1 - keys_cubic(1.25))) > 0.01


def test_resize_of_float64_images_keeps_float64():
    x = np.random.default_rng(0).normal(size=(1, 5, 6, 2))
    for name in ("bicubic", "lanczos3", "lanczos5", "area"):
        output = layers.Resizing(3, 8, interpolation=name, dtype="float64")(x)
        assert output.dtype == np.float64
        np.testing.assert_allclose(
            output, layers.Resizing(3, 8, interpolation=name)(x.astype(np.float32)), atol=1e-5)


# ----- 5. whole models written by Keras (TensorFlow backend) ----------------------------------

MODEL_NAMES = ["resize_interpolations", "resize_tensorflow_only"]


def recorded(name: str) -> dict:
    with np.load(MODELS / f"{name}.npz") as archive:
        return dict(archive)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_file_loads_and_matches_the_tensorflow_backend(name, tmp_path):
    arrays = recorded(name)
    model = modelio.load_model(MODELS / f"{name}.keras")
    outputs = model.predict(arrays["input:image"])
    for index, output in enumerate(outputs):
        np.testing.assert_allclose(output, arrays[f"output:{index}"], **TOLERANCE)
    # written back and read again: the same layers and numbers
    modelio.save_model(model, tmp_path / f"{name}.keras")
    again = modelio.load_model(tmp_path / f"{name}.keras")
    for output, before in zip(again.predict(arrays["input:image"]), outputs):
        np.testing.assert_array_equal(output, before)


def test_pytorch_backend_runs_the_same_file_to_other_numbers():
    arrays = recorded("resize_interpolations")
    outputs = modelio.load_model(MODELS / "resize_interpolations.keras").predict(
        arrays["input:image"])
    # bicubic Resizing (+ a 1x1 Conv2D), bicubic UpSampling2D, AveragePooling2D same uneven
    gaps = [worst(output, arrays[f"torch_output:{index}"]) for index, output in enumerate(outputs)]
    assert all(gap > 0.2 for gap in gaps), gaps
    assert "torch_output:0" not in recorded("resize_tensorflow_only")  # PyTorch refuses them


# ----- 6. tf-keras (Keras 2) configs: also gaussian and mitchellcubic --------------------------

KERAS2_DOCUMENT = json.loads(KERAS2_FIXTURE.read_text(encoding="utf-8"))
KERAS2_CASES = {case["id"]: case for case in KERAS2_DOCUMENT["cases"]}


def keras2_layer(case: dict):
    with keras2_semantics():
        return getattr(layers, case["class_name"]).from_config(dict(case["config"]))


@pytest.mark.parametrize("case_id", list(KERAS2_CASES))
def test_tf_keras_config_computes_what_tf_keras_computed(case_id):
    case = KERAS2_CASES[case_id]
    assert KERAS2_DOCUMENT["tf_keras_version"] == "2.21.0"
    output = keras2_layer(case)(np.asarray(case["input"], dtype=case["input_dtype"]))
    expected = np.asarray(case["output"], dtype=case["output_dtype"])
    assert output.dtype == expected.dtype  # tf-keras gives float32 for uint8 images
    np.testing.assert_allclose(output, expected, **TOLERANCE)


def test_gaussian_blurs_even_when_the_size_does_not_change():
    case = KERAS2_CASES["resizing_gaussian_same_size_blurs"]
    x = np.asarray(case["input"], np.float32)
    output = keras2_layer(case)(x)
    assert output.shape == x.shape and worst(output, x) > 0.5


@pytest.mark.parametrize("case_id", ["resizing_gaussian_down", "up_sampling2d_mitchellcubic_"
                                                               "channels_first"])
def test_keras2_only_interpolation_is_refused_in_a_keras3_config(case_id):
    config = dict(KERAS2_CASES[case_id]["config"])
    with pytest.raises(modelio.UnsupportedError, match="only for tf-keras configs"):
        getattr(layers, KERAS2_CASES[case_id]["class_name"]).from_config(config)
