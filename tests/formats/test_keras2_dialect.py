"""Writing models in tf-keras's (Keras 2's) config dialect, so that tf-keras loads the `.h5`,
JSON and YAML files modelio writes of Keras 2 models.

The ground truth is what tf-keras 2.21 itself wrote: fixtures/keras2/*.json. modelio reads each,
writes it back in the Keras 2 dialect, and the graph part (inbound nodes, node indices of nested
models, inputs and outputs) must come out exactly as tf-keras wrote it. That tf-keras loads the
written files and computes the recorded outputs is shown by tools/check_legacy_h5_in_keras.py
(fixtures/evidence/keras_loads_modelio_h5.txt)."""

import json
import warnings

import h5py
import numpy as np
import pytest
from fixture_models import (
    FIXTURES,
    MODEL_NAMES,
    fixture_arrays,
    fixture_document,
    load_fixture_model,
)

import modelio
from modelio.cli import main as cli_main
from modelio.errors import FormatError, UnsupportedError

CATALOG = ["small_resnet", "small_mobilenet", "transformer_block"]


def _predict(model, arrays):
    inputs = {key[len("input:"):]: value for key, value in arrays.items() if key.startswith("input:")}
    feed = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    outputs = model.predict(feed)
    return outputs if isinstance(outputs, list) else [outputs]


@pytest.mark.parametrize("name", MODEL_NAMES + CATALOG)
def test_keras2_model_is_written_with_the_graph_tf_keras_wrote(name):
    written = modelio.model_to_config(load_fixture_model("keras2", name), keras_version=2)
    recorded = fixture_document("keras2", name)
    assert written["class_name"] == recorded["class_name"]
    assert written["keras_version"].startswith("2.")
    if recorded["class_name"] == "Sequential":
        assert [entry["class_name"] for entry in written["config"]["layers"]] == \
            [entry["class_name"] for entry in recorded["config"]["layers"]]
        return
    ours, theirs = written["config"], recorded["config"]
    by_name = {entry["name"]: entry for entry in theirs["layers"]}
    assert [entry["name"] for entry in ours["layers"]] == [entry["name"] for entry in theirs["layers"]]
    for entry in ours["layers"]:
        assert entry["class_name"] == by_name[entry["name"]]["class_name"]
        assert entry["inbound_nodes"] == by_name[entry["name"]]["inbound_nodes"], entry["name"]
        assert "module" not in entry and "build_config" not in entry
    assert ours["input_layers"] == theirs["input_layers"]
    assert ours["output_layers"] == theirs["output_layers"]


@pytest.mark.parametrize("name", ["mlp", "nested_functional", "nested_model_as_output",
                                  "shared_layers", "tensor_in_call_kwargs"])
def test_keras2_h5_written_by_default_for_a_keras2_file_reloads_identical(tmp_path, name):
    model = load_fixture_model("keras2", name)
    arrays = fixture_arrays("keras2", name)
    path = tmp_path / f"{name}.h5"
    modelio.save_model(model, path)  # default: the dialect the model came from
    with h5py.File(path, "r") as handle:
        assert handle.attrs["keras_version"] == "2.21.0"
        document = json.loads(handle.attrs["model_config"])
        assert isinstance(document["config"]["layers"][-1]["inbound_nodes"][0], list)
        weights = handle["model_weights"]
        names = [name for layer in weights.attrs["layer_names"]
                 for name in weights[layer].attrs["weight_names"]]
        assert len(names) == len(model.weights)
        assert all(name.endswith(b":0") for name in names)  # tf-keras's weight names
    again = modelio.load_model(path)
    for got, want in zip(_predict(again, arrays), _predict(model, arrays)):
        np.testing.assert_array_equal(got, want)


def test_keras3_model_is_written_in_keras3_dialect_by_default(tmp_path):
    model = load_fixture_model("keras3", "mlp")
    modelio.save_model(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as handle:
        assert handle.attrs["keras_version"].startswith("3.")


def test_keras3_model_can_be_written_for_tf_keras_and_reads_back(tmp_path):
    model = load_fixture_model("keras3", "two_inputs_two_outputs")
    arrays = fixture_arrays("keras3", "two_inputs_two_outputs")
    modelio.save_model(model, tmp_path / "m.h5", keras_version=2)
    document = json.loads(h5py.File(tmp_path / "m.h5", "r").attrs["model_config"])
    inputs = [entry for entry in document["config"]["layers"] if entry["class_name"] == "InputLayer"]
    assert all("batch_input_shape" in entry["config"] and "batch_shape" not in entry["config"]
               for entry in inputs)
    dense = next(entry for entry in document["config"]["layers"] if entry["class_name"] == "Dense")
    assert dense["config"]["dtype"] == "float32"
    assert "module" not in dense["config"]["kernel_initializer"]
    assert "quantization_config" not in dense["config"]
    again = modelio.load_model(tmp_path / "m.h5")
    for got, want in zip(_predict(again, arrays), _predict(model, arrays)):
        np.testing.assert_array_equal(got, want)


def test_keras2_json_and_yaml_keep_the_keras2_dialect(tmp_path):
    model = load_fixture_model("keras2", "shared_layers")
    for suffix in (".json", ".yaml"):
        modelio.save_model(model, tmp_path / f"m{suffix}")
        text = (tmp_path / f"m{suffix}").read_text()
        assert "batch_input_shape" in text and "keras_history" not in text
        assert modelio.load_model(tmp_path / f"m{suffix}").count_params() == model.count_params()
    assert "keras_history" in model.to_json()  # to_json is Keras 3's unless asked
    assert "keras_history" not in model.to_json(keras_version=2)


def test_keras2_hard_sigmoid_is_written_under_its_tf_keras_name():
    model = load_fixture_model("keras2", "activations_in_dense")
    written = json.dumps(modelio.model_to_config(model, keras_version=2))
    assert '"activation": "hard_sigmoid"' in written and "keras2" not in written


def test_keras3_hard_sigmoid_is_refused_in_the_keras2_dialect():
    x = modelio.Input((3,))
    model = modelio.Model(x, modelio.layers.Dense(2, activation="hard_sigmoid")(x))
    with pytest.raises(UnsupportedError, match="hard_sigmoid.*x/6"):
        modelio.model_to_config(model, keras_version=2)


def test_keras3_operation_is_refused_in_the_keras2_dialect_by_name(tmp_path):
    x = modelio.Input((3,))
    model = modelio.Model(x, modelio.ops.Logaddexp()(modelio.layers.Dense(2)(x), 1.0))
    with pytest.raises(UnsupportedError, match="Logaddexp.*no Keras 2 form"):
        modelio.save_model(model, tmp_path / "m.h5", keras_version=2)
    assert not (tmp_path / "m.h5").exists()


def test_keras2_model_holding_keras3_operations_falls_back_to_keras3_with_a_warning(tmp_path):
    keras2 = load_fixture_model("keras2", "mlp")
    model = modelio.Model(keras2.inputs, modelio.ops.Logaddexp()(keras2.outputs[0], 1.0))
    model._source_keras_version = 2  # as if read from a tf-keras file (model_from_config sets it)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modelio.save_model(model, tmp_path / "m.h5")
    assert any("tf-keras cannot read" in str(item.message) for item in caught)
    with h5py.File(tmp_path / "m.h5", "r") as handle:
        assert handle.attrs["keras_version"].startswith("3.")


def test_keras3_only_argument_away_from_keras2_behaviour_is_refused():
    x = modelio.Input((4, 3))
    model = modelio.Model(x, modelio.layers.LayerNormalization(rms_scaling=True)(x))
    with pytest.raises(UnsupportedError, match="rms_scaling=True has no Keras 2 form"):
        modelio.model_to_config(model, keras_version=2)


def test_keras_version_must_be_2_or_3(tmp_path):
    model = load_fixture_model("keras3", "mlp")
    with pytest.raises(modelio.ModelioError, match="keras_version must be 2, 3 or None"):
        modelio.model_to_config(model, keras_version=4)
    with pytest.raises(FormatError, match="Keras 3 only"):
        modelio.save_model(model, tmp_path / "m.keras", keras_version=2)


def test_cli_convert_writes_the_keras2_dialect_on_request(tmp_path, capsys):
    source = FIXTURES / "keras3_h5" / "sequential_mlp.h5"
    destination = tmp_path / "for_tf_keras.h5"
    assert cli_main(["convert", str(source), str(destination), "--keras-version", "2", "-q"]) == 0
    with h5py.File(destination, "r") as handle:
        assert handle.attrs["keras_version"] == "2.21.0"
        assert "batch_input_shape" in handle.attrs["model_config"]
    assert cli_main(["convert", str(source), str(tmp_path / "x.keras"), "--keras-version", "2"]) != 0
    assert "--keras-version applies to" in capsys.readouterr().err
