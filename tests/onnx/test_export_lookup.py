"""ONNX export of the encoding, lookup and audio layers: every recorded Keras case
(fixtures/keras3/{encoding,lookup,audio}_cases.npz) is exported as a one-layer model, run in
onnxruntime (at opset 13, 17 or the newest, in turn), and compared with Keras's output; what ONNX cannot
express is refused at export (only), naming the layer and the reason."""

import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

import modelio
from modelio.errors import UnsupportedError
from modelio.onnx.export import MAX_OPSET

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
from preprocessing_case_support import CaseFamily  # noqa: E402

FAMILIES = {name: CaseFamily(name) for name in ("encoding", "lookup", "audio")}
OPSETS = [13, 17, MAX_OPSET]
# What export refuses, by case id prefix, and the words the refusal must contain.
REFUSED = {
    "hashing_": "FarmHash / SipHash", "hashed_crossing_": "FarmHash / SipHash",
    "text_vectorization_": "standardization", "string_lookup_mask_two_oov": "OOV buckets hash",
    "string_lookup_salted_oov": "OOV buckets hash", "integer_lookup_farmhash_oov":
    "OOV buckets hash", "string_lookup_no_oov": "num_oov_indices=0",
    "mel_rank1": "batched signals",
}


def refusal(case_id: str):
    return next((words for prefix, words in REFUSED.items() if case_id.startswith(prefix)), None)


def all_cases():
    return [(family, case_id) for family, cases in FAMILIES.items() for case_id in cases.cases]


def one_layer_model(family: CaseFamily, case: dict):
    inputs = family.inputs(case)
    tensors = [modelio.Input(batch_shape=(None, *array.shape[1:]), name=f"x{index}",
                             dtype="string" if array.dtype.kind == "U" else str(array.dtype))
               for index, array in enumerate(inputs)]
    layer = family.layer(case)
    outputs = layer(tensors if case["multi"] else tensors[0])
    feed = {f"x{index}": array.astype(object) if array.dtype.kind == "U" else array
            for index, array in enumerate(inputs)}
    return modelio.Model(tensors, outputs), feed


# One opset per case, in turn 13, 17 and the newest, to keep the tests fast.
EXPORTED = [(*pair, OPSETS[index % len(OPSETS)]) for index, pair in
            enumerate(pair for pair in all_cases() if refusal(pair[1]) is None)]
REFUSED_CASES = [pair for pair in all_cases() if refusal(pair[1]) is not None]


@pytest.mark.parametrize("family_name, case_id, opset", EXPORTED)
def test_export_runs_in_onnxruntime_like_keras(family_name, case_id, opset):
    family = FAMILIES[family_name]
    case = family.cases[case_id]
    model, feed = one_layer_model(family, case)
    proto = modelio.export_onnx(model, opset=opset)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    got = session.run(None, feed)[0]
    expected = family.value(case, "output")
    if expected.dtype.kind == "U":
        np.testing.assert_array_equal(got.astype(str), expected)
        return
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if case.get("keras_config", {}).get("mode") == "angle":
        # Angles compare on the circle: at the branch cut (the Nyquist bin of a real signal,
        # whose imaginary part is rounding noise around 0) +pi and -pi are the same angle, and
        # which one a backend returns depends on its summation order.
        got = np.angle(np.exp(1j * (got.astype(np.float64) - expected)))
        expected = np.zeros_like(got)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("family_name, case_id", REFUSED_CASES)
def test_export_refuses_what_onnx_cannot_express(family_name, case_id):
    family = FAMILIES[family_name]
    case = family.cases[case_id]
    model, feed = one_layer_model(family, case)
    model.predict(feed if len(feed) > 1 else next(iter(feed.values())))  # it runs in numpy
    with pytest.raises(UnsupportedError, match=refusal(case_id)) as info:
        modelio.export_onnx(model)
    assert case["class_name"] in str(info.value)


def test_lookup_export_imports_the_onnx_ml_domain():
    family = FAMILIES["lookup"]
    model, _ = one_layer_model(family, family.cases["string_lookup_vocab"])
    proto = modelio.export_onnx(model)
    assert {(entry.domain, entry.version) for entry in proto.opset_import} >= {
        ("ai.onnx.ml", 3)}
    numeric, _ = one_layer_model(FAMILIES["encoding"],
                                 FAMILIES["encoding"].cases["discretization_int"])
    assert [entry.domain for entry in modelio.export_onnx(numeric).opset_import] == [""]


def test_exported_angle_is_atan2_on_the_axes_and_everywhere_else():
    from modelio import layers

    x = modelio.Input((8, 1), name="x")
    layer = layers.STFTSpectrogram(mode="angle", frame_length=2, frame_step=2, fft_length=2,
                                   window=None, scaling=None)
    model = modelio.Model(x, layer(x))
    real = np.zeros((2, 1, 2), "float32")
    imag = np.zeros((2, 1, 2), "float32")
    real[0, 0, :], imag[1, 0, :] = 1.0, 1.0  # real part = first sample, imaginary = second
    layer.real_kernel.assign(real)
    layer.imag_kernel.assign(imag)
    pairs = np.array([[0, 0], [-2, 0], [3, 0], [0, 2], [0, -1], [-1, 1e-3], [-1, -1e-3],
                      [1.5, -2.5]], "float32")
    signal = pairs.reshape(2, 8, 1)
    expected = np.arctan2(pairs[:, 1], pairs[:, 0]).reshape(2, 4)
    np.testing.assert_allclose(model.predict(signal)[..., 0], expected, atol=1e-6)
    got = onnxruntime.InferenceSession(modelio.export_onnx(model).SerializeToString(),
                                       providers=["CPUExecutionProvider"]).run(None, {"x": signal})
    np.testing.assert_allclose(got[0][..., 0], expected, atol=1e-5)
