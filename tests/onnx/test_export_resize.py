"""ONNX export of Resizing and UpSampling2D with "bicubic", "lanczos3", "lanczos5" and "area" (a
constant weight matrix per spatial axis, applied with Einsum), and of AveragePooling with uneven
"same" padding: each recorded case of fixtures/keras3/resize_cases.npz runs in onnxruntime and
matches modelio's numpy result and Keras 3's TensorFlow-backend output (1e-4), which modelio
follows where Keras's backends disagree (see tests/layers/test_resize_interpolations.py)."""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.graph import keras2_semantics
from modelio.onnx.export import MAX_OPSET

ROOT = Path(__file__).resolve().parents[2]
BUFFERS, DOCUMENT = load_case_archive(ROOT / "fixtures" / "keras3" / "resize_cases.npz")
CASES = {case["id"]: case for case in DOCUMENT["cases"]
         if "keras_error" not in case and len(case["inputs"][0]) >= 3 and case["symbolic"]}
MODELS = ROOT / "fixtures" / "keras3_resize"
KERAS2_CASES = {case["id"]: case for case in json.loads(
    (ROOT / "fixtures" / "keras2" / "resize_configs.json").read_text(encoding="utf-8"))["cases"]}
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def case_model(case: dict):
    shape = case["inputs"][0]
    x = modelio.Input(shape[1:], name="x", dtype=case["dtype"])
    layer = getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))
    return modelio.Model(x, layer(x))


@pytest.mark.parametrize("case_id", list(CASES))
def test_exported_case_matches_numpy_and_the_tensorflow_backend(case_id):
    # Einsum with constants reads the same at every opset from 12; cases alternate 13 and newest
    case = CASES[case_id]
    opset = (13, MAX_OPSET)[list(CASES).index(case_id) % 2]
    model = case_model(case)
    x = read_case_array(BUFFERS, case, "input:0")
    (got,) = run_onnx(modelio.export_onnx(model, opset=opset), {"x": x})
    numpy_output = model.predict(x)
    assert got.shape == numpy_output.shape
    np.testing.assert_allclose(got, numpy_output.astype(got.dtype), **TOLERANCE)
    np.testing.assert_allclose(got, read_case_array(BUFFERS, case, "output"), **TOLERANCE)


def test_every_new_interpolation_is_exported():
    kinds = {case["kwargs"].get("interpolation", "").lower() for case in CASES.values()}
    assert {"bicubic", "lanczos3", "lanczos5", "area"} <= kinds


@pytest.mark.parametrize("name", ["resize_interpolations", "resize_tensorflow_only"])
def test_keras_file_exports_and_matches_the_tensorflow_backend(name):
    with np.load(MODELS / f"{name}.npz") as archive:
        arrays = dict(archive)
    model = modelio.load_model(MODELS / f"{name}.keras")
    got = run_onnx(modelio.export_onnx(model, opset=17), {"image": arrays["input:image"]})
    for index, output in enumerate(got):
        np.testing.assert_allclose(output, arrays[f"output:{index}"], **TOLERANCE)


@pytest.mark.parametrize("case_id", list(KERAS2_CASES))
def test_exported_tf_keras_case_matches_numpy_and_tf_keras(case_id):
    # gaussian and mitchellcubic included (tf-keras only); a same-size gaussian still blurs.
    case = KERAS2_CASES[case_id]
    x = np.asarray(case["input"], dtype=case["input_dtype"])
    inputs = modelio.Input(x.shape[1:], name="x", dtype=case["input_dtype"])
    with keras2_semantics():
        layer = getattr(layers, case["class_name"]).from_config(dict(case["config"]))
    model = modelio.Model(inputs, layer(inputs))
    (got,) = run_onnx(modelio.export_onnx(model, opset=17), {"x": x})
    np.testing.assert_allclose(got, model.predict(x), **TOLERANCE)
    np.testing.assert_allclose(got, np.asarray(case["output"], np.float32), **TOLERANCE)


@pytest.mark.parametrize("make_layer", [
    lambda: layers.Resizing(4, 5, interpolation="bicubic", name="suspect"),
    lambda: layers.Resizing(4, 5, interpolation="area", crop_to_aspect_ratio=False,
                            name="suspect"),
    lambda: layers.UpSampling2D(2, interpolation="lanczos3", name="suspect"),
])
def test_unknown_image_size_is_refused_at_export_naming_the_layer(make_layer):
    x = modelio.Input((None, None, 3), name="x")
    model = modelio.Model(x, make_layer()(x))
    with pytest.raises(modelio.UnsupportedError, match="suspect.*known image sizes"):
        modelio.export_onnx(model, opset=17)


def test_one_exported_graph_serves_batches_of_one_and_five():
    x = modelio.Input((5, 7, 2), name="x", dtype="uint8")
    model = modelio.Model(x, [layers.Resizing(8, 3, interpolation="lanczos5", antialias=True)(x),
                              layers.UpSampling2D(2, interpolation="bicubic")(x)])
    proto = modelio.export_onnx(model, opset=MAX_OPSET)
    for batch in (1, 5):
        data = np.random.default_rng(batch).integers(0, 256, (batch, 5, 7, 2)).astype(np.uint8)
        for got, expected in zip(run_onnx(proto, {"x": data}), model.predict(data)):
            np.testing.assert_array_equal(got, expected)
