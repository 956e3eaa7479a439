"""Keras 3's Fourier transforms (keras.src.ops.math FFT, FFT2, IFFT2, RFFT, IRFFT, STFT, ISTFT)
against real Keras 3.15.1, from fixtures/keras3/ops_spectral_cases.npz written by
tools/ops_spectral_fixtures.py (torch backend): modelio rebuilds each model from Keras's
config, matches Keras's outputs (1e-5), writes the same config back and exports to ONNX (DFT
and STFT need opset 17; DFT's axis is an input from opset 20 on), whose onnxruntime outputs
match too. Where Keras's backends disagree, modelio matches the TensorFlow backend, whose
outputs `--tf-outputs` recorded in fixtures/keras3/ops_spectral_cases_tf.npz: STFT/ISTFT with
an odd sequence_length (tf.signal's odd "periodic" window is the symmetric one) and ISTFT
where the torch backend calls torch.istft (TensorFlow divides by the squared window summed
per hop, torch by the exact overlap, which differs at the edges); where TensorFlow returns
another shape than Keras declares (a `length` past the frames), modelio refuses. ISTFT cases
the torch backend fails on are recorded from the TensorFlow backend alone, in
fixtures/keras3/ops_spectral_cases_tf_only.npz. Bad arguments
and inputs are refused naming the operation; the operations that make complex tensors
(ViewAsComplex, ViewAsReal, Polar) stay refused, saying so. Never imports Keras."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array
from keras_op_cases import assert_outputs_match, case_inputs, check_op_case, predict_list
from ops_onnx import run_plain as run_onnx

import modelio
from modelio.errors import ConfigError, ModelioError, UnsupportedError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "ops_spectral_cases.npz"
BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}
with np.load(FIXTURE.with_name("ops_spectral_cases_tf.npz")) as _archive:
    TF_OUTPUTS = dict(_archive)
TF_DISAGREE = {entry["name"]: entry for entry in json.loads(
    TF_OUTPUTS.pop("disagree_json").tobytes().decode("utf-8"))["disagree"]}
# the TensorFlow backend returns another shape than Keras declares: modelio refuses
TF_SHAPE_DIFFERS = {name for name, entry in TF_DISAGREE.items() if entry["difference"] == "shape"}
TF_MATCHED = sorted(set(TF_DISAGREE) - TF_SHAPE_DIFFERS)
BACKENDS_AGREE = sorted(set(CASES) - set(TF_DISAGREE))
# ISTFT cases the torch backend fails on, recorded from the TensorFlow backend
TF_ONLY_BUFFERS, TF_ONLY_DOCUMENT = load_case_archive(
    FIXTURE.with_name("ops_spectral_cases_tf_only.npz"))
TF_ONLY = {case["name"]: case for case in TF_ONLY_DOCUMENT["cases"]}
# the cases whose export uses ONNX's DFT or STFT (opset 17), checked at newer opsets too
DFT_CASES = ["fft", "fft2_rank4", "ifft2_odd", "rfft_pad", "rfft_crop", "fft_float64",
             "stft_list_window_rank3", "istft_of_stft"]
# IRFFT and ISTFT lower to MatMul and overlap-add: any opset
ANY_OPSET_CASES = ["irfft_odd", "irfft_crop", "istft_random_rank4", "istft_list_window_length"]


def _config(name: str) -> dict:
    return copy.deepcopy(CASES[name]["config"])


def _entry(config: dict, class_name: str) -> dict:
    return next(entry for entry in config["layers"] if entry["class_name"] == class_name)


def _tf_outputs(name: str) -> list[np.ndarray]:
    return [TF_OUTPUTS[f"{name}:output_{index}"] for index in range(CASES[name]["n_outputs"])]


def _torch_outputs(name: str) -> list[np.ndarray]:
    return [read_case_array(BUFFERS, CASES[name], f"output_{index}")
            for index in range(CASES[name]["n_outputs"])]


def _expected(name: str) -> list[np.ndarray] | None:
    """The TensorFlow backend's outputs where the backends disagree, else None (recorded)."""
    return _tf_outputs(name) if name in TF_MATCHED else None


@pytest.mark.parametrize("name", BACKENDS_AGREE)
def test_spectral_case_matches_keras_and_onnxruntime(name):
    check_op_case(BUFFERS, CASES[name])


@pytest.mark.parametrize("name", TF_MATCHED)
def test_spectral_case_where_torch_backend_differs_matches_tensorflow_backend(name):
    """Keras's TensorFlow and torch backends give other numbers here: modelio (and its ONNX
    export) match the TensorFlow backend's."""
    expected, torch_outputs = _tf_outputs(name), _torch_outputs(name)
    assert [value.shape for value in expected] == [value.shape for value in torch_outputs]
    assert max(np.max(np.abs(a - b)) for a, b in zip(expected, torch_outputs)) > 1e-2
    check_op_case(BUFFERS, CASES[name], expected)


@pytest.mark.parametrize("name", sorted(TF_ONLY))
def test_istft_case_the_torch_backend_fails_on_matches_tensorflow_backend(name):
    torch_record = next(case for case in DOCUMENT["cases"] if case["name"] == name)
    assert "config" not in torch_record and "keras_error" in torch_record
    assert TF_ONLY_DOCUMENT["backend"] == "tensorflow"
    check_op_case(TF_ONLY_BUFFERS, TF_ONLY[name])


@pytest.mark.parametrize("name", sorted(TF_SHAPE_DIFFERS))
def test_istft_length_past_the_frames_is_refused_as_tensorflow_returns_fewer_samples(name):
    """Keras declares (and the torch backend zero-pads to) `length` samples; the TensorFlow
    backend returns only the samples the frames give."""
    length = _entry(_config(name), "ISTFT")["config"]["length"]
    tf_samples = _tf_outputs(name)[0].shape[-1]
    assert _torch_outputs(name)[0].shape[-1] == length > tf_samples
    with pytest.raises(ConfigError, match=f"ISTFT.*length {length} runs past the {tf_samples} "
                                          f"samples.*TensorFlow backend returns those only"):
        modelio.Model.from_config(CASES[name]["config"])


@pytest.mark.parametrize("opset", [20, 26])
@pytest.mark.parametrize("name", DFT_CASES)
def test_dft_and_stft_export_at_newer_opsets(name, opset):
    check_op_case(BUFFERS, CASES[name], _expected(name), opset=opset)


@pytest.mark.parametrize("name", ANY_OPSET_CASES)
def test_irfft_and_istft_export_at_opset_13(name):
    check_op_case(BUFFERS, CASES[name], _expected(name), opset=13)


@pytest.mark.parametrize("name, class_name", [("fft", "FFT"), ("ifft2", "IFFT2"),
                                              ("rfft", "RFFT"), ("stft", "STFT")])
def test_dft_and_stft_before_opset_17_are_refused_naming_the_opset(name, class_name):
    model = modelio.Model.from_config(CASES[name]["config"])
    with pytest.raises(UnsupportedError, match=f"{class_name}.*opset 17"):
        modelio.export_onnx(model, opset=16)


def test_every_recorded_case_is_checked():
    assert len(CASES) == 31 and len(DOCUMENT["cases"]) == 35
    assert set(TF_ONLY) == {case["name"] for case in DOCUMENT["cases"]} - set(CASES)
    assert all("config" in case and case["keras_reloads"] is True for case in TF_ONLY.values())
    assert set(TF_DISAGREE) <= set(CASES)
    assert set(TF_MATCHED) == {"stft_float64", "istft_float64", "istft_length_shorter",
                               "istft_random_rank4"}
    assert TF_SHAPE_DIFFERS == {"istft_length_longer"}
    assert set(DFT_CASES + ANY_OPSET_CASES) <= set(CASES)
    recorded = {class_name for case in CASES.values() for _, class_name in case["ops"]}
    assert {"FFT", "FFT2", "IFFT2", "RFFT", "IRFFT", "STFT", "ISTFT"} <= recorded
    assert all(case["keras_reloads"] is True for case in CASES.values())


@pytest.mark.parametrize("case, class_name, change, message", [
    ("rfft", "RFFT", {"fft_length": 0}, "fft_length must be an integer >= 1"),
    ("irfft", "IRFFT", {"fft_length": "8"}, "fft_length must be an integer"),
    ("rfft", "RFFT", {"fft_length": 10**12}, "fft_length 1000000000000 exceeds"),
    ("stft", "STFT", {"window": "kaiser"}, "window must be one of"),
    ("stft", "STFT", {"window": [1.0, 2.0]}, "must hold sequence_length"),
    ("stft", "STFT", {"fft_length": 4}, "must be >= sequence_length"),
    ("stft", "STFT", {"sequence_stride": 0}, "sequence_stride must be an integer >= 1"),
    ("stft", "STFT", {"center": "yes"}, "center must be true or false"),
    ("stft", "STFT", {"fft_length": 64, "center": False}, "holds no frame"),
    ("stft", "STFT", {"fft_length": 64}, "reflect-pads by 32"),
    ("istft_random_rank4", "ISTFT", {"length": -1}, "length must be an integer >= 0"),
    ("istft_random_rank4", "ISTFT", {"length": 0}, "length 0 leaves no samples"),
    ("istft_no_window_no_center", "ISTFT", {"length": 99}, "length 99 runs past"),
    ("istft_random_rank4", "ISTFT", {"fft_length": 1, "sequence_length": 1,
                                     "sequence_stride": 1}, "keeps x.*0:-0.*no samples"),
])
def test_bad_spectral_argument_is_refused_naming_the_operation(case, class_name, change,
                                                                message):
    config = _config(case)
    _entry(config, class_name)["config"].update(change)
    with pytest.raises(ConfigError, match=f"{class_name}.*{message}"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("case, dtype", [("fft", "int32"), ("rfft", "float16"),
                                         ("stft", "bfloat16")])
def test_non_float32_or_float64_inputs_are_refused(case, dtype):
    config = _config(case)
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            entry["config"]["dtype"] = dtype
    with pytest.raises(ModelioError, match="float32 and float64 tensors only"):
        modelio.Model.from_config(config)


def test_fft_of_parts_of_different_shapes_is_refused():
    config = _config("fft")
    next(entry for entry in config["layers"] if entry["name"] == "in1")[
        "config"]["batch_shape"] = [None, 3, 7]
    with pytest.raises(ConfigError, match="FFT.*one shape and dtype"):
        modelio.Model.from_config(config)


def test_istft_of_a_too_long_irfft_is_refused_at_export():
    config = _config("istft_no_window_no_center")
    _entry(config, "ISTFT")["config"].update(sequence_length=8192, fft_length=8192,
                                             sequence_stride=8192)
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            entry["config"]["batch_shape"] = [None, 1, 4097]
    model = modelio.Model.from_config(config)
    with pytest.raises(UnsupportedError, match="ISTFT.*needs a matrix of"):
        modelio.export_onnx(model)


def test_eager_predict_of_too_short_signal_never_runs():
    model = modelio.Model.from_config(_config("stft"))
    with pytest.raises(ModelioError):
        predict_list(model, [case_inputs(BUFFERS, CASES["stft"])[0][:, :3]])


@pytest.mark.parametrize("class_name, module", [("ViewAsComplex", "keras.src.ops.math"),
                                                ("ViewAsReal", "keras.src.ops.math"),
                                                ("Polar", "keras.src.ops.nn")])
def test_complex_valued_operations_stay_refused_naming_complex_dtypes(class_name, module):
    config = _config("rfft")
    entry = _entry(config, "RFFT")
    entry.update(class_name=class_name, module=module, registered_name=class_name)
    entry["config"] = {"name": entry["config"]["name"]}
    with pytest.raises(UnsupportedError, match=f"Keras operation '{class_name}'.*complex"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("case, class_name", [("irfft_odd", "IRFFT"), ("fft_odd_length", "FFT"),
                                              ("istft_float64", "ISTFT")])
def test_constant_imaginary_part_runs_and_exports(case, class_name):
    """A numpy imaginary part (Keras records it as __numpy__; it needs a fixed batch size)."""
    config = _config(case)
    real = case_inputs(BUFFERS, CASES[case])[0]
    imag = np.linspace(-1.0, 1.0, real.size).reshape(real.shape).astype(real.dtype)
    config["layers"] = [entry for entry in config["layers"] if entry["name"] != "in1"]
    config["input_layers"] = [["in0", 0, 0]]
    config["layers"][0]["config"]["batch_shape"] = list(real.shape)
    node = _entry(config, class_name)["inbound_nodes"][0]
    node["args"][0][0]["config"]["shape"] = list(real.shape)
    node["args"][0][1] = {"class_name": "__numpy__",
                          "config": {"value": imag.tolist(), "dtype": real.dtype.name}}
    model = modelio.Model.from_config(config)
    expected = predict_list(modelio.Model.from_config(CASES[case]["config"]), [real, imag])
    assert_outputs_match(predict_list(model, [real]), expected)
    proto = modelio.export_onnx(model)
    assert_outputs_match([np.asarray(value) for value in
                          run_onnx(proto, {proto.graph.input[0].name: real})], expected)
