"""ONNX export of the core layers, proven in onnxruntime against modelio's numpy kernels and
Keras's recorded outputs, at opsets 13, 17 and the newest onnxruntime runs."""

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from fixture_models import (
    FIXTURES,
    fixture_arrays,
    load_fixture_model,
    predict_as_list,
    recorded_inputs,
    recorded_outputs,
)
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.graph.layer import Layer
from modelio.onnx.activation_functions import ACTIVATIONS
from modelio.onnx.export import MAX_OPSET, ir_version_for

OPSETS = [13, 17, MAX_OPSET]
EXPORTABLE = ["mlp", "two_inputs_two_outputs", "shared_layers", "nested_sequential",
              "nested_functional", "core_layers", "sequential_mlp", "layer_called_outside",
              "nested_model_as_output"]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("name", EXPORTABLE)
def test_exported_fixture_runs_in_onnxruntime_like_numpy_and_keras(name, dialect, opset):
    arrays = fixture_arrays(dialect, name)
    model = load_fixture_model(dialect, name)
    inputs = recorded_inputs(arrays)
    proto = modelio.export_onnx(model, opset=opset)
    assert proto.ir_version == ir_version_for(opset)
    onnx_outputs = run_onnx(proto, inputs)
    for got, numpy_output, keras_output in zip(onnx_outputs, predict_as_list(model, inputs),
                                                recorded_outputs(arrays)):
        np.testing.assert_allclose(got, numpy_output, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(got, keras_output, rtol=1e-4, atol=1e-4)


def test_batch_sizes_one_and_five_run_through_the_same_graph():
    model = load_fixture_model("keras3", "two_inputs_two_outputs")
    proto = modelio.export_onnx(model)
    rng = np.random.default_rng(0)
    for batch in (1, 5):
        inputs = {"features": rng.normal(size=(batch, 6)).astype(np.float32),
                  "extra": rng.normal(size=(batch, 3)).astype(np.float32)}
        for got, want in zip(run_onnx(proto, inputs), model.predict(inputs)):
            assert got.shape[0] == batch
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_graph_names_metadata_and_dynamic_batch():
    model = load_fixture_model("keras3", "two_inputs_two_outputs")
    proto = modelio.export_onnx(model)
    assert [tensor.name for tensor in proto.graph.input] == ["features", "extra"]
    assert [tensor.name for tensor in proto.graph.output] == ["score", "label"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {prop.key: prop.value for prop in proto.metadata_props}["model_name"] == "two_in_two_out"
    assert any(tensor.name.startswith("score/kernel") for tensor in proto.graph.initializer)
    fixed = modelio.export_onnx(model, batch_size=4)
    assert fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


def test_a_nested_model_called_twice_shares_its_weights_once():
    proto = modelio.export_onnx(load_fixture_model("keras3", "nested_sequential"))
    names = [tensor.name for tensor in proto.graph.initializer]
    assert len([name for name in names if "kernel" in name]) == 3   # inner dense x2, head


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_exportable_activation_matches_numpy(name):
    x = modelio.Input((6,), name="x")
    activation = name if name != "modelio>hard_sigmoid_keras2" else "hard_sigmoid"
    if name == "modelio>hard_sigmoid_keras2":
        with modelio.graph.keras2_semantics():
            dense = layers.Dense(4, activation=activation)
    else:
        dense = layers.Dense(4, activation=activation)
    model = modelio.Model(x, dense(x))
    data = np.linspace(-4, 4, 30, dtype=np.float32).reshape(5, 6)
    for opset in (13, MAX_OPSET):
        np.testing.assert_allclose(run_onnx(modelio.export_onnx(model, opset=opset), {"x": data})[0],
                                   model.predict(data), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("config", [
    {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.2}, {"max_value": 6.0},
    {"negative_slope": 0.3}, {"threshold": 0.5}, {"negative_slope": 0.2, "threshold": 0.4}])
def test_relu_variants_match_numpy(config):
    x = modelio.Input((8,), name="x")
    model = modelio.Model(x, layers.ReLU(**config)(x))
    data = np.linspace(-3, 3, 16, dtype=np.float32).reshape(2, 8)
    np.testing.assert_allclose(run_onnx(modelio.export_onnx(model), {"x": data})[0], model.predict(data),
                               rtol=1e-6, atol=1e-6)


class Doubler(Layer):
    """A custom layer: no ONNX lowering is registered for it."""

    def call(self, x):
        return x * 2


class Halver(Layer):
    def call(self, x):
        return x / 2


def test_unsupported_layers_are_all_listed_at_once():
    x = modelio.Input((3,))
    y = Halver(name="half")(Doubler(name="double")(Doubler(name="twice")(x)))
    with pytest.raises(modelio.UnsupportedError,
                       match=r"Doubler \((double, twice|twice, double)\); Halver \(half\)"):
        modelio.export_onnx(modelio.Model(x, y))


@pytest.mark.parametrize("opset", [12, 27, "17", True])
def test_opsets_outside_the_supported_range_are_refused(opset):
    x = modelio.Input((2,))
    with pytest.raises(modelio.ConfigError, match="opset"):
        modelio.export_onnx(modelio.Model(x, layers.Dense(1)(x)), opset=opset)


def test_convert_command_writes_a_checked_onnx_file_and_refuses_to_overwrite(tmp_path):
    destination = tmp_path / "mlp.onnx"
    source = FIXTURES / "keras3_files" / "mlp.keras"
    command = [sys.executable, "-m", "modelio", "convert", str(source), str(destination)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    onnx.checker.check_model(onnx.load(destination), full_check=True)
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and "--force" in second.stderr
    forced = subprocess.run(command + ["--force", "--opset", "13"], capture_output=True, text=True,
                            timeout=120)
    assert forced.returncode == 0 and onnx.load(destination).opset_import[0].version == 13


def test_verify_command_reports_each_output_and_passes_on_a_catalog_model():
    source = FIXTURES / "keras3_files" / "small_mobilenet.keras"
    result = subprocess.run([sys.executable, "-m", "modelio", "verify", str(source)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "max |numpy - onnxruntime|" in result.stdout and "(ok)" in result.stdout


def test_verify_command_exits_1_when_the_difference_exceeds_atol():
    source = FIXTURES / "keras3_files" / "small_mobilenet.keras"
    result = subprocess.run([sys.executable, "-m", "modelio", "verify", str(source), "--atol", "0"],
                            capture_output=True, text=True, timeout=120)
    if "(ok)" in result.stdout and result.returncode == 0:
        pytest.skip("numpy and onnxruntime agreed bit for bit on this machine")
    assert result.returncode == 1 and "MISMATCH" in result.stdout
    assert "verify failed" in result.stderr


def test_verify_command_refuses_unexportable_models_with_one_line(tmp_path):
    x = modelio.Input((5, 3), dtype="float64")
    source = tmp_path / "float64_lstm.keras"
    modelio.Model(x, layers.LSTM(2, dtype="float64", name="lstm")(x)).save(source)
    result = subprocess.run([sys.executable, "-m", "modelio", "verify", str(source)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("modelio: error:")
    assert "'lstm'" in result.stderr and "float64" in result.stderr
    assert "Traceback" not in result.stderr


def test_external_data_on_request_runs_in_onnxruntime(tmp_path):
    model = load_fixture_model("keras3", "mlp")
    path = tmp_path / "mlp.onnx"
    modelio.export_onnx(model, path, external_data=True)
    assert (tmp_path / "mlp.onnx.data").stat().st_size > 0
    assert path.stat().st_size < 20_000       # the graph alone; weights are in the data file
    arrays = fixture_arrays("keras3", "mlp")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, recorded_inputs(arrays))[0]
    np.testing.assert_allclose(got, recorded_outputs(arrays)[0], rtol=1e-5, atol=1e-5)


def test_weights_over_the_threshold_switch_to_external_data_automatically(tmp_path, monkeypatch):
    # The real threshold is 1.8 GiB (protobuf's 2 GiB limit); lowered here so the test stays fast.
    monkeypatch.setattr(modelio.onnx.export, "EXTERNAL_DATA_THRESHOLD", 1000)
    model = load_fixture_model("keras3", "mlp")
    modelio.export_onnx(model, tmp_path / "auto.onnx")
    assert (tmp_path / "auto.onnx.data").exists()
    with pytest.raises(modelio.ConfigError, match="external data"):
        modelio.export_onnx(model)


def test_model_over_two_gigabytes_exports_with_external_data_and_runs(tmp_path):
    import shutil
    if shutil.disk_usage(tmp_path).free < 6 * 2**30:
        pytest.skip("needs about 6 GiB of free disk for a 2.0 GiB weight file")
    size = 23_200                                   # 23,200^2 float32 = 2.0 GiB
    x = modelio.Input((size,), name="x")
    with modelio.graph.layer.weights_follow():     # zero-cost placeholder weights
        dense = layers.Dense(size, use_bias=False, name="huge")
        model = modelio.Model(x, dense(x))
    dense.kernel.value = np.broadcast_to(np.float32(0.5), (size, size))
    path = tmp_path / "huge.onnx"
    modelio.export_onnx(model, path)               # automatic: over the 1.8 GiB threshold
    assert (tmp_path / "huge.onnx.data").stat().st_size >= size * size * 4
    assert path.stat().st_size < 10_000
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    data = np.ones((1, size), np.float32)
    np.testing.assert_allclose(session.run(None, {"x": data})[0], np.full((1, size), 0.5 * size),
                               rtol=1e-5)
