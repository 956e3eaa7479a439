"""ONNX export of the preprocessing layers Resizing, CenterCrop and Normalization: each exported
graph runs in onnxruntime at opsets 13, 17 and the newest, on batches of one and five through the
same graph, against modelio's numpy kernels (and, through test_export_spatial's recorded cases
and the layer zoo here, against what Keras 3.15.1 computed)."""

import numpy as np
import onnxruntime
import pytest
from fixture_models import FIXTURES

import modelio
from modelio import layers
from modelio.graph import keras2_semantics
from modelio.onnx.export import MAX_OPSET

OPSETS = [13, 17, MAX_OPSET]
TOLERANCE = dict(rtol=1e-4, atol=1e-4)


def session_for(model, opset):
    proto = modelio.export_onnx(model, opset=opset)
    return onnxruntime.InferenceSession(proto.SerializeToString(),
                                        providers=["CPUExecutionProvider"])


def images(shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 256, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def exported_and_numpy(layer, input_shape, opset, dtype="float32", data_shape=None):
    """[(onnxruntime output, modelio output)] for batches of 1 and 5 through one exported graph."""
    x = modelio.Input(input_shape, name="x", dtype=dtype)
    model = modelio.Model(x, layer(x))
    session = session_for(model, opset)
    pairs = []
    for batch in (1, 5):
        data = images((batch, *(data_shape or input_shape)), dtype, seed=batch)
        pairs.append((session.run(None, {"x": data})[0], model.predict(data)))
    return pairs


def assert_exports_like_numpy(layer, input_shape, opset, dtype="float32", data_shape=None):
    for got, expected in exported_and_numpy(layer, input_shape, opset, dtype, data_shape):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOLERANCE)


# ----- Resizing -----------------------------------------------------------------------------------

RESIZE_TARGETS = {"up": (11, 13), "down": (4, 3), "odd_mixed": (7, 2), "same_size": (9, 6)}
RESIZE_OPTIONS = {"plain": {}, "crop": {"crop_to_aspect_ratio": True},
                  "pad": {"pad_to_aspect_ratio": True, "fill_value": 0.5},
                  "antialias": {"antialias": True}}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("option", list(RESIZE_OPTIONS))
@pytest.mark.parametrize("target", list(RESIZE_TARGETS))
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_resizing_matches_numpy(interpolation, target, option, data_format, opset):
    height, width = RESIZE_TARGETS[target]
    shape = (9, 6, 3) if data_format == "channels_last" else (3, 9, 6)
    layer = layers.Resizing(height, width, interpolation=interpolation, data_format=data_format,
                            **RESIZE_OPTIONS[option])
    assert_exports_like_numpy(layer, shape, opset)


@pytest.mark.parametrize("in_width, out_width", [(30, 9), (36, 10), (36, 39)])
def test_nearest_resizing_reads_the_same_cells_where_onnx_resize_rounds_the_other_way(
        in_width, out_width):
    # onnxruntime's Resize (half_pixel, round_prefer_ceil) picks a neighbouring cell for these
    # sizes through float rounding; the exported Gather reads exactly modelio's cells.
    layer = layers.Resizing(2, out_width, interpolation="nearest")
    for got, expected in exported_and_numpy(layer, (3, in_width, 2), 17):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_resizing_of_images_whose_size_is_known_only_at_run_time(interpolation, opset):
    x = modelio.Input((None, None, 2), name="x")
    model = modelio.Model(x, layers.Resizing(5, 4, interpolation=interpolation)(x))
    session = session_for(model, opset)
    for seed, size in enumerate([(7, 3), (2, 9), (5, 4)]):
        data = images((seed + 1, *size, 2), seed=seed)
        np.testing.assert_allclose(session.run(None, {"x": data})[0], model.predict(data),
                                   **TOLERANCE)


@pytest.mark.parametrize("opset", OPSETS)
def test_nearest_resizing_of_uint8_images_is_exact(opset):
    for got, expected in exported_and_numpy(layers.Resizing(5, 9, interpolation="nearest"),
                                            (6, 4, 3), opset, dtype="uint8"):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("opset", OPSETS)
def test_bilinear_resizing_of_uint8_images_is_rounded_back_like_numpy(opset):
    layer = layers.Resizing(5, 3, pad_to_aspect_ratio=True, fill_value=255.0)
    for got, expected in exported_and_numpy(layer, (7, 4, 3), opset, dtype="uint8"):
        # both round the float32 blend; an exact x.5 tie may land either way
        difference = np.abs(got.astype(np.int64) - expected.astype(np.int64))
        assert difference.max() <= 1 and (difference > 0).mean() < 0.05
        assert got.min() >= 0 and got.max() <= 255


def test_keras2_resizing_of_integer_images_exports_its_float_outputs():
    with keras2_semantics():
        layer = layers.Resizing.from_config({"name": "resize", "height": 3, "width": 5,
                                             "interpolation": "bilinear"})
    for got, expected in exported_and_numpy(layer, (4, 4, 1), 17, dtype="uint8"):
        assert expected.dtype == np.float32
        assert not np.allclose(expected, np.round(expected))  # really not rounded
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_aspect_ratio_and_antialias_need_known_image_sizes():
    x = modelio.Input((None, None, 3))
    for config in ({"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True},
                   {"antialias": True}):
        model = modelio.Model(x, layers.Resizing(4, 4, name="resize", **config)(x))
        with pytest.raises(modelio.UnsupportedError, match="resize.*known image sizes"):
            modelio.export_onnx(model)


def test_float64_images_are_refused_by_name():
    x = modelio.Input((4, 4, 3), dtype="float64")
    model = modelio.Model(x, layers.Resizing(2, 2, name="resize", dtype="float64")(x))
    with pytest.raises(modelio.UnsupportedError, match="resize.*float64"):
        modelio.export_onnx(model)


# ----- CenterCrop ----------------------------------------------------------------------------------

CENTER_CROP_CASES = {
    "inside": ((3, 4), (7, 8, 2), "channels_last"),
    "odd_margins_channels_first": ((2, 3), (2, 7, 6), "channels_first"),
    "whole_image": ((7, 8), (7, 8, 2), "channels_last"),
    "larger_target_resizes": ((9, 11), (7, 8, 2), "channels_last"),
    "larger_on_one_axis_resizes": ((3, 10), (7, 8, 2), "channels_last"),
    "larger_channels_first": ((8, 5), (2, 6, 5), "channels_first"),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", list(CENTER_CROP_CASES))
def test_center_crop_matches_numpy(case, opset):
    (height, width), shape, data_format = CENTER_CROP_CASES[case]
    assert_exports_like_numpy(layers.CenterCrop(height, width, data_format=data_format), shape,
                              opset)


@pytest.mark.parametrize("opset", OPSETS)
def test_center_crop_of_uint8_images_outputs_floats(opset):
    for got, expected in exported_and_numpy(layers.CenterCrop(4, 9), (6, 5, 1), opset,
                                            dtype="uint8"):
        assert got.dtype == expected.dtype == np.float32
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_center_crop_needs_known_image_sizes():
    x = modelio.Input((None, 8, 3))
    with pytest.raises(modelio.UnsupportedError, match="crop.*known image sizes"):
        modelio.export_onnx(modelio.Model(x, layers.CenterCrop(2, 2, name="crop")(x)))


# ----- Normalization -------------------------------------------------------------------------------

def adapted(data_shape, **config):
    layer = layers.Normalization(**config)
    layer.adapt(images(data_shape, seed=7) * 3.0 + 1.0)
    return layer


NORMALIZATION_CASES = {
    "given_per_channel": (lambda: layers.Normalization(mean=[0.5, -1.0, 2.0],
                                                       variance=[1.0, 4.0, 0.0]), (4, 3)),
    "given_scalars_axis_none": (lambda: layers.Normalization(axis=None, mean=2.0, variance=3.0),
                                (4, 3)),
    "given_invert": (lambda: layers.Normalization(mean=[0.5, -1.0, 2.0], variance=[1.0, 4.0, 0.25],
                                                  invert=True), (3,)),
    "adapted_last_axis": (lambda: adapted((20, 5)), (5,)),
    "adapted_axes_1_2": (lambda: adapted((20, 3, 4, 2), axis=[1, 2]), (3, 4, 2)),
    "adapted_axis_1_invert": (lambda: adapted((20, 4, 3), axis=1, invert=True), (4, 3)),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", list(NORMALIZATION_CASES))
def test_normalization_matches_numpy(case, opset):
    make, shape = NORMALIZATION_CASES[case]
    assert_exports_like_numpy(make(), shape, opset)


def test_normalization_of_integer_inputs_casts_them():
    layer = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    for got, expected in exported_and_numpy(layer, (3, 2), 17, dtype="int32"):
        np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_normalization_without_statistics_refuses_to_export():
    x = modelio.Input((3,))
    model = modelio.Model(x, layers.Normalization(name="norm")(x))
    with pytest.raises(modelio.ModelioError, match="norm.*no statistics"):
        modelio.export_onnx(model)


# ----- every preprocessing layer in one Keras model ---------------------------------------------

@pytest.mark.parametrize("opset", OPSETS)
def test_keras_layer_zoo_with_resizing_center_crop_and_normalizations_matches_keras(opset):
    model = modelio.load_model(FIXTURES / "keras3_files" / "layer_zoo.keras")
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"Resizing", "CenterCrop", "Normalization", "RMSNormalization"} <= kinds
    with np.load(FIXTURES / "keras3_files" / "layer_zoo.npz") as archive:
        recorded = dict(archive)
    inputs = {key[len("input:"):]: value for key, value in recorded.items()
              if key.startswith("input:")}
    session = session_for(model, opset)
    got = session.run(None, {tensor.name: inputs[tensor.name] for tensor in session.get_inputs()})
    np.testing.assert_allclose(got[0], recorded["output:0"], **TOLERANCE)
    np.testing.assert_allclose(got[0], model.predict(inputs), **TOLERANCE)
