"""tf-keras 2.21's experimental DynamicLookup and DynamicEmbedding at inference, against what
tf-keras computed (tools/dynamic_lookup_fixtures.py: `.h5` and JSON + `.weights.h5` files for
integer vocabularies, in-memory records for string vocabularies, which tf-keras cannot save).
modelio alone runs here; no Keras import."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from onnx_session import run_onnx

import modelio
from modelio import layers
from modelio.errors import ConfigError, UnsupportedError

FILES = Path(__file__).resolve().parents[2] / "fixtures" / "keras2_files" / "dynamic_lookup"
FILE_MODELS = ("lookup_int64", "lookup_int32", "embedding_int64")
MEMORY_MODELS = ("lookup_string", "embedding_string")


def recorded(name):
    with np.load(FILES / f"{name}.npz") as handle:
        count = len(handle["weight_names"])
        return {"x": handle["input:x"], "y": handle["output:0"],
                "config": json.loads(str(handle["config"])),
                "weight_names": [str(item) for item in handle["weight_names"]],
                "weights": [handle[f"weight:{i}"] for i in range(count)]}


def layer_class(name):
    return layers.DynamicLookup if name.startswith("lookup") else layers.DynamicEmbedding


def rebuilt(name):
    """A model around the layer rebuilt from tf-keras's config and weights."""
    record = recorded(name)
    layer = layer_class(name).from_config(record["config"])
    dtype = "string" if record["x"].dtype.kind == "U" else record["x"].dtype.name
    x = modelio.Input(record["x"].shape[1:], dtype=dtype, name="x")
    model = modelio.Model(x, layer(x))
    layer.set_weights(record["weights"])
    return model, record


def without_dtype(config):
    return {key: value for key, value in config.items() if key != "dtype"}


@pytest.mark.parametrize("suffix", (".h5", ".json"))
@pytest.mark.parametrize("name", FILE_MODELS)
def test_files_tf_keras_wrote_load_and_predict_what_tf_keras_predicted(name, suffix):
    record = recorded(name)
    model = modelio.load_model(FILES / f"{name}{suffix}")
    got = model.predict(record["x"])
    assert got.dtype == record["y"].dtype
    np.testing.assert_allclose(got, record["y"], rtol=1e-6, atol=0)
    layer = model.layers[-1]
    assert without_dtype(layer.get_config()) == without_dtype(record["config"])
    for mine, theirs in zip(layer.get_weights(), record["weights"], strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("name", MEMORY_MODELS)
def test_string_vocabularies_rebuilt_from_config_predict_what_tf_keras_predicted(name):
    model, record = rebuilt(name)
    got = model.predict(record["x"])
    assert got.dtype == record["y"].dtype
    np.testing.assert_allclose(got, record["y"], rtol=1e-6, atol=0)
    assert without_dtype(model.layers[-1].get_config()) == without_dtype(record["config"])


def test_repeated_token_takes_its_first_index_and_unknowns_take_vocabulary_size():
    record = recorded("lookup_int64")  # vocabulary [7, 3, 9, 3], vocabulary_size 5
    assert record["config"]["initial_vocabulary"] == [7, 3, 9, 3]
    np.testing.assert_array_equal(record["y"], [[1, 2, 5], [0, 5, 1], [2, 2, 5]])
    layer = layers.DynamicLookup(5, [7, 3, 9, 3])
    layer.build((None, 3))
    np.testing.assert_array_equal(layer(record["x"]), record["y"])


@pytest.mark.parametrize("name", FILE_MODELS)
def test_weight_order_and_frequency_table_length_follow_tf_keras(name):
    record = recorded(name)
    layer = layer_class(name).from_config(record["config"])
    layer.build((None, 3))
    assert [w.shape for w in layer.weights] == [w.shape for w in record["weights"]]
    assert [n.split("/")[-1].split(":")[0] for n in record["weight_names"]] == [
        w.name for w in layer.weights]


@pytest.mark.parametrize("name", FILE_MODELS + MEMORY_MODELS)
def test_onnx_export_matches_onnxruntime_and_tf_keras(name):
    model, record = rebuilt(name)
    x = record["x"].astype(object) if record["x"].dtype.kind == "U" else record["x"]
    (got,) = run_onnx(modelio.export_onnx(model), {"x": x})
    assert got.dtype == record["y"].dtype
    np.testing.assert_allclose(got, record["y"], rtol=1e-6, atol=0)


@pytest.mark.parametrize("suffix", (".keras", ".h5"))
@pytest.mark.parametrize("name", FILE_MODELS)
def test_files_modelio_writes_load_back_with_the_same_outputs(name, suffix):
    record = recorded(name)
    model = modelio.load_model(FILES / f"{name}.h5")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"model{suffix}"
        model.save(path)
        again = modelio.load_model(path)
    np.testing.assert_array_equal(again.predict(record["x"]), record["y"])
    assert again.layers[-1].get_config() == model.layers[-1].get_config()


def test_dynamic_embedding_config_writes_embedding_rows_as_input_dim():
    layer = layers.DynamicEmbedding(4, 3, [7, 3, 9, 5], num_oov_indices=2, name="emb")
    layer.build((None, 3))
    assert layer.get_config()["input_dim"] == 6
    assert layer.embeddings.shape == (6, 3)
    again = layers.DynamicEmbedding.from_config(layer.get_config())
    assert again.input_dim == 4 and again.lookup_layer.oov_index == 4


def test_a_dtype_name_as_initial_vocabulary_draws_vocabulary_size_tokens():
    strings = layers.DynamicLookup(3, "string", name="s")
    assert len(strings.initial_vocabulary) == 3
    assert all(isinstance(t, str) and len(t) == 10 for t in strings.initial_vocabulary)
    ints = layers.DynamicLookup(4, "int32", name="i")
    assert all(0 <= t < 4 for t in ints.initial_vocabulary) and ints.vocabulary_dtype == "int64"


@pytest.mark.parametrize("kwargs, match", [
    ({"vocabulary_size": 3, "initial_vocabulary": [1, 2], "eviction_policy": "LRU"},
     "eviction_policy"),
    ({"vocabulary_size": 0, "initial_vocabulary": [1, 2]}, "vocabulary_size"),
    ({"vocabulary_size": 3, "initial_vocabulary": []}, "empty"),
    ({"vocabulary_size": 3, "initial_vocabulary": ["a", 2]}, "only strings or only integers"),
    ({"vocabulary_size": 3, "initial_vocabulary": [1.5, 2.0]}, "only strings or only integers"),
    ({"vocabulary_size": 3, "initial_vocabulary": "float32"}, "initial_vocabulary"),
    ({"vocabulary_size": 3, "initial_vocabulary": {"a": 1}}, "initial_vocabulary"),
    ({"vocabulary_size": 3, "initial_vocabulary": [2**64]}, "int64"),
])
def test_bad_dynamic_lookup_configs_are_refused_naming_the_layer(kwargs, match):
    with pytest.raises(ConfigError, match=match) as caught:
        layers.DynamicLookup.from_config({"name": "bad_lookup", **kwargs})
    assert "bad_lookup" in str(caught.value) and "DynamicLookup" in str(caught.value)


@pytest.mark.parametrize("config, match", [
    ({"input_dim": 2, "num_oov_indices": 2}, "must exceed num_oov_indices"),
    ({"input_dim": "6"}, "input_dim must be an integer"),
    ({"input_dim": 6, "output_dim": 0}, "output_dim"),
    ({"input_dim": 6, "embedding_initializer": "no_such_initializer"}, "embedding_initializer"),
    ({"input_dim": 6, "input_length": -1}, "input_length"),
    ({"input_dim": 6, "eviction_policy": "FIFO"}, "eviction_policy"),
])
def test_bad_dynamic_embedding_configs_are_refused_naming_the_layer(config, match):
    base = {"name": "bad_embedding", "output_dim": 2, "initial_vocabulary": [1, 2, 3]}
    with pytest.raises(ConfigError, match=match) as caught:
        layers.DynamicEmbedding.from_config({**base, **config})
    assert "bad_embedding" in str(caught.value)


def test_no_oov_row_is_refused_as_tf_keras_fails_on_the_first_unknown_token():
    with pytest.raises(UnsupportedError, match="num_oov_indices=0"):
        layers.DynamicEmbedding(3, 2, [1, 2, 3], num_oov_indices=0, name="no_oov")


def test_inputs_of_the_other_kind_than_the_vocabulary_are_refused_naming_the_layer():
    strings = layers.DynamicLookup(3, ["a", "b"], name="words")
    strings.build((None, 2))
    with pytest.raises(ConfigError, match="'words'.*string inputs"):
        strings(np.array([[1, 2]]))
    ints = layers.DynamicLookup(3, [1, 2], name="ids")
    ints.build((None, 2))
    with pytest.raises(ConfigError, match="'ids'.*integer inputs"):
        ints(np.array([["a", "b"]]))


def test_onnx_export_of_integer_vocabulary_fed_strings_is_refused_naming_the_layer():
    x = modelio.Input((2,), dtype="string", name="x")
    model = modelio.Model(x, layers.DynamicEmbedding(3, 2, [1, 2, 3], name="ids_emb")(x))
    with pytest.raises(UnsupportedError, match="'ids_emb' \\(DynamicEmbedding\\)"):
        modelio.export_onnx(model)


@pytest.mark.parametrize("file_name", ["model.keras", "model.h5", "model.weights.h5"])
def test_string_vocabularies_are_refused_when_saving_naming_the_weight(file_name):
    """tf-keras cannot write these at all (its config holds bytes); modelio's weight files hold
    numbers only, so saving refuses the string weights instead of writing a file it could not
    read back, and leaves nothing behind."""
    model, _ = rebuilt("lookup_string")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / file_name
        with pytest.raises(UnsupportedError, match="vocabulary_table_keys.*strings"):
            if file_name.endswith(".weights.h5"):
                model.save_weights(path)
            else:
                model.save(path)
        assert not list(Path(folder).iterdir())

