"""dtype policies (float16, bfloat16, mixed_float16, mixed_bfloat16) on files real Keras wrote.

Fixtures: tools/dtype_policy_fixtures.py — Keras 3.15.1 (torch backend) `.keras` archives, one
tiny model per layer family and policy, the outputs of the TensorFlow backend on the same files,
and tf-keras 2.21 `.h5` files under `mixed_float16`.

Tolerances. Half-precision results differ with the order of rounding, not with the math: Keras
rounds after every backend op, numpy rounds after every numpy op (float16) or once at the end of
each layer (bfloat16, computed in float32 on bfloat16-rounded inputs and weights, see
`Layer._bfloat16_call`). We allow four steps of the dtype's spacing at the output's scale:
float16 keeps 11 significant bits (4 * 2**-10 ~ 0.004 relative), bfloat16 8 bits (4 * 2**-7 ~
0.03). Keras's own backends differ by as much (TensorFlow vs torch: up to 0.03 on the bfloat16
Conv2D, 7e-4 on float16 attention), so modelio is held to both backends' numbers.
"""

import functools
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from onnx import TensorProto
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import ConfigError, UnsupportedError
from modelio.graph.dtypes import DTypePolicy, numpy_dtype, policy_from_config

FILES = Path(__file__).resolve().parents[2] / "fixtures" / "keras3_files" / "dtypes"
KERAS3 = dict(np.load(FILES / "keras3.npz"))
TF_BACKEND = dict(np.load(FILES / "tf_backend.npz"))
TF_KERAS = dict(np.load(FILES / "tf_keras.npz"))
KERAS3_CASES = sorted(key[:-len("/input")] for key in KERAS3 if key.endswith("/input"))
TF_KERAS_CASES = sorted(key[:-len("/input")] for key in TF_KERAS if key.endswith("/input"))
FLOAT16_CASES = [name for name in KERAS3_CASES if "bfloat16" not in name and name != "per_layer"]
BFLOAT16_CASES = [name for name in KERAS3_CASES if name not in FLOAT16_CASES]
# written back (each saved and loaded twice): every policy's attention (sub-layer objects) and
# LSTM (a cell object), plus one of each other family and both per-layer models
WRITE_BACK_CASES = [f"{policy}_{family}" for policy in ("float16", "bfloat16", "mixed_float16",
                                                        "mixed_bfloat16")
                    for family in ("attention", "lstm")] + [
    "float16_embedding", "mixed_float16_conv2d", "bfloat16_batch_norm", "mixed_bfloat16_dense",
    "float16_layer_norm", "per_layer", "per_layer_float16"]
SPACING = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-10}


@functools.cache
def loaded(name: str):
    """The model of fixture `name`, loaded once (tests that only read it share it)."""
    return modelio.load_model(FILES / f"{name}.keras")


def assert_close(got, want, dtype: str, what: str = "") -> None:
    """Within four steps of `dtype`'s spacing at the scale of `want` (see the module doc); a
    float32 model output after half-precision layers is held to the float16 bound."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    bound = 4 * SPACING[dtype] * max(1.0, float(np.max(np.abs(want))))
    worst = float(np.max(np.abs(got - want)))
    assert worst <= bound, f"{what}: max |difference| {worst:.3g} over {bound:.3g}"


def policy_of(name: str) -> str:
    return next(policy for policy in ("mixed_bfloat16", "mixed_float16", "bfloat16", "float16")
                if name.startswith(policy))


def half_of(name: str, recorded: dict) -> str:
    """The half dtype the case computes in (the bound `assert_close` uses)."""
    dtype = str(recorded[f"{name}/output_dtype"])
    if dtype != "float32":
        return dtype
    return "bfloat16" if name == "per_layer" else "float16"


def stored_weights(archive: Path) -> dict:
    """`{dataset path: (dtype name, dtype attribute)}` of the weights inside a `.keras` file."""
    with zipfile.ZipFile(archive) as handle:
        data = handle.read("model.weights.h5")
    return h5_weights(io.BytesIO(data))


def h5_weights(source) -> dict:
    found = {}
    with h5py.File(source, "r") as handle:
        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                tag = item.attrs.get("dtype")
                found[name] = (str(item.dtype), None if tag is None else str(tag))
        handle.visititems(visit)
    return found


def layer_dtypes(archive: Path) -> list:
    with zipfile.ZipFile(archive) as handle:
        config = json.loads(handle.read("config.json"))
    # Keras adds `shared_object_id` where one policy object serves several layers (a
    # model-wide policy); it is a sharing hint, not part of the policy
    return [{key: value for key, value in dtype.items() if key != "shared_object_id"}
            if isinstance(dtype, dict) else dtype
            for dtype in (layer["config"].get("dtype") for layer in config["config"]["layers"])]


# ----- 1. Keras 3 files: outputs, output dtypes, weight dtypes --------------------------------------

@pytest.mark.parametrize("name", KERAS3_CASES)
def test_keras3_policy_file_matches_both_keras_backends_with_keras_output_dtype(name):
    model = loaded(name)
    output = model.predict(KERAS3[f"{name}/input"])
    assert output.dtype.name == str(KERAS3[f"{name}/output_dtype"])
    half = half_of(name, KERAS3)
    assert_close(output, KERAS3[f"{name}/output"], half, "vs Keras (torch)")
    assert_close(output, TF_BACKEND[f"{name}/output"], half, "vs Keras (tensorflow)")


@pytest.mark.parametrize("name", [name for name in KERAS3_CASES if name.startswith(
    ("float16", "bfloat16", "mixed_"))])
def test_weights_are_held_in_the_policys_variable_dtype_as_keras_stored_them(name):
    model = loaded(name)
    policy = policy_of(name)
    expected = "float32" if policy.startswith("mixed_") else policy
    assert {weight.dtype for weight in model.weights} == {expected}
    stored = {dtype if tag is None else tag
              for dtype, tag in stored_weights(FILES / f"{name}.keras").values()}
    assert stored == {expected}


# ----- 2. files modelio writes back ------------------------------------------------------------------

@pytest.mark.parametrize("name", WRITE_BACK_CASES)
def test_written_back_keras_and_weights_files_keep_dtypes_configs_and_outputs(name, tmp_path):
    model = modelio.load_model(FILES / f"{name}.keras")
    x = KERAS3[f"{name}/input"]
    output = model.predict(x)
    modelio.save_model(model, tmp_path / "again.keras")
    model.save_weights(tmp_path / "again.weights.h5")
    # the datasets (dtypes and bfloat16 tags included) are those Keras wrote
    assert stored_weights(tmp_path / "again.keras") == stored_weights(FILES / f"{name}.keras")
    assert h5_weights(tmp_path / "again.weights.h5") == stored_weights(FILES / f"{name}.keras")
    assert layer_dtypes(tmp_path / "again.keras") == layer_dtypes(FILES / f"{name}.keras")
    again = modelio.load_model(tmp_path / "again.keras")
    for before, after in zip(model.get_weights(), again.get_weights()):
        assert before.dtype == after.dtype
        assert before.tobytes() == after.tobytes()
    np.testing.assert_array_equal(again.predict(x), output)


@pytest.mark.parametrize("name", ["float16_lstm", "mixed_float16_conv2d", "mixed_bfloat16_dense"])
def test_legacy_h5_round_trip_keeps_half_precision_weights(name, tmp_path):
    model = modelio.load_model(FILES / f"{name}.keras")
    modelio.save_model(model, tmp_path / "again.h5")
    again = modelio.load_model(tmp_path / "again.h5")
    assert [w.dtype for w in again.weights] == [w.dtype for w in model.weights]
    x = KERAS3[f"{name}/input"]
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_bfloat16_weights_are_refused_by_the_legacy_h5_writer_naming_the_weight(tmp_path):
    model = modelio.load_model(FILES / "bfloat16_batch_norm.keras")
    with pytest.raises(UnsupportedError, match="layer 'bn': weight 'gamma' is bfloat16.*legacy"):
        modelio.save_model(model, tmp_path / "bf16.h5")
    assert not (tmp_path / "bf16.h5").exists()


# ----- 3. tf-keras mixed_float16 files ----------------------------------------------------------------

@pytest.mark.parametrize("name", TF_KERAS_CASES)
def test_tf_keras_mixed_float16_h5_matches_tf_keras_and_exports_to_onnx(name):
    model = modelio.load_model(FILES / f"{name}.h5")
    x = TF_KERAS[f"{name}/input"]
    output = model.predict(x)
    assert output.dtype == np.float16 == TF_KERAS[f"{name}/output"].dtype
    assert all(weight.dtype == "float32" for weight in model.weights)
    assert_close(output, TF_KERAS[f"{name}/output"], "float16", "vs tf-keras")
    (exported,) = run_onnx(modelio.export_onnx(model), {model.input_names[0]: x})
    assert exported.dtype == np.float16
    assert_close(exported, output, "float16", "onnxruntime vs numpy")


def test_tf_keras_json_with_its_policy_objects_and_weights_loads_and_writes_keras3_policies(
        tmp_path):
    name = "tf_keras_mixed_float16_dense"
    text = (FILES / f"{name}.json").read_text()
    assert '"class_name": "Policy"' in text  # tf-keras's form of the policy
    model = modelio.load_model(FILES / f"{name}.json")
    assert_close(model.predict(TF_KERAS[f"{name}/input"]), TF_KERAS[f"{name}/output"],
                 "float16", "vs tf-keras")
    modelio.save_model(model, tmp_path / "again.keras")
    dtypes = layer_dtypes(tmp_path / "again.keras")
    assert dtypes[1:] == [{"module": "keras", "class_name": "DTypePolicy",
                           "config": {"name": "mixed_float16"}, "registered_name": None}] * 2


# ----- 4. ONNX ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FLOAT16_CASES)
def test_float16_models_export_to_onnx_with_float16_tensors_and_match(name):
    model = loaded(name)
    x = KERAS3[f"{name}/input"]
    output = model.predict(x)
    proto = modelio.export_onnx(model)
    (exported,) = run_onnx(proto, {model.input_names[0]: x})
    assert exported.dtype == output.dtype
    half = half_of(name, KERAS3)
    assert_close(exported, output, half, "onnxruntime vs numpy")
    assert_close(exported, KERAS3[f"{name}/output"], half, "onnxruntime vs Keras")
    weight_paths = {weight.path for weight in model.weights}
    weights = [tensor for tensor in proto.graph.initializer if tensor.name.split("/")[0] in
               {path.split("/")[0] for path in weight_paths}]
    # float16 initializers, except where the lowering folds weights into float32 constants
    # of its own (BatchNormalization's scale and shift; the LSTM's gate matrices)
    if name.startswith(("float16", "mixed_float16")) and not name.endswith(("lstm", "batch_norm")):
        assert weights and all(tensor.data_type == TensorProto.FLOAT16 for tensor in weights
                               if tensor.data_type != TensorProto.INT64)


@pytest.mark.parametrize("name", ["bfloat16_dense", "mixed_bfloat16_attention", "per_layer"])
def test_bfloat16_models_are_refused_at_export_naming_the_layers(name):
    model = loaded(name)
    bf16 = [layer.name for layer in model.layers
            if layer.dtype_policy.compute_dtype == "bfloat16"]
    with pytest.raises(UnsupportedError, match=f"{bf16[0]}.*bfloat16.*onnxruntime"):
        modelio.export_onnx(model)


def test_mixed_float16_layer_after_float32_input_casts_at_layer_entry():
    x = modelio.Input((3,))
    y = layers.Dense(2, dtype="mixed_float16", name="half")(x)
    z = layers.Dense(2, name="wide")(y)
    model = modelio.Model(x, [y, z])
    model.layers[1].set_weights([np.full((3, 2), 0.1, np.float32), np.zeros(2, np.float32)])
    model.layers[2].set_weights([np.eye(2, dtype=np.float32), np.zeros(2, np.float32)])
    inputs = np.array([[1.0, 2.0, 3.0]], np.float32)
    half, wide = model.predict(inputs)
    assert half.dtype == np.float16 and wide.dtype == np.float32
    proto = modelio.export_onnx(model)
    cast_targets = [attribute.i for node in proto.graph.node if node.op_type == "Cast"
                    for attribute in node.attribute]
    assert TensorProto.FLOAT16 in cast_targets and TensorProto.FLOAT in cast_targets
    got_half, got_wide = run_onnx(proto, {model.input_names[0]: inputs})
    assert got_half.dtype == np.float16 and got_wide.dtype == np.float32
    np.testing.assert_array_equal(got_half, half)
    np.testing.assert_allclose(got_wide, wide, rtol=1e-3)


# ----- 5. policies and bfloat16 arithmetic -------------------------------------------------------------

@pytest.mark.parametrize("name, compute, variable", [
    ("float16", "float16", "float16"), ("bfloat16", "bfloat16", "bfloat16"),
    ("mixed_float16", "float16", "float32"), ("mixed_bfloat16", "bfloat16", "float32")])
def test_policies_split_compute_and_variable_dtypes_as_keras(name, compute, variable):
    for value in (name, {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}},
                  {"module": "keras.mixed_precision", "class_name": "Policy",
                   "config": {"name": name}}):
        policy = policy_from_config(value)
        assert (policy.compute_dtype, policy.variable_dtype) == (compute, variable)
        assert policy.get_config()["config"] == {"name": name}


@pytest.mark.parametrize("name", ["mixed_float64", "mixed_int8", "mixed_float32", "bfloat8"])
def test_policies_keras_does_not_have_are_refused(name):
    with pytest.raises(UnsupportedError, match=name):
        layers.Dense(2, dtype=name)


def test_a_policy_name_must_be_a_string():
    with pytest.raises(ConfigError):
        DTypePolicy(16)


def test_bfloat16_layer_computes_in_float32_on_rounded_values_and_outputs_bfloat16():
    bf16 = numpy_dtype("bfloat16")
    layer = layers.Dense(3, dtype="mixed_bfloat16")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4)).astype(np.float32)
    layer(x)
    kernel = rng.normal(size=(4, 3)).astype(np.float32)
    layer.set_weights([kernel, np.zeros(3, np.float32)])
    assert layer.weights[0].dtype == "float32"  # mixed: variables stay float32
    output = layer(x)
    assert output.dtype == bf16
    rounded = x.astype(bf16).astype(np.float32) @ kernel.astype(bf16).astype(np.float32)
    np.testing.assert_array_equal(output, rounded.astype(bf16))
    assert layer.compute_dtype == "bfloat16"  # the float32 carrier ends with the call


def test_bfloat16_outputs_feed_a_float32_layer_which_autocasts_them():
    x = modelio.Input((4,))
    h = layers.Dense(3, dtype="bfloat16", name="narrow")(x)
    model = modelio.Model(x, layers.Dense(2, name="wide")(h))
    assert h.dtype == "bfloat16" and model.outputs[0].dtype == "float32"
    assert model.predict(np.ones((1, 4), np.float32)).dtype == np.float32


def test_ml_dtypes_is_imported_only_when_a_model_needs_bfloat16():
    script = (f"import sys, modelio\n"
              f"modelio.load_model({str(FILES / 'mixed_float16_dense.keras')!r})\n"
              f"print('ml_dtypes' in sys.modules)\n"
              f"modelio.load_model({str(FILES / 'mixed_bfloat16_dense.keras')!r})\n"
              f"print('ml_dtypes' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Bidirectional(layers.LSTM(3, dtype="mixed_float16"), dtype="mixed_float16"),
     (4, 2)),
    (lambda: layers.TimeDistributed(layers.Conv1D(2, 2, dtype="float16"), dtype="float16"),
     (4, 5, 2))], ids=["bidirectional_lstm", "time_distributed_conv1d"])
def test_float16_wrappers_export_their_inner_layers_in_float32_between_casts(make, shape):
    x = modelio.Input(shape)
    model = modelio.Model(x, make()(x))
    data = np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32)
    output = model.predict(data)
    (exported,) = run_onnx(modelio.export_onnx(model), {model.input_names[0]: data})
    assert exported.dtype == output.dtype == np.float16
    assert_close(exported, output, "float16", "onnxruntime vs numpy")


def test_bfloat16_outputs_are_written_to_npz_widened_exactly_to_float32(tmp_path):
    from modelio.outputs import save_npz

    value = np.array([1.0, 2.0**-7 + 1.0, -3.5], np.float32).astype(numpy_dtype("bfloat16"))
    save_npz(tmp_path / "y.npz", {"y": value})
    with np.load(tmp_path / "y.npz") as archive:
        stored = archive["y"]
    assert stored.dtype == np.float32
    np.testing.assert_array_equal(stored, value.astype(np.float32))
