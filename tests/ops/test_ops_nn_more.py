"""Keras 3's `keras.ops.nn` adaptive pools, ConvTranspose, SeparableConv, Unfold / Fold and CTC
loss / greedy decoding against real Keras 3.15.1 (tools/ops_nn_more_fixtures.py): modelio
rebuilds each recorded model from Keras's config, matches Keras's outputs, writes the same
config back and exports to ONNX, whose onnxruntime outputs match too. Never imports Keras.

Where Keras's torch and TensorFlow backends disagree (fixtures/evidence/
ops_nn_more_tensorflow_vs_torch.txt), modelio matches TensorFlow: a negative CTC `mask_index`
counts from the end (torch never finds such a blank). Two exceptions: an infeasible CTC
alignment costs inf (torch; TensorFlow prints a large finite artifact of its log-space
arithmetic) and beam-search decoding, where the backends find different beams, is refused.
"""

import copy
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_case_archive
from keras_op_cases import case_inputs, case_outputs, check_op_case

import modelio
from modelio import ops
from modelio.errors import ModelioError, UnsupportedError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "keras3"
BUFFERS, DOCUMENT = load_case_archive(FIXTURES / "ops_nn_more_cases.npz")
CASES = {case["name"]: case for case in DOCUMENT["cases"] if "config" in case}
# Keras 3.15.1 records ConvTranspose models it cannot run (ConvTranspose.call swaps padding and
# output_padding); their outputs are keras.ops.conv_transpose's, called eagerly.
EAGER_BUFFERS, EAGER_DOCUMENT = load_case_archive(FIXTURES / "ops_nn_more_eager_cases.npz")
EAGER_CASES = {case["name"]: case for case in EAGER_DOCUMENT["cases"]}
with np.load(FIXTURES / "ops_nn_more_cases_tf.npz") as _archive:
    TF_OUTPUTS = dict(_archive)
TENSORFLOW = {"ctc_decode_negative_mask"}  # matched against the TensorFlow backend
TORCH = {"ctc_loss_infeasible"}  # inf, as torch; TensorFlow gives 707.35
REFUSED = {"ctc_decode_beam_search": "beam_search"}
MATCHED = [name for name in CASES if name not in REFUSED]


def _tensorflow_outputs(case) -> list:
    """TensorFlow's outputs; the archive keeps only those that differ from torch's."""
    recorded = case_outputs(BUFFERS, case)
    return [TF_OUTPUTS.get(f"{case['name']}:output_{index}", recorded[index])
            for index in range(case["n_outputs"])]


@pytest.mark.parametrize("name", MATCHED)
def test_nn_op_case_matches_keras_and_onnxruntime(name):
    case = CASES[name]
    check_op_case(BUFFERS, case, _tensorflow_outputs(case) if name in TENSORFLOW else None)


@pytest.mark.parametrize("name", sorted(EAGER_CASES))
def test_conv_transpose_matches_keras_ops_conv_transpose(name):
    case = EAGER_CASES[name]
    assert "object has no attribute 'lower'" in case["keras_model_error"]
    check_op_case(EAGER_BUFFERS, case)


def test_every_recorded_case_is_checked():
    assert set(CASES) == set(MATCHED) | set(REFUSED)
    assert all("config" in case for case in DOCUMENT["cases"])
    assert len(EAGER_CASES) == 6
    classes = {entry["class_name"] for case in [*CASES.values(), *EAGER_CASES.values()]
               for entry in case["config"]["layers"] if ".ops." in entry["module"]}
    assert {"AdaptiveAveragePool", "AdaptiveMaxPool", "ConvTranspose", "SeparableConv",
            "Unfold", "Fold", "CTCLoss", "CTCDecode"} <= classes


def test_backends_disagree_where_the_tests_say():
    assert {key.split(":")[0] for key in TF_OUTPUTS} == TENSORFLOW | TORCH | set(REFUSED)
    torch_loss = case_outputs(BUFFERS, CASES["ctc_loss_infeasible"])[0]
    assert torch_loss[0] == np.inf
    assert np.isfinite(TF_OUTPUTS["ctc_loss_infeasible:output_0"][0])


@pytest.mark.parametrize("name, match", sorted(REFUSED.items()))
def test_refused_case_names_the_operation(name, match):
    with pytest.raises(UnsupportedError, match=rf"\(CTCDecode\).*{match}"):
        modelio.Model.from_config(CASES[name]["config"])


def _changed(name: str, class_name: str, **change) -> dict:
    config = copy.deepcopy(CASES[name]["config"])
    entry = next(item for item in config["layers"] if item["class_name"] == class_name)
    entry["config"].update(change)
    return config


@pytest.mark.parametrize("name, class_name, change, message", [
    ("adaptive_average_pool_2d", "AdaptiveAveragePool", {"output_size": [2, 0]},
     "output_size must be"),
    ("adaptive_max_pool_2d", "AdaptiveMaxPool", {"output_size": [2, 3, 4]}, "output_size must be"),
    ("adaptive_max_pool_2d", "AdaptiveMaxPool", {"data_format": "nhwc"}, "data_format must be"),
    ("separable_conv_2d", "SeparableConv", {"padding": "full"}, "padding must be one of"),
    ("unfold", "Unfold", {"kernel_size": [2, 2, 2]}, "kernel_size must be"),
    ("unfold", "Unfold", {"kernel_size": 9}, "leaves no block"),
    ("unfold", "Unfold", {"padding": -1}, "padding must be"),
    ("fold", "Fold", {"output_size": [5, 6]}, "blocks given"),
    ("fold", "Fold", {"kernel_size": 3}, "do not split into blocks"),
    ("ctc_loss", "CTCLoss", {"mask_index": 9}, "mask_index 9 is out of range"),
    ("ctc_loss", "CTCLoss", {"mask_index": None}, "mask_index must be an integer"),
    ("ctc_decode", "CTCDecode", {"strategy": "fancy"}, "strategy must be one of"),
    ("ctc_decode", "CTCDecode", {"merge_repeated": "yes"}, "merge_repeated must be"),
])
def test_bad_argument_is_refused_naming_the_operation(name, class_name, change, message):
    config = _changed(name, class_name, **change)
    with pytest.raises(ModelioError, match=message) as info:
        modelio.Model.from_config(config)
    assert f"({class_name})" in str(info.value)


def test_conv_transpose_output_padding_must_be_below_strides():
    x = modelio.Input((4, 3))
    kernel = np.ones((3, 2, 3), np.float32)
    with pytest.raises(ModelioError, match=r"\(ConvTranspose\): output_padding must be"):
        ops.ConvTranspose(strides=2, output_padding=2)(x, kernel)
    with pytest.raises(ModelioError, match="input channels do not match"):
        ops.ConvTranspose()(x, np.ones((3, 2, 5), np.float32))


def test_separable_conv_pointwise_kernel_must_fit():
    x = modelio.Input((5, 5, 3))
    depthwise = np.ones((3, 3, 3, 2), np.float32)
    with pytest.raises(ModelioError, match=r"\(SeparableConv\): pointwise_kernel must"):
        ops.SeparableConv()(x, depthwise, np.ones((3, 3, 6, 4), np.float32))
    with pytest.raises(ModelioError, match="the depthwise convolution gives 6"):
        ops.SeparableConv()(x, depthwise, np.ones((1, 1, 5, 4), np.float32))


def test_ctc_inputs_out_of_range_are_refused_when_run():
    model = modelio.Model.from_config(CASES["ctc_loss"]["config"])
    target, output, target_length, output_length = case_inputs(BUFFERS, CASES["ctc_loss"])
    with pytest.raises(ModelioError, match=r"\(CTCLoss\): target labels must lie in \[0, 5\)"):
        model.predict([target + 5, output, target_length, output_length])
    with pytest.raises(ModelioError, match=r"output_length must lie in \[0, 6\]"):
        model.predict([target, output, target_length, output_length + 7])
    decode = modelio.Model.from_config(CASES["ctc_decode"]["config"])
    logits, lengths = case_inputs(BUFFERS, CASES["ctc_decode"])
    with pytest.raises(ModelioError, match=r"\(CTCDecode\): sequence_lengths must be integers"):
        decode.predict([logits, lengths.astype(np.float32)])


def test_adaptive_pool_refuses_integer_inputs_and_bad_ranks():
    with pytest.raises(ModelioError, match=r"\(AdaptiveAveragePool\): expects float inputs"):
        ops.AdaptiveAveragePool(output_size=2)(modelio.Input((4, 4, 2), dtype="int32"))
    with pytest.raises(ModelioError, match="rank 3, 4 or 5"):
        ops.AdaptiveMaxPool(output_size=2)(modelio.Input((4,)))


def test_polar_stays_refused_by_name():
    config = copy.deepcopy(CASES["unfold"]["config"])
    entry = next(item for item in config["layers"] if item["class_name"] == "Unfold")
    entry["class_name"], entry["config"] = "Polar", {"name": "polar"}
    with pytest.raises(UnsupportedError, match="Keras operation 'Polar'.*complex"):
        modelio.Model.from_config(config)


@pytest.mark.parametrize("op, shape", [
    (lambda: ops.Fold(output_size=[100000, 100000], kernel_size=1, stride=100000), (1, 1)),
    (lambda: ops.Unfold(kernel_size=1, padding=50000), (1, 2, 2)),
    (lambda: ops.AdaptiveAveragePool(output_size=[100000, 100000]), (3, 3, 2)),
])
def test_giant_results_are_refused_before_they_are_allocated(op, shape):
    x = modelio.Input(shape)
    model = modelio.Model(x, op()(x))
    with pytest.raises(ModelioError, match="refusing to build an array of shape"):
        model.predict(np.ones((2, *shape), np.float32))


def test_giant_conv_transpose_is_refused_before_it_is_allocated():
    x = modelio.Input((3, 2))
    model = modelio.Model(x, ops.ConvTranspose(strides=10**9)(x, np.ones((1, 2, 2), np.float32)))
    with pytest.raises(ModelioError, match=r"\(ConvTranspose\): refusing to build"):
        model.predict(np.ones((2, 3, 2), np.float32))


def test_giant_ctc_loss_is_refused_before_it_is_allocated():
    inputs = [modelio.Input((40000,), dtype="int32"), modelio.Input((40000, 1)),
              modelio.Input((), dtype="int32"), modelio.Input((), dtype="int32")]
    model = modelio.Model(inputs, ops.CTCLoss()(*inputs))
    feeds = [np.ones((1, 40000), np.int32), np.zeros((1, 40000, 1), np.float32),
             np.ones((1,), np.int32), np.ones((1,), np.int32)]
    with pytest.raises(ModelioError, match=r"\(CTCLoss\): refusing to build"):
        model.predict(feeds)
