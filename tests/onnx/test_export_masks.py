"""ONNX export of masks: the operation nodes that compute them (NotEqual, Any, LogicalOr, ...) and
the layers that consume them (recurrent layers as a Scan, Softmax, GlobalAveragePooling1D,
Attention, AdditiveAttention, MultiHeadAttention), proven in onnxruntime against modelio's numpy
kernels and Keras's recorded outputs at opsets 13, 17 and the newest onnxruntime runs."""

import glob
import sys
from pathlib import Path

import numpy as np
import pytest
from fixture_models import (
    FIXTURES,
    fixture_arrays,
    load_fixture_model,
    predict_as_list,
    recorded_inputs,
    recorded_outputs,
)
from test_export_sequence import OPSETS, TOLERANCE, randomize, run_onnx

import modelio
from modelio import layers, ops
from modelio.errors import UnsupportedError
from modelio.graph.functional import Functional
from modelio.graph.registry import OPERATION_CLASSES
from modelio.graph.tensor import SymbolicTensor
from modelio.graph.tree import flatten
from modelio.onnx.registry import lowering_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
import test_attention_layers as attention_cases  # noqa: E402
import test_recurrent_layers as recurrent_cases  # noqa: E402


def assert_matches(got: list, wanted: list) -> None:
    assert len(got) == len(wanted)
    for output, reference in zip(got, wanted):
        reference = np.asarray(reference)
        assert output.shape == reference.shape
        if reference.dtype == np.bool_:
            assert output.dtype == np.bool_
            np.testing.assert_array_equal(output, reference)
        else:
            np.testing.assert_allclose(output, reference, **TOLERANCE)


def assert_exports_like_numpy(model, inputs: dict, opset: int, expected=None):
    proto = modelio.export_onnx(model, opset=opset)
    got = run_onnx(proto, inputs)
    assert_matches(got, predict_as_list(model, inputs))
    if expected is not None:
        assert_matches(got, expected)
    return proto


# the Keras operations that compute masks (Embedding's NotEqual, Masking's Any, their logic);
# the rest of the ops catalogue is tested in tests/ops
MASK_OPERATIONS = {"NotEqual", "Any", "All", "LogicalAnd", "LogicalOr", "LogicalNot"}


def carries_a_mask(model) -> bool:
    """True when some node of `model` (or of a nested model) receives or computes a mask."""
    stack = [model]
    while stack:
        current = stack.pop()
        for node in current._nodes_in_order:
            if isinstance(node.layer, Functional):
                stack.append(node.layer)
            if type(node.layer).__name__ in MASK_OPERATIONS or getattr(node.layer, "mask_zero",
                                                                         False):
                return True
            if any(isinstance(leaf, SymbolicTensor) for name, value in node.call_kwargs.items()
                   if "mask" in name for leaf in flatten(value)):
                return True
    return False


# ----- fixture models ----------------------------------------------------------------------------

MASKED_FIXTURES = ["text_rnn", "mask_propagation", "tensor_in_call_kwargs"]
FIXTURE_CASES = [(dialect, name) for dialect in ("keras3", "keras2") for name in MASKED_FIXTURES]
# Saved files and the recorded arrays they are checked against.
FILE_CASES = [
    *[(f"keras3_files/{name}.keras", "keras3", name) for name in MASKED_FIXTURES],
    ("keras3_files/tf_keras_text_rnn.keras", "keras2", "text_rnn"),
    ("keras3_h5/text_rnn.h5", "keras3_h5", "text_rnn"),
    *[(f"keras2_files/{name}.h5", "keras2_files", name) for name in MASKED_FIXTURES],
]


def file_arrays(folder: str, name: str) -> dict:
    if folder in ("keras3", "keras2"):
        return fixture_arrays(folder, name)
    with np.load(FIXTURES / folder / f"{name}.h5.npz") as archive:
        return dict(archive)


def test_masked_fixture_lists_cover_every_fixture_model_with_a_mask():
    masked = set()
    for path in sorted(glob.glob(str(FIXTURES / "keras*" / "*.json"))):
        dialect, name = Path(path).parent.name, Path(path).stem
        try:
            model = load_fixture_model(dialect, name)
        except modelio.errors.ModelioError:
            continue  # config catalogs, not models
        if carries_a_mask(model):
            masked.add((dialect, name))
    assert masked == set(FIXTURE_CASES)
    saved = {str(Path(path).relative_to(FIXTURES)) for pattern in ("keras3_files/*.keras",
                                                                  "keras3_h5/*.h5", "keras2_files/*.h5")
             for path in glob.glob(str(FIXTURES / pattern)) if "weights_only" not in path
             and carries_a_mask(modelio.load_model(path))}
    assert saved == {path for path, _, _ in FILE_CASES}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect,name", FIXTURE_CASES)
def test_masked_fixture_exports_and_matches_numpy_and_keras(dialect, name, opset):
    arrays = fixture_arrays(dialect, name)
    model = load_fixture_model(dialect, name)
    assert_exports_like_numpy(model, recorded_inputs(arrays), opset, recorded_outputs(arrays))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("path,folder,name", FILE_CASES)
def test_masked_saved_model_file_exports_and_matches_numpy_and_keras(path, folder, name, opset):
    arrays = file_arrays(folder, name)
    model = modelio.load_model(FIXTURES / path)
    assert_exports_like_numpy(model, recorded_inputs(arrays), opset, recorded_outputs(arrays))


def random_inputs_like(recorded: dict, batch: int, seed: int) -> dict:
    """Inputs shaped like the recorded ones for `batch` samples: tokens with zeros inside the
    sequences (a hole in sample 0, every step of the last sample when batch > 1), floats with
    all-zero steps, random booleans."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, value in recorded.items():
        shape = (batch, *value.shape[1:])
        if value.dtype.kind in "iu":
            array = rng.integers(1, int(value.max()) + 1, size=shape).astype(value.dtype)
            array[rng.random(shape) < 0.3] = 0
            array[0, 1] = 0
        elif value.dtype == np.bool_:
            array = rng.random(shape) < 0.6
            array[0, 1] = False
        else:
            array = rng.normal(size=shape).astype(value.dtype)
            if array.ndim == 3:
                array[rng.random(shape[:2]) < 0.3] = 0.0
                array[0, 1] = 0.0
        if batch > 1 and array.dtype != np.float32:
            array[-1] = 0
        inputs[name] = array
    return inputs


@pytest.mark.parametrize("dialect,name", FIXTURE_CASES)
def test_one_exported_graph_serves_batches_of_one_and_five(dialect, name):
    arrays = fixture_arrays(dialect, name)
    model = load_fixture_model(dialect, name)
    proto = modelio.export_onnx(model)
    for batch in (1, 5):
        inputs = random_inputs_like(recorded_inputs(arrays), batch, seed=batch)
        assert_matches(run_onnx(proto, inputs), predict_as_list(model, inputs))


# ----- operations ------------------------------------------------------------------------------

def _b(x):
    return ops.NotEqual()(x, 0)


OPERATION_CASES = {
    "not_equal_int_scalar": lambda a, f, m: ops.NotEqual()(a, 0),
    "not_equal_float_tensors": lambda a, f, m: ops.NotEqual()(f, ops.ZerosLike()(f)),
    "equal_bools": lambda a, f, m: ops.Equal()(m, _b(a)),
    "greater_float_scalar": lambda a, f, m: ops.Greater()(f, 0.5),
    "greater_equal_int": lambda a, f, m: ops.GreaterEqual()(a, 2),
    "less_int_float": lambda a, f, m: ops.Less()(a, f),
    "less_equal_float": lambda a, f, m: ops.LessEqual()(f, 0.0),
    "logical_and": lambda a, f, m: ops.LogicalAnd()(m, _b(a)),
    "logical_or_of_ints": lambda a, f, m: ops.LogicalOr()(a, m),
    "logical_not": lambda a, f, m: ops.LogicalNot()(m),
    "logical_not_of_floats": lambda a, f, m: ops.LogicalNot()(f),
    "add_float_scalar": lambda a, f, m: ops.Add()(f, 1.5),
    "add_bools_is_or": lambda a, f, m: ops.Add()(m, _b(a)),
    "subtract_ints": lambda a, f, m: ops.Subtract()(a, 1),
    "multiply_int_float": lambda a, f, m: ops.Multiply()(a, f),
    "multiply_bools_is_and": lambda a, f, m: ops.Multiply()(m, _b(a)),
    "maximum_int_scalar": lambda a, f, m: ops.Maximum()(a, 2),
    "minimum_floats": lambda a, f, m: ops.Minimum()(f, ops.OnesLike()(f)),
    "any_last_axis": lambda a, f, m: ops.Any(axis=-1)(m),
    # Reductions over every axis (batch included) feed an elementwise op: a model output keeps
    # its batch axis.
    "any_of_floats_all_axes": lambda a, f, m: ops.LogicalAnd()(m, ops.Any()(f)),
    "all_keepdims": lambda a, f, m: ops.All(axis=1, keepdims=True)(m),
    "all_two_axes": lambda a, f, m: ops.All(axis=(1, 2))(_b(a)),
    "sum_ints": lambda a, f, m: ops.Sum(axis=-1)(a),
    "max_bools": lambda a, f, m: ops.Max(axis=1)(m),
    "mean_floats": lambda a, f, m: ops.Mean(axis=(1, 2), keepdims=True)(f),
    "max_floats": lambda a, f, m: ops.Max(axis=1)(f),
    "min_ints_all_axes": lambda a, f, m: ops.Subtract()(a, ops.Min()(a)),
    "expand_dims_last": lambda a, f, m: ops.ExpandDims(axis=-1)(m),
    "expand_dims_middle": lambda a, f, m: ops.ExpandDims(axis=1)(f),
    "squeeze_all_keeps_batch": lambda a, f, m: ops.Squeeze()(ops.ExpandDims(axis=2)(f)),
    "squeeze_axis": lambda a, f, m: ops.Squeeze(axis=-1)(ops.ExpandDims(axis=-1)(m)),
    "zeros_like_bool": lambda a, f, m: ops.ZerosLike()(m),
    "zeros_like_float_as_bool": lambda a, f, m: ops.ZerosLike(dtype="bool")(f),
    "ones_like_int": lambda a, f, m: ops.OnesLike()(a),
    "ones_like_as_float": lambda a, f, m: ops.OnesLike(dtype="float32")(m),
    "cast_float_to_int": lambda a, f, m: ops.Cast("int32")(f),
    "cast_int_to_bool": lambda a, f, m: ops.Cast("bool")(a),
    "cast_bool_to_float": lambda a, f, m: ops.Cast("float32")(m),
    "cast_to_same_dtype": lambda a, f, m: ops.Cast("float32")(f),
    "concatenate_bools": lambda a, f, m: ops.Concatenate(axis=-1)([m, _b(a)]),
    "concatenate_int_float": lambda a, f, m: ops.Concatenate(axis=1)([a, f]),
    "stack_floats": lambda a, f, m: ops.Stack(axis=1)([f, f]),
    "stack_bools_last": lambda a, f, m: ops.Stack(axis=-1)([m, m]),
}


def operation_model(make):
    a = modelio.Input((3, 4), dtype="int32", name="a")
    f = modelio.Input((3, 4), name="f")
    m = modelio.Input((3, 4), dtype="bool", name="m")
    return modelio.Model([a, f, m], make(a, f, m))


def operation_inputs(batch: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    floats = rng.normal(size=(batch, 3, 4)).astype(np.float32)
    floats[0, 0] = 0.0
    return {"a": rng.integers(0, 4, size=(batch, 3, 4)).astype(np.int32), "f": floats,
            "m": rng.random((batch, 3, 4)) < 0.5}


def test_every_operation_class_has_a_lowering_and_a_case():
    tried = {type(node.layer) for make in OPERATION_CASES.values()
             for node in operation_model(make)._nodes_in_order}
    for cls in OPERATION_CLASSES.values():
        assert lowering_for(cls.__new__(cls)) is not None, cls.__name__
        # KerasOp classes (the ops catalogue) have their cases in tests/ops
        assert cls in tried or issubclass(cls, ops.KerasOp), cls.__name__


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", OPERATION_CASES)
def test_operation_exports_and_matches_numpy_dtype_and_values(case, opset):
    model = operation_model(OPERATION_CASES[case])
    proto = modelio.export_onnx(model, opset=opset)
    # numpy's axis-less squeeze also drops a batch axis of 1 (see the test below)
    for batch in (3,) if case == "squeeze_all_keeps_batch" else (1, 3):
        inputs = operation_inputs(batch, seed=batch)
        got = run_onnx(proto, inputs)
        wanted = predict_as_list(model, inputs)
        # The declared dtypes (Keras's: a Python scalar takes the tensor's dtype); modelio's
        # numpy run computes float32 + 1.5 in float64, so the values are compared, not dtypes.
        assert [output.dtype for output in got] == [np.dtype(t.dtype) for t in model.outputs]
        assert_matches(got, wanted)


def test_axis_less_squeeze_keeps_a_batch_axis_of_one():
    """The graph declares (batch, 3, 4): the export squeezes the axes of size 1 in the symbolic
    shape only, so a batch of one stays (numpy's eager squeeze would drop it)."""
    model = operation_model(OPERATION_CASES["squeeze_all_keeps_batch"])
    inputs = operation_inputs(1)
    got = run_onnx(modelio.export_onnx(model), inputs)[0]
    assert got.shape == (1, 3, 4)
    np.testing.assert_allclose(got[0], np.asarray(model.predict(inputs)).reshape(3, 4), **TOLERANCE)


# ----- recurrent layers under a mask ------------------------------------------------------------

UNITS = 4
STEPS = 6
# Holes mid-sequence, a sample masked everywhere, one kept everywhere, a masked first step.
MASK = np.array([[1, 0, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 1, 0]],
                bool)

MASKED_RECURRENT = {
    "lstm_last": (lambda: layers.LSTM(UNITS), 0),
    "lstm_sequences_state": (lambda: layers.LSTM(UNITS, return_sequences=True, return_state=True), 0),
    "lstm_backwards_sequences_state": (lambda: layers.LSTM(
        UNITS, go_backwards=True, return_sequences=True, return_state=True), 0),
    "lstm_initial_state_hard_sigmoid_no_bias": (lambda: layers.LSTM(
        UNITS, recurrent_activation="hard_sigmoid", use_bias=False, return_sequences=True,
        return_state=True), 2),
    # Activations ONNX's LSTM/GRU/RNN ops do not list run in the Scan body.
    "lstm_gelu_activation": (lambda: layers.LSTM(UNITS, activation="gelu", return_sequences=True), 0),
    "gru_softmax_activation": (lambda: layers.GRU(UNITS, activation="softmax"), 0),
    "gru_reset_after_sequences_state": (lambda: layers.GRU(
        UNITS, return_sequences=True, return_state=True), 0),
    "gru_reset_before_backwards": (lambda: layers.GRU(
        UNITS, reset_after=False, go_backwards=True, return_sequences=True), 0),
    "gru_initial_state_zero_output": (lambda: layers.GRU(
        UNITS, return_sequences=True, zero_output_for_mask=True, return_state=True), 1),
    "simple_rnn_relu_sequences": (lambda: layers.SimpleRNN(
        UNITS, activation="relu", return_sequences=True), 0),
    "simple_rnn_backwards_state_zero_output": (lambda: layers.SimpleRNN(
        UNITS, go_backwards=True, return_sequences=True, return_state=True,
        zero_output_for_mask=True), 1),
    "bidirectional_lstm_concat": (lambda: layers.Bidirectional(
        layers.LSTM(UNITS, return_sequences=True)), 0),
    "bidirectional_gru_sum_state": (lambda: layers.Bidirectional(
        layers.GRU(UNITS, return_sequences=True, return_state=True), merge_mode="sum"), 0),
    "bidirectional_rnn_mul": (lambda: layers.Bidirectional(
        layers.SimpleRNN(UNITS, return_sequences=True), merge_mode="mul"), 0),
    "bidirectional_lstm_ave_last_initial_states": (lambda: layers.Bidirectional(
        layers.LSTM(UNITS), merge_mode="ave"), 4),
    "bidirectional_gru_none": (lambda: layers.Bidirectional(
        layers.GRU(UNITS, return_sequences=True), merge_mode=None), 0),
    "bidirectional_different_backward_layer": (lambda: layers.Bidirectional(
        layers.LSTM(UNITS, return_sequences=True),
        backward_layer=layers.GRU(UNITS, go_backwards=True, return_sequences=True)), 0),
}


def masked_recurrent_model(make, state_count):
    x = modelio.Input((STEPS, 3), name="x")
    mask = modelio.Input((STEPS,), dtype="bool", name="mask")
    states = [modelio.Input((UNITS,), name=f"s{i}") for i in range(state_count)]
    layer = make()
    y = layer(x, initial_state=states, mask=mask) if states else layer(x, mask=mask)
    model = modelio.Model([x, mask, *states], y)
    randomize(model)
    return model


def masked_recurrent_inputs(state_count, mask=MASK, seed=1):
    rng = np.random.default_rng(seed)
    batch = len(mask)
    inputs = {"x": rng.normal(size=(batch, STEPS, 3)).astype(np.float32), "mask": mask}
    inputs.update({f"s{i}": rng.normal(size=(batch, UNITS)).astype(np.float32)
                   for i in range(state_count)})
    return inputs


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", MASKED_RECURRENT)
def test_masked_recurrent_layer_exports_and_matches_numpy(case, opset):
    make, state_count = MASKED_RECURRENT[case]
    model = masked_recurrent_model(make, state_count)
    assert_exports_like_numpy(model, masked_recurrent_inputs(state_count), opset)


def test_the_mask_changes_the_exported_result():
    """The masked steps matter: the same graph given an all-True mask answers differently."""
    model = masked_recurrent_model(*MASKED_RECURRENT["lstm_sequences_state"])
    proto = modelio.export_onnx(model)
    masked = run_onnx(proto, masked_recurrent_inputs(0))
    unmasked = run_onnx(proto, masked_recurrent_inputs(0, mask=np.ones_like(MASK)))
    assert not np.allclose(masked[0], unmasked[0], atol=1e-3)
    np.testing.assert_array_equal(masked[0][1], np.zeros((STEPS, UNITS)))  # all-False sample


def test_masked_recurrent_layers_run_as_scan_and_unmasked_ones_keep_the_fused_op():
    masked = modelio.export_onnx(masked_recurrent_model(*MASKED_RECURRENT["bidirectional_lstm_concat"]))
    assert [node.op_type for node in masked.graph.node].count("Scan") == 2
    assert "LSTM" not in [node.op_type for node in masked.graph.node]
    x = modelio.Input((STEPS, 3), name="x")
    plain = modelio.export_onnx(modelio.Model(x, layers.LSTM(UNITS)(x)))
    assert "LSTM" in [node.op_type for node in plain.graph.node]
    assert "Scan" not in [node.op_type for node in plain.graph.node]


def test_masks_pass_through_batch_normalization_and_global_average_pooling():
    tokens = modelio.Input((STEPS,), dtype="int32", name="tokens")
    embedded = layers.Embedding(9, 4, mask_zero=True)(tokens)
    norm = layers.BatchNormalization()
    sequence = layers.GRU(UNITS, return_sequences=True)(norm(embedded))
    model = modelio.Model(tokens, layers.GlobalAveragePooling1D()(sequence))
    randomize(model)
    norm.set_weights([np.abs(weight) + 0.5 for weight in norm.get_weights()])  # valid variances
    proto = modelio.export_onnx(model)
    ids = np.random.default_rng(3).integers(1, 9, (4, STEPS)).astype(np.int32)
    ids[0, 2:] = 0
    ids[1, 0] = 0
    assert_matches(run_onnx(proto, {"tokens": ids}), predict_as_list(model, {"tokens": ids}))


@pytest.mark.parametrize("batch", [1, 5])
def test_one_masked_graph_serves_any_batch_and_sequence_length(batch):
    x = modelio.Input((None, 3), name="x")
    mask = modelio.Input((None,), dtype="bool", name="mask")
    model = modelio.Model([x, mask], layers.Bidirectional(layers.GRU(UNITS, return_sequences=True))(
        x, mask=mask))
    randomize(model)
    proto = modelio.export_onnx(model)
    rng = np.random.default_rng(batch)
    for steps in (2, 7):
        inputs = {"x": rng.normal(size=(batch, steps, 3)).astype(np.float32),
                  "mask": rng.random((batch, steps)) < 0.6}
        assert_matches(run_onnx(proto, inputs), predict_as_list(model, inputs))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect,case_id", [
    (dialect, case_id) for dialect, case_id in recurrent_cases.CASES
    if any(word in case_id for word in ("mask", "text"))])
def test_keras_recorded_masked_recurrent_case_matches_keras_in_onnxruntime(dialect, case_id, opset):
    model, inputs, expected = recurrent_cases.load_case(dialect, case_id)
    assert_exports_like_numpy(model, inputs, opset, expected)


@pytest.mark.parametrize("opset", OPSETS)
def test_masking_layer_feeds_its_mask_to_a_recurrent_layer(opset):
    x = modelio.Input((STEPS, 3), name="x")
    model = modelio.Model(x, layers.LSTM(UNITS, return_sequences=True)(layers.Masking(0.0)(x)))
    randomize(model)
    data = np.random.default_rng(2).normal(size=(3, STEPS, 3)).astype(np.float32)
    data[0, 2] = data[1] = data[2, 0] = 0.0
    assert_exports_like_numpy(model, {"x": data}, opset)


@pytest.mark.parametrize("opset", OPSETS)
def test_time_distributed_dense_ignores_the_mask_as_numpy_does(opset):
    tokens = modelio.Input((STEPS,), dtype="int32", name="tokens")
    embedded = layers.Embedding(9, 3, mask_zero=True)(tokens)
    hidden = layers.TimeDistributed(layers.Dense(2))(embedded)
    model = modelio.Model(tokens, layers.GRU(UNITS, return_sequences=True)(hidden))
    randomize(model)
    data = np.array([[3, 0, 4, 5, 0, 1], [0, 0, 0, 0, 0, 0]], np.int32)
    assert_exports_like_numpy(model, {"tokens": data}, opset)


# ----- Softmax and pooling ---------------------------------------------------------------------

@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("axis,mask_shape,mask_dtype", [
    (-1, (4, 5), "bool"), (-1, (1, 5), "float32"), ([1, 2], (4, 5), "bool")])
def test_masked_softmax_exports_and_matches_numpy(axis, mask_shape, mask_dtype, opset):
    x = modelio.Input((4, 5), name="x")
    mask = modelio.Input(mask_shape, dtype=mask_dtype, name="mask")
    model = modelio.Model([x, mask], layers.Softmax(axis=axis)(x, mask=mask))
    rng = np.random.default_rng(3)
    keep = rng.random((2, *mask_shape)) < 0.6
    keep[1] = False
    inputs = {"x": rng.normal(size=(2, 4, 5)).astype(np.float32),
              "mask": keep.astype(mask_dtype) if mask_dtype != "bool" else keep}
    assert_exports_like_numpy(model, inputs, opset)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("data_format,keepdims", [
    ("channels_last", False), ("channels_last", True), ("channels_first", False)])
def test_masked_global_average_pooling_1d_averages_the_kept_steps(data_format, keepdims, opset):
    shape = (STEPS, 3) if data_format == "channels_last" else (3, STEPS)
    x = modelio.Input(shape, name="x")
    mask = modelio.Input((STEPS,), dtype="bool", name="mask")
    pool = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    model = modelio.Model([x, mask], pool(x, mask=mask))
    inputs = {"x": np.random.default_rng(4).normal(size=(len(MASK), *shape)).astype(np.float32),
              "mask": MASK}
    proto = assert_exports_like_numpy(model, inputs, opset)  # the all-masked sample gives NaN
    assert np.isnan(run_onnx(proto, inputs)[0][1]).all()


@pytest.mark.parametrize("opset", OPSETS)
def test_global_max_pooling_1d_takes_no_mask_as_in_keras(opset):
    tokens = modelio.Input((STEPS,), dtype="int32", name="tokens")
    embedded = layers.Embedding(9, 3, mask_zero=True)(tokens)
    model = modelio.Model(tokens, layers.GlobalMaxPooling1D()(embedded))
    randomize(model)
    assert_exports_like_numpy(model, {"tokens": np.array([[3, 0, 4, 5, 0, 1]], np.int32)}, opset)


# ----- attention ------------------------------------------------------------------------------

def embedded_tokens(name, steps, width):
    tokens = modelio.Input((steps,), dtype="int32", name=name)
    return tokens, layers.Embedding(9, width, mask_zero=True)(tokens)


ATTENTION_MASKED = {
    "mha_self": lambda q, v, k: layers.MultiHeadAttention(2, 3)(q, q),
    "mha_cross_key_scores": lambda q, v, k: list(layers.MultiHeadAttention(2, 3)(
        q, v, k, return_attention_scores=True)),
    "mha_causal_dropout": lambda q, v, k: layers.MultiHeadAttention(2, 3, dropout=0.2)(
        q, v, use_causal_mask=True),
    "attention_dot": lambda q, v, k: layers.Attention()([q, v]),
    "attention_concat_key_scores": lambda q, v, k: list(layers.Attention(
        use_scale=True, score_mode="concat")([q, v, k], return_attention_scores=True)),
    "attention_causal": lambda q, v, k: layers.Attention()([q, v], use_causal_mask=True),
    "additive": lambda q, v, k: layers.AdditiveAttention()([q, v, k]),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", ATTENTION_MASKED)
def test_attention_with_input_masks_exports_and_matches_numpy(case, opset):
    query_tokens, query = embedded_tokens("q", 5, 4)
    value_tokens, value = embedded_tokens("v", 5, 4)
    key_tokens, key = embedded_tokens("k", 5, 4)
    model = modelio.Model([query_tokens, value_tokens, key_tokens],
                          ATTENTION_MASKED[case](query, value, key))
    randomize(model)
    rng = np.random.default_rng(5)
    inputs = {}
    for name in ("q", "v", "k"):
        tokens = rng.integers(1, 9, size=(3, 5)).astype(np.int32)
        tokens[0, 2] = tokens[1, 4] = 0
        tokens[2] = 0 if name == "v" else tokens[2]  # a sample with every value masked
        inputs[name] = tokens
    assert_exports_like_numpy(model, inputs, opset)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("make", [
    lambda: layers.Attention(use_scale=True), lambda: layers.AdditiveAttention()])
def test_rank_4_attention_with_input_masks_matches_numpy(make, opset):
    query_tokens = modelio.Input((2, 5), dtype="int32", name="q")
    value_tokens = modelio.Input((2, 4), dtype="int32", name="v")
    embedding = layers.Embedding(9, 3, mask_zero=True)
    model = modelio.Model([query_tokens, value_tokens],
                          make()([embedding(query_tokens), embedding(value_tokens)]))
    randomize(model)
    rng = np.random.default_rng(6)
    inputs = {"q": rng.integers(0, 9, size=(3, 2, 5)).astype(np.int32),
              "v": rng.integers(0, 9, size=(3, 2, 4)).astype(np.int32)}
    inputs["q"][0, 1, 2] = inputs["v"][1, 0] = 0
    assert_exports_like_numpy(model, inputs, opset)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect,case_id", [
    ("keras3", case_id) for case_id in attention_cases.KERAS3_CASES if "mask" in case_id] + [
    ("keras2", case_id) for case_id in attention_cases.KERAS2_CASES if "mask" in case_id])
def test_keras_recorded_masked_attention_case_matches_keras_in_onnxruntime(dialect, case_id, opset):
    cases = attention_cases.KERAS3_CASES if dialect == "keras3" else attention_cases.KERAS2_CASES
    model = attention_cases.rebuild(cases[case_id])
    assert_exports_like_numpy(model, attention_cases.case_inputs(cases[case_id]), opset,
                              attention_cases.expected_outputs(cases[case_id]))


# ----- what stays refused ----------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda m: ops.Sum(axis=1)(m), lambda m: ops.Mean(axis=1)(
    ops.Cast("int32")(m))])
def test_reductions_whose_declared_dtype_differs_from_numpy_are_refused_by_name(make):
    m = modelio.Input((3, 4), dtype="bool", name="m")
    model = modelio.Model(m, make(m))
    name = model._nodes_in_order[-1].layer.name
    with pytest.raises(UnsupportedError, match=f"'{name}'.*numpy computes"):
        modelio.export_onnx(model)


def test_input_masks_with_other_attention_axes_are_refused_naming_layer_and_mask():
    tokens = modelio.Input((3, 4), dtype="int32", name="tokens")
    embedded = layers.Embedding(9, 5, mask_zero=True)(tokens)
    layer = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    model = modelio.Model(tokens, layer(embedded, embedded))
    with pytest.raises(UnsupportedError, match=f"'{layer.name}'.*query_mask"):
        modelio.export_onnx(model)


def test_time_distributed_passing_a_mask_to_its_layer_is_refused_by_name():
    x = modelio.Input((STEPS, 5), name="x")
    mask = modelio.Input((STEPS, 5), dtype="bool", name="mask")
    layer = layers.TimeDistributed(layers.Softmax())
    model = modelio.Model([x, mask], layer(x, mask=mask))
    with pytest.raises(UnsupportedError, match=f"'{layer.name}'.*mask"):
        modelio.export_onnx(model)


def test_masked_float64_recurrent_layer_is_refused_by_name():
    x = modelio.Input((STEPS, 3), name="x", dtype="float64")
    mask = modelio.Input((STEPS,), dtype="bool", name="mask")
    layer = layers.LSTM(UNITS, dtype="float64")
    model = modelio.Model([x, mask], layer(x, mask=mask))
    with pytest.raises(UnsupportedError, match=f"'{layer.name}'.*float64"):
        modelio.export_onnx(model)
