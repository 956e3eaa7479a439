"""The whole ONNX backend test suite of the installed `onnx` package through modelio's importer,
as a ratchet.

Every case of `onnx.backend.test` (node, pytorch-converted, pytorch-operator, simple, real/light —
onnx_conformance_cases.py) runs once per session: import, run, compare with the recorded outputs
at the suite's tolerances. The pytest terminal summary prints `N passed, M failed` (conftest.py).
- conformance_passing.txt lists the cases that pass: a listed case that no longer passes fails.
- A case that crashes (a non-ModelioError exception, or one wrapped in a ModelioError) fails,
  unless KNOWN_FAILURES names it; a case giving wrong numbers is allowed only there too.
- EXPECTED_REFUSALS: cases modelio refuses on purpose, with the reason; each must be refused.
- conformance_round_trip.txt lists the passing cases whose imported model, exported with
  modelio.export_onnx, runs in onnxruntime to the recorded outputs: listed ones must keep doing so.
New passes are reported in the summary; `python3 tools/onnx_conformance.py --update` rewrites both
lists.
"""

import pytest
from onnx_conformance_cases import (
    PASSING_LIST,
    ROUND_TRIP_LIST,
    all_cases,
    read_list,
    round_trip_results,
    suite_results,
)


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

# Cases that give a wrong answer or crash today (case -> why): allowed, and strict — a listed case
# that passes must be removed.
KNOWN_FAILURES: dict[str, str] = {
    "test_causal_conv_with_state_silu_fp16_expanded":
        "float16 depthwise Conv rounds differently (3 float16 ulps, rtol 1e-3) before the SiLU",
    **dict.fromkeys(["test_attention_4d_causal_fp16_expanded", "test_attention_4d_fp16_expanded",
                     "test_attention_4d_gqa_with_past_and_present_fp16_expanded"],
                    "float16 attention expanded into MatMul/Softmax: modelio rounds each float16 "
                    "step where the recorded outputs kept more precision (beyond rtol 1e-3)"),
}


@pytest.fixture(scope="module")
def results():
    return suite_results()


def _lines(names, results) -> str:
    return "\n".join(f"  {name}: {results[name].outcome}: {results[name].detail}"
                      for name in names)


def test_the_whole_installed_suite_runs():
    from onnx_conformance_cases import KINDS, _load

    assert len(all_cases()) == sum(len(_load(kind)) for kind in KINDS)
    assert len(all_cases()) >= 2000
    assert {case.kind for case in all_cases()} == set(KINDS)


def test_every_case_listed_as_passing_still_passes(results):
    listed = [name for name in read_list(PASSING_LIST) if name in results]
    regressed = [name for name in listed if results[name].outcome != "pass"]
    assert not regressed, f"{len(regressed)} case(s) of {PASSING_LIST.name} no longer pass:\n" \
                          f"{_lines(regressed, results)}"


def test_no_case_crashes_or_gives_wrong_numbers_unless_known(results):
    bad = [name for name, result in results.items()
           if result.outcome in ("crash", "fail") and name not in KNOWN_FAILURES]
    assert not bad, f"{len(bad)} case(s) crash or give wrong outputs:\n{_lines(bad, results)}"


def test_known_failures_still_fail(results):
    fixed = [name for name in KNOWN_FAILURES if results[name].outcome not in ("crash", "fail")]
    assert not fixed, f"remove from KNOWN_FAILURES (now {[results[n].outcome for n in fixed]}): " \
                      f"{fixed}"


def test_expected_refusals_are_refused(results):
    wrong = [name for name in EXPECTED_REFUSALS if results[name].outcome != "refused"]
    assert not wrong, f"EXPECTED_REFUSALS cases not refused:\n{_lines(wrong, results)}"


def test_expected_refusals_and_failures_name_suite_cases():
    names = {case.name for case in all_cases()}
    assert not sorted((set(EXPECTED_REFUSALS) | set(KNOWN_FAILURES)) - names)
    assert not set(EXPECTED_REFUSALS) & set(KNOWN_FAILURES)


def test_every_case_listed_as_round_tripping_still_round_trips(results):
    round_trips = round_trip_results()
    listed = [name for name in read_list(ROUND_TRIP_LIST) if name in results]
    regressed = [name for name in listed if round_trips.get(name, ("not run", ""))[0] != "pass"]
    assert not regressed, "\n".join(
        [f"{len(regressed)} case(s) of {ROUND_TRIP_LIST.name} no longer round-trip:"] +
        [f"  {name}: {results[name].outcome} / round trip {round_trips.get(name, ('not run',))}"
         for name in regressed])
