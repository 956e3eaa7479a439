"""Keras 3 operations (keras.ops calls recorded in functional models) against real Keras 3.15.1.

Each case of fixtures/keras3/ops_cases.npz (written by tools/ops_case_fixtures.py with the torch
backend) holds a tiny functional model's config, inputs and Keras's outputs. Here modelio
rebuilds each model from Keras's config, matches Keras's outputs (1e-5), writes the same config
back, and exports it to ONNX, whose onnxruntime outputs match too. Never imports Keras.
"""

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
from ops_onnx import run_plain as run_onnx

import modelio
from modelio.errors import UnsupportedError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "keras3" / "ops_cases.npz"
TF_FIXTURE = FIXTURE.with_name("ops_cases_tf.npz")
BUFFERS, DOCUMENT = load_case_archive(FIXTURE)
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}

# Keras's torch backend disagrees with its TensorFlow backend here (see
# tools/ops_case_fixtures.py BACKENDS_DISAGREE): torch's `dot` of N-D tensors is a batched
# matmul, its `count_nonzero` transposes the result, its TopK indices are int64. modelio matches
# the TensorFlow backend's outputs, recorded in fixtures/keras3/ops_cases_tf.npz.
TORCH_ONLY = {"dot", "count_nonzero_axis"}
# no ONNX export: the reason appears in the UnsupportedError
NO_ONNX = {"cumprod": "cumulative product", "inv": "matrix inverse",
           "gcd_lcm": "greatest common divisor", "solve": "solvers", "cholesky": "solvers",
           "pinv_rank": "solvers", "logdet": "solvers"}
with np.load(TF_FIXTURE) as _archive:
    TF_OUTPUTS = dict(_archive)
OPSETS = {"bitwise": 18}  # ONNX's BitwiseAnd/Or/Xor
MATCHED = [name for name in CASES if name not in TORCH_ONLY]


def _inputs(case):
    return case_inputs(BUFFERS, case)


def _expected(case):
    """Keras's outputs (the TensorFlow backend's where the torch backend differs)."""
    keys = [f"{case['name']}:output_{index}" for index in range(case["n_outputs"])]
    if all(key in TF_OUTPUTS for key in keys):
        return [TF_OUTPUTS[key] for key in keys]
    return case_outputs(BUFFERS, case)


_predict = predict_list
_check = assert_outputs_match


@pytest.mark.parametrize("name", MATCHED)
def test_keras_op_case_matches_keras_and_onnxruntime(name):
    case = CASES[name]
    if name not in NO_ONNX:
        check_op_case(BUFFERS, case, _expected(case), opset=OPSETS.get(name))
        return
    model = modelio.Model.from_config(case["config"])
    _check(_predict(model, _inputs(case)), _expected(case))
    assert_config_written_back(model, case)
    with pytest.raises(UnsupportedError, match=NO_ONNX[name]):
        modelio.export_onnx(model)


@pytest.mark.parametrize("name", sorted(TORCH_ONLY))
def test_keras_op_where_torch_backend_differs_matches_tensorflow_backend(name):
    case = CASES[name]
    torch_outputs = [read_case_array(BUFFERS, case, "output_0")]
    expected = _expected(case)
    assert torch_outputs[0].shape != expected[0].shape  # the backends do disagree
    model = modelio.Model.from_config(case["config"])
    inputs = _inputs(case)
    _check(_predict(model, inputs), expected)
    proto = modelio.export_onnx(model)
    feeds = {tensor.name: value for tensor, value in zip(proto.graph.input, inputs)}
    _check([np.asarray(value) for value in run_onnx(proto, feeds)], expected)


def test_every_recorded_case_is_checked():
    assert set(CASES) == set(MATCHED) | TORCH_ONLY
    skipped = [case["name"] for case in DOCUMENT["cases"] if "config" not in case]
    # the torch backend cannot slice with negative steps, nor take the imaginary part of reals
    assert skipped == ["getitem_reverse", "imag"]
