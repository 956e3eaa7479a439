"""The ONNX project's conformance data through modelio's importer.

Every selected case (onnx_conformance_cases.py: the single-node cases of the ops issue 7 lists
plus the core shape/math ops, their function-expanded variants, and the pytorch-converted
models) whose ops all have a converter
either matches its recorded outputs to the case's tolerances or is listed in EXPECTED_REFUSALS
and refused with a ModelioError. Cases of ops without a converter yet are skipped and shown as
"not imported" by tools/onnx_conformance.py.
"""

import pytest
from onnx_conformance_cases import check_case, node_cases, pytorch_cases

from modelio.errors import ModelioError
from modelio.onnx.importer import CONVERTERS


def no_numpy_dtype(onnx_type: str) -> str:
    return f"element type {onnx_type} has no numpy dtype"


def run_time_quantized_input(onnx_type: str) -> str:
    return f"a run-time {onnx_type} input (Keras tensors do not hold it; constants fold)"


TRAINING_DROPOUT = "training_mode is a run-time input: training-mode dropout is random"
TRAINING_BATCHNORM = "training-mode BatchNormalization (running-statistics outputs)"

# case name -> why modelio refuses it. Each of these must raise a ModelioError.
EXPECTED_REFUSALS = {
    "test_cast_BFLOAT16_to_FLOAT": no_numpy_dtype("BFLOAT16"),
    "test_cast_FLOAT_to_BFLOAT16": no_numpy_dtype("BFLOAT16"),
    "test_castlike_BFLOAT16_to_FLOAT_expanded": no_numpy_dtype("BFLOAT16"),
    "test_castlike_FLOAT_to_BFLOAT16_expanded": no_numpy_dtype("BFLOAT16"),
    "test_range_bfloat16_type_positive_delta": no_numpy_dtype("BFLOAT16"),
    "test_cast_FLOAT16_to_FLOAT4E2M1": no_numpy_dtype("FLOAT4E2M1"),
    "test_cast_FLOAT4E2M1_to_FLOAT": no_numpy_dtype("FLOAT4E2M1"),
    "test_cast_FLOAT4E2M1_to_FLOAT16": no_numpy_dtype("FLOAT4E2M1"),
    "test_cast_FLOAT_to_FLOAT4E2M1": no_numpy_dtype("FLOAT4E2M1"),
    "test_castlike_FLOAT16_to_FLOAT4E2M1_expanded": no_numpy_dtype("FLOAT4E2M1"),
    "test_castlike_FLOAT4E2M1_to_FLOAT16_expanded": no_numpy_dtype("FLOAT4E2M1"),
    "test_castlike_FLOAT4E2M1_to_FLOAT_expanded": no_numpy_dtype("FLOAT4E2M1"),
    "test_castlike_FLOAT_to_FLOAT4E2M1_expanded": no_numpy_dtype("FLOAT4E2M1"),
    "test_cast_FLOAT16_to_FLOAT8E4M3FN": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_cast_FLOAT8E4M3FN_to_FLOAT": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_cast_FLOAT8E4M3FN_to_FLOAT16": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_cast_FLOAT_to_FLOAT8E4M3FN": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FN": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_castlike_FLOAT16_to_FLOAT8E4M3FN_expanded": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_castlike_FLOAT8E4M3FN_to_FLOAT16_expanded": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_castlike_FLOAT8E4M3FN_to_FLOAT_expanded": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_castlike_FLOAT_to_FLOAT8E4M3FN_expanded": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FN_expanded": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FN_expanded": no_numpy_dtype("FLOAT8E4M3FN"),
    "test_cast_FLOAT16_to_FLOAT8E4M3FNUZ": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_cast_FLOAT8E4M3FNUZ_to_FLOAT": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_cast_FLOAT8E4M3FNUZ_to_FLOAT16": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_cast_FLOAT_to_FLOAT8E4M3FNUZ": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_castlike_FLOAT16_to_FLOAT8E4M3FNUZ_expanded": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_castlike_FLOAT8E4M3FNUZ_to_FLOAT16_expanded": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_castlike_FLOAT8E4M3FNUZ_to_FLOAT_expanded": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_castlike_FLOAT_to_FLOAT8E4M3FNUZ_expanded": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ_expanded": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ_expanded": no_numpy_dtype("FLOAT8E4M3FNUZ"),
    "test_cast_FLOAT16_to_FLOAT8E5M2": no_numpy_dtype("FLOAT8E5M2"),
    "test_cast_FLOAT8E5M2_to_FLOAT": no_numpy_dtype("FLOAT8E5M2"),
    "test_cast_FLOAT8E5M2_to_FLOAT16": no_numpy_dtype("FLOAT8E5M2"),
    "test_cast_FLOAT_to_FLOAT8E5M2": no_numpy_dtype("FLOAT8E5M2"),
    "test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2": no_numpy_dtype("FLOAT8E5M2"),
    "test_cast_no_saturate_FLOAT_to_FLOAT8E5M2": no_numpy_dtype("FLOAT8E5M2"),
    "test_castlike_FLOAT16_to_FLOAT8E5M2_expanded": no_numpy_dtype("FLOAT8E5M2"),
    "test_castlike_FLOAT8E5M2_to_FLOAT16_expanded": no_numpy_dtype("FLOAT8E5M2"),
    "test_castlike_FLOAT8E5M2_to_FLOAT_expanded": no_numpy_dtype("FLOAT8E5M2"),
    "test_castlike_FLOAT_to_FLOAT8E5M2_expanded": no_numpy_dtype("FLOAT8E5M2"),
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2_expanded": no_numpy_dtype("FLOAT8E5M2"),
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2_expanded": no_numpy_dtype("FLOAT8E5M2"),
    "test_cast_FLOAT16_to_FLOAT8E5M2FNUZ": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_cast_FLOAT8E5M2FNUZ_to_FLOAT": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_cast_FLOAT8E5M2FNUZ_to_FLOAT16": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_cast_FLOAT_to_FLOAT8E5M2FNUZ": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_cast_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_castlike_FLOAT16_to_FLOAT8E5M2FNUZ_expanded": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_castlike_FLOAT8E5M2FNUZ_to_FLOAT16_expanded": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_castlike_FLOAT8E5M2FNUZ_to_FLOAT_expanded": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_castlike_FLOAT_to_FLOAT8E5M2FNUZ_expanded": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ_expanded": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ_expanded": no_numpy_dtype("FLOAT8E5M2FNUZ"),
    "test_cast_e8m0_FLOAT16_to_FLOAT8E8M0": no_numpy_dtype("FLOAT8E8M0"),
    "test_cast_e8m0_FLOAT8E8M0_to_FLOAT": no_numpy_dtype("FLOAT8E8M0"),
    "test_cast_e8m0_FLOAT8E8M0_to_FLOAT16": no_numpy_dtype("FLOAT8E8M0"),
    "test_cast_e8m0_FLOAT_to_FLOAT8E8M0": no_numpy_dtype("FLOAT8E8M0"),
    "test_cast_FLOAT16_to_INT2": no_numpy_dtype("INT2"),
    "test_cast_FLOAT_to_INT2": no_numpy_dtype("INT2"),
    "test_cast_INT2_to_FLOAT": no_numpy_dtype("INT2"),
    "test_cast_INT2_to_FLOAT16": no_numpy_dtype("INT2"),
    "test_cast_INT2_to_INT8": no_numpy_dtype("INT2"),
    "test_castlike_FLOAT16_to_INT2_expanded": no_numpy_dtype("INT2"),
    "test_castlike_FLOAT_to_INT2_expanded": no_numpy_dtype("INT2"),
    "test_castlike_INT2_to_FLOAT16_expanded": no_numpy_dtype("INT2"),
    "test_castlike_INT2_to_FLOAT_expanded": no_numpy_dtype("INT2"),
    "test_castlike_INT2_to_INT8_expanded": no_numpy_dtype("INT2"),
    "test_cast_FLOAT16_to_INT4": no_numpy_dtype("INT4"),
    "test_cast_FLOAT_to_INT4": no_numpy_dtype("INT4"),
    "test_cast_INT4_to_FLOAT": no_numpy_dtype("INT4"),
    "test_cast_INT4_to_FLOAT16": no_numpy_dtype("INT4"),
    "test_cast_INT4_to_INT8": no_numpy_dtype("INT4"),
    "test_castlike_FLOAT16_to_INT4_expanded": no_numpy_dtype("INT4"),
    "test_castlike_FLOAT_to_INT4_expanded": no_numpy_dtype("INT4"),
    "test_castlike_INT4_to_FLOAT16_expanded": no_numpy_dtype("INT4"),
    "test_castlike_INT4_to_FLOAT_expanded": no_numpy_dtype("INT4"),
    "test_castlike_INT4_to_INT8_expanded": no_numpy_dtype("INT4"),
    "test_equal_string": no_numpy_dtype("STRING"),
    "test_equal_string_broadcast": no_numpy_dtype("STRING"),
    "test_cast_FLOAT16_to_UINT2": no_numpy_dtype("UINT2"),
    "test_cast_FLOAT_to_UINT2": no_numpy_dtype("UINT2"),
    "test_cast_UINT2_to_FLOAT": no_numpy_dtype("UINT2"),
    "test_cast_UINT2_to_FLOAT16": no_numpy_dtype("UINT2"),
    "test_cast_UINT2_to_UINT8": no_numpy_dtype("UINT2"),
    "test_castlike_FLOAT16_to_UINT2_expanded": no_numpy_dtype("UINT2"),
    "test_castlike_FLOAT_to_UINT2_expanded": no_numpy_dtype("UINT2"),
    "test_castlike_UINT2_to_FLOAT16_expanded": no_numpy_dtype("UINT2"),
    "test_castlike_UINT2_to_FLOAT_expanded": no_numpy_dtype("UINT2"),
    "test_castlike_UINT2_to_UINT8_expanded": no_numpy_dtype("UINT2"),
    "test_cast_FLOAT16_to_UINT4": no_numpy_dtype("UINT4"),
    "test_cast_FLOAT_to_UINT4": no_numpy_dtype("UINT4"),
    "test_cast_UINT4_to_FLOAT": no_numpy_dtype("UINT4"),
    "test_cast_UINT4_to_FLOAT16": no_numpy_dtype("UINT4"),
    "test_cast_UINT4_to_UINT8": no_numpy_dtype("UINT4"),
    "test_castlike_FLOAT16_to_UINT4_expanded": no_numpy_dtype("UINT4"),
    "test_castlike_FLOAT_to_UINT4_expanded": no_numpy_dtype("UINT4"),
    "test_castlike_UINT4_to_FLOAT16_expanded": no_numpy_dtype("UINT4"),
    "test_castlike_UINT4_to_FLOAT_expanded": no_numpy_dtype("UINT4"),
    "test_castlike_UINT4_to_UINT8_expanded": no_numpy_dtype("UINT4"),
    "test_identity_opt": "an optional-typed input (modelio inputs are tensors)",
    "test_identity_sequence": "a sequence-typed input (modelio inputs are tensors)",
    "test_constant": "a graph without inputs (modelio models compute outputs from inputs)",
    "test_batchnorm_epsilon_training_mode": TRAINING_BATCHNORM,
    "test_batchnorm_example_training_mode": TRAINING_BATCHNORM,
    "test_training_dropout": TRAINING_DROPOUT,
    "test_training_dropout_default": TRAINING_DROPOUT,
    "test_training_dropout_default_mask": TRAINING_DROPOUT,
    "test_training_dropout_mask": TRAINING_DROPOUT,
    "test_training_dropout_zero_ratio": TRAINING_DROPOUT,
    "test_training_dropout_zero_ratio_mask": TRAINING_DROPOUT,
    "test_lstm_with_peepholes": "sequence_lens given as a run-time input (per-sample lengths)",
    # issue 14's ops (onnx_ops.py, onnx_ops_keras.py): refused by the element type or the
    # opset, or a Size whose value is known when importing (a constant output)
    **dict.fromkeys(["test_celu_bfloat16", "test_celu_bfloat16_expanded",
                     "test_compress_bfloat16", "test_einsum_batch_matmul_bfloat16",
                     "test_einsum_sum_bfloat16", "test_einsum_transpose_bfloat16",
                     "test_onehot_with_bfloat16_values", "test_reversesequence_bfloat16"],
                    "a bfloat16 input (unsupported element type)"),
    **dict.fromkeys(["test_not_2d", "test_not_3d", "test_not_4d"],
                    "opset 1, older than the oldest modelio imports (6)"),
    **dict.fromkeys(["test_nonzero_example", "test_unique_length_1",
                     "test_unique_not_sorted_without_axis", "test_unique_sorted_with_axis",
                     "test_unique_sorted_with_axis_3d", "test_unique_sorted_with_negative_axis",
                     "test_unique_sorted_without_axis"],
                    "NonZero/Unique of a run-time input: the output size depends on the data"),
    "test_unique_bfloat16_sorted_without_axis": "a bfloat16 input (unsupported element type)",
    **dict.fromkeys(["test_size", "test_size_example"],
                    "the output is a constant (the input's size is known when importing)"),
    "test_dequantizelinear_e4m3fn": run_time_quantized_input("FLOAT8E4M3FN"),
    "test_dequantizelinear_e4m3fn_float16": run_time_quantized_input("FLOAT8E4M3FN"),
    "test_dequantizelinear_e4m3fn_zero_point": run_time_quantized_input("FLOAT8E4M3FN"),
    "test_dequantizelinear_e5m2": run_time_quantized_input("FLOAT8E5M2"),
    "test_dequantizelinear_float4e2m1": run_time_quantized_input("FLOAT4E2M1"),
    "test_dequantizelinear_int2": run_time_quantized_input("INT2"),
    "test_dequantizelinear_int4": run_time_quantized_input("INT4"),
    "test_dequantizelinear_uint2": run_time_quantized_input("UINT2"),
    "test_dequantizelinear_uint4": run_time_quantized_input("UINT4"),
    "test_quantizelinear_e4m3fn": run_time_quantized_input("FLOAT8E4M3FN"),
    "test_quantizelinear_e5m2": run_time_quantized_input("FLOAT8E5M2"),
    "test_quantizelinear_float4e2m1": run_time_quantized_input("FLOAT4E2M1"),
    "test_quantizelinear_int2": run_time_quantized_input("INT2"),
    "test_quantizelinear_int4": run_time_quantized_input("INT4"),
    "test_quantizelinear_uint2": run_time_quantized_input("UINT2"),
    "test_quantizelinear_uint4": run_time_quantized_input("UINT4"),
}

# Cases of a claimed op that give a wrong answer today: strict xfail, so a fix shows up.
KNOWN_FAILURES: dict[str, str] = {}

CASES = {case.name: case for case in (*node_cases(), *pytorch_cases())}


def _params():
    for name in sorted(CASES):
        marks = ()
        if name in KNOWN_FAILURES:
            marks = pytest.mark.xfail(reason=KNOWN_FAILURES[name], strict=True)
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_params()))
def test_conformance_case_matches_recorded_outputs_or_is_refused(name):
    case = CASES[name]
    if not case.claimed:
        missing = sorted(op for op in case.ops if op not in CONVERTERS)
        pytest.skip(f"no converter yet for {', '.join(missing)}")
    if name in EXPECTED_REFUSALS:
        with pytest.raises(ModelioError):
            check_case(case)
    else:
        check_case(case)


def test_expected_refusals_and_failures_name_selected_cases():
    unknown = sorted((set(EXPECTED_REFUSALS) | set(KNOWN_FAILURES)) - set(CASES))
    assert not unknown
    assert not set(EXPECTED_REFUSALS) & set(KNOWN_FAILURES)


def test_selection_covers_node_cases_and_every_pytorch_converted_model():
    assert len(CASES) == len(node_cases()) + len(pytorch_cases())
    assert len(pytorch_cases()) >= 80
    assert {case.op for case in node_cases()} >= {"Gemm", "MatMul", "Softmax", "Reshape", "Gather"}
