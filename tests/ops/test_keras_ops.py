"""Keras 3 operations (keras.ops calls recorded in functional models) against real Keras 3.15.1.

Each case of fixtures/keras3/ops_cases.npz (written by tools/ops_case_fixtures.py with the torch
backend) holds a tiny functional model's config, inputs and Keras's outputs. Here modelio
rebuilds each model from Keras's config, matches Keras's outputs (1e-5), writes the same config
back, and exports it to ONNX, whose onnxruntime outputs match too. Never imports Keras.
"""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from case_archive import load_case_archive, read_case_array
from ops_onnx import run_plain as run_onnx

import modelio
from modelio.errors import UnsupportedError
from modelio.graph.registry import OPERATION_CLASSES

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "ops_cases.npz"
TF_FIXTURE = FIXTURE.with_name("ops_cases_tf.npz")
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}

# Keras's torch backend disagrees with its TensorFlow backend here (see
# tools/ops_case_fixtures.py BACKENDS_DISAGREE): torch's `dot` of N-D tensors is a batched
# matmul, its `count_nonzero` transposes the result, its TopK indices are int64. modelio matches
# the TensorFlow backend's outputs, recorded in fixtures/keras3/ops_cases_tf.npz.
TORCH_ONLY = {"dot", "count_nonzero_axis"}
# operations modelio refuses by name (no numpy kernel matching Keras, see the report)
REFUSED = {"erfinv": "Erfinv", "rgb_to_hsv": "RGBToHSV", "extract_patches": "ExtractPatches"}
# no ONNX export: the reason appears in the UnsupportedError
NO_ONNX = {"cumprod": "cumulative product", "inv": "matrix inverse",
           "gcd_lcm": "greatest common divisor", "solve": "solvers", "cholesky": "solvers",
           "pinv_rank": "solvers", "logdet": "solvers"}
with np.load(TF_FIXTURE) as _archive:
    TF_OUTPUTS = dict(_archive)
OPSETS = {"bitwise": 18}  # ONNX's BitwiseAnd/Or/Xor
MATCHED = [name for name in CASES if name not in TORCH_ONLY and name not in REFUSED]


def _inputs(case):
    return [read_case_array(BUFFERS, case, f"input_{index}") for index in range(case["n_inputs"])]


def _expected(case):
    """Keras's outputs (the TensorFlow backend's where the torch backend differs)."""
    keys = [f"{case['name']}:output_{index}" for index in range(case["n_outputs"])]
    if all(key in TF_OUTPUTS for key in keys):
        return [TF_OUTPUTS[key] for key in keys]
    return [read_case_array(BUFFERS, case, f"output_{index}")
            for index in range(case["n_outputs"])]


def _predict(model, inputs):
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0])
    return outputs if isinstance(outputs, list) else [outputs]


def _check(outputs, expected, name):
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == want.shape
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **TOLERANCE)


@pytest.mark.parametrize("name", MATCHED)
def test_keras_op_case_matches_keras_and_onnxruntime(name):
    case = CASES[name]
    model = modelio.Model.from_config(case["config"])
    inputs, expected = _inputs(case), _expected(case)
    _check(_predict(model, inputs), expected, name)
    # the config modelio writes is Keras's, operation entries and call arguments included
    written = json.loads(json.dumps(model.get_config()))
    keras_ops = [entry for entry in case["config"]["layers"] if ".ops." in entry["module"]]
    modelio_ops = [entry for entry in written["layers"] if ".ops." in entry["module"]]
    assert [(e["module"], e["class_name"], e["config"]) for e in modelio_ops] == \
        [(e["module"], e["class_name"], e["config"]) for e in keras_ops]
    assert [e["inbound_nodes"] for e in modelio_ops] == [e["inbound_nodes"] for e in keras_ops]
    if name in NO_ONNX:
        with pytest.raises(UnsupportedError, match=NO_ONNX[name]):
            modelio.export_onnx(model)
        return
    proto = modelio.export_onnx(model, opset=OPSETS.get(name))
    onnx.checker.check_model(proto)
    feeds = {tensor.name: value for tensor, value in zip(proto.graph.input, inputs)}
    _check([np.asarray(value) for value in run_onnx(proto, feeds)], expected, name)


@pytest.mark.parametrize("name", sorted(TORCH_ONLY))
def test_keras_op_where_torch_backend_differs_matches_tensorflow_backend(name):
    case = CASES[name]
    torch_outputs = [read_case_array(BUFFERS, case, "output_0")]
    expected = _expected(case)
    assert torch_outputs[0].shape != expected[0].shape  # the backends do disagree
    model = modelio.Model.from_config(case["config"])
    inputs = _inputs(case)
    _check(_predict(model, inputs), expected, name)
    proto = modelio.export_onnx(model)
    feeds = {tensor.name: value for tensor, value in zip(proto.graph.input, inputs)}
    _check([np.asarray(value) for value in run_onnx(proto, feeds)], expected, name)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_keras_op_is_refused_by_name(name):
    assert REFUSED[name] not in OPERATION_CLASSES
    with pytest.raises(UnsupportedError, match=f"Keras operation '{REFUSED[name]}'"):
        modelio.Model.from_config(CASES[name]["config"])


def test_every_recorded_case_is_checked():
    assert set(CASES) == set(MATCHED) | TORCH_ONLY | set(REFUSED)
    skipped = [case["name"] for case in DOCUMENT["cases"] if "config" not in case]
    # the torch backend cannot slice with negative steps, nor take the imaginary part of reals
    assert skipped == ["getitem_reverse", "imag"]
