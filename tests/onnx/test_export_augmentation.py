"""ONNX export of the augmentation layers: pass-through (Identity or Cast) for the layers that
change nothing at inference, ONNX arithmetic for AutoContrast and CLAHE, a clear refusal for a RandomCrop that would crop. Each
exported graph runs in onnxruntime against what Keras 3.15.1 computed
(fixtures/keras3/augmentation_cases.npz, the augmentation_* models in fixtures/keras3_files/) and
against modelio's numpy kernels."""

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from case_archive import load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.errors import UnsupportedError
from modelio.onnx.export import MAX_OPSET

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "fixtures" / "keras3_files"
BUFFERS, DOCUMENT = load_case_archive(ROOT / "fixtures" / "keras3" / "augmentation_cases.npz")
CLAHE = "ContrastLimitedAdaptiveHistogramEqualization"
CASES = {case["id"]: case for case in DOCUMENT["cases"]
         if case["class_name"] != "RandomCrop" and len(case["symbolic"][0]["shape"]) == 4}
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def run(model, inputs, opset=17):
    proto = modelio.export_onnx(model, opset=opset)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {tensor.name: value for tensor, value
                              in zip(session.get_inputs(), inputs)})


def single_layer_model(case):
    x = case_array = read_case_array(BUFFERS, case, "input:0")
    tensor = modelio.Input(x.shape[1:], dtype=str(case_array.dtype), name="images")
    layer = getattr(layers, case["class_name"])(**case["kwargs"])
    return modelio.Model(tensor, layer(tensor)), x


@pytest.mark.parametrize("case_id", list(CASES))
def test_exported_layer_matches_keras_and_numpy_in_onnxruntime(case_id):
    case = CASES[case_id]
    model, x = single_layer_model(case)
    (got,) = run(model, [x])
    # CLAHE: the TensorFlow backend's numbers, which modelio follows (the backends disagree)
    expected = read_case_array(BUFFERS, case, "tf_output" if case["class_name"] == CLAHE
                               else "output")
    declared = np.dtype(model.outputs[0].dtype)
    assert got.dtype == declared and got.shape == expected.shape
    np.testing.assert_allclose(got, expected.astype(declared), **TOLERANCE)
    np.testing.assert_allclose(got, model.predict(x).astype(declared), **TOLERANCE)


@pytest.mark.parametrize("opset", [13, MAX_OPSET])
@pytest.mark.parametrize("case_id", ["auto_contrast_unit_range", "clahe_uint8_clip_2"])
def test_computing_layers_export_at_old_and_new_opsets(case_id, opset):
    case = CASES[case_id]
    model, x = single_layer_model(case)
    (got,) = run(model, [x], opset)
    key = "tf_output" if case["class_name"] == CLAHE else "output"
    np.testing.assert_allclose(got, read_case_array(BUFFERS, case, key), **TOLERANCE)


def test_pass_through_layers_add_no_computation():
    tensor = modelio.Input((4, 4, 3), name="images")
    y = layers.RandomFlip()(layers.RandomRotation(0.2)(layers.RandomContrast(0.1)(tensor)))
    proto = modelio.export_onnx(modelio.Model(tensor, y))
    assert {node.op_type for node in proto.graph.node} <= {"Identity"}


def test_clahe_export_needs_known_image_sizes():
    tensor = modelio.Input((None, None, 3), name="images")
    layer = layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2),
                                                                name="local_contrast")
    with pytest.raises(UnsupportedError, match="local_contrast.*known size"):
        modelio.export_onnx(modelio.Model(tensor, layer(tensor)))


def test_pipeline_exports_its_layers_in_order():
    tensor = modelio.Input((5, 6, 3), name="images", dtype="uint8")
    pipeline = layers.Pipeline([layers.RandomFlip(), layers.AutoContrast()], name="pipe")
    model = modelio.Model(tensor, pipeline(tensor))
    x = read_case_array(BUFFERS, CASES["auto_contrast_uint8"], "input:0")
    (got,) = run(model, [x])
    np.testing.assert_allclose(got, read_case_array(BUFFERS, CASES["auto_contrast_uint8"],
                                                    "output"), **TOLERANCE)


def test_random_crop_export_is_refused_unless_the_crop_keeps_the_size():
    tensor = modelio.Input((5, 6, 3), name="images")
    with pytest.raises(UnsupportedError, match="cropper.*uncropped"):
        modelio.export_onnx(modelio.Model(tensor, layers.RandomCrop(3, 4, name="cropper")(tensor)))
    with pytest.raises(UnsupportedError, match="RandomCrop"):
        modelio.export_onnx(modelio.load_model(FILES / "onnx_refused" / "augmentation_crop.keras"))
    same = modelio.Model(tensor, layers.RandomCrop(5, 6, seed=1)(tensor))
    x = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
    np.testing.assert_array_equal(run(same, [x])[0], x)


@pytest.mark.parametrize("stem", ["augmentation_zoo", "augmentation_every_layer",
                                  "augmentation_contrast"])
def test_keras_written_model_exports_and_matches_keras(stem):
    with np.load(FILES / f"{stem}.npz") as archive:
        arrays = dict(archive)
    model = modelio.load_model(FILES / f"{stem}.keras")
    outputs = run(model, [arrays["input:image"]])
    for index, got in enumerate(outputs):
        # augmentation_contrast holds CLAHE: its outputs are the TensorFlow backend's numbers
        np.testing.assert_allclose(got, arrays[f"output:{index}"], **TOLERANCE)
