"""Legacy `.h5` files: whole models and Keras 2 weight files, read and written.

Fixtures come from real Keras (tools/legacy_h5_fixtures.py): tf-keras 2.21 `model.save("x.h5")`
and `save_weights("x.h5")` in fixtures/keras2_files, Keras 3.15.1 `model.save("x.h5")` in
fixtures/keras3_h5, each with the inputs and outputs Keras computed (NAME.h5.npz).
"""

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixture_models import predict_as_list, recorded_inputs, recorded_outputs

import modelio
from modelio import FormatError, ModelioError, UnsafeContentError, WeightMismatchError
from modelio.formats import legacy_h5
from modelio.formats.legacy_h5 import (
    legacy_weights,
    load_h5_model,
    load_h5_weights,
    read_model_config,
    save_h5_model,
    save_h5_weights,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CATALOG = {"small_resnet", "small_mobilenet", "text_rnn", "transformer_block"}
KERAS_FILES = sorted(
    [path for path in (FIXTURES / "keras2_files").glob("*.h5")
     if not path.name.startswith("weights_only_")]
    + sorted((FIXTURES / "keras3_h5").glob("*.h5")))
WEIGHTS_ONLY = sorted((FIXTURES / "keras2_files").glob("weights_only_*.h5"))


def file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def arrays_for(path: Path) -> dict:
    with np.load(f"{path}.npz") as archive:
        return dict(archive)


def tolerance(path: Path) -> float:
    return 1e-4 if path.stem in CATALOG else 1e-5


def assert_matches_recorded(model, arrays, atol):
    got = predict_as_list(model, recorded_inputs(arrays))
    want = recorded_outputs(arrays)
    assert len(got) == len(want)
    for value, expected in zip(got, want):
        np.testing.assert_allclose(value, expected, rtol=atol, atol=atol)


def weight_values(model) -> list:
    return [np.array(weight.value) for weight in model.weights]


def small_model(units=(3, 2), names=("first", "second")):
    x = modelio.Input((4,), name="x")
    y = x
    for count, name in zip(units, names):
        y = modelio.layers.Dense(count, name=name)(y)
    model = modelio.Model(x, y, name="small")
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=weight.shape).astype(np.float32)
                       for weight in model.weights])
    return model


# ------------------------------------------------------------------------------------------------
# Files written by real Keras
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", KERAS_FILES, ids=file_id)
def test_keras_written_h5_model_computes_what_keras_computed(path):
    model = load_h5_model(path)
    assert_matches_recorded(model, arrays_for(path), tolerance(path))


@pytest.mark.parametrize("path", WEIGHTS_ONLY, ids=file_id)
def test_tf_keras_save_weights_file_loads_into_the_same_architecture(path):
    full = path.parent / (path.name[len("weights_only_"):])
    with h5py.File(full) as handle:
        document = read_model_config(handle, full)
    model = modelio.model_from_config(document)          # fresh weights
    load_h5_weights(model, path)
    assert_matches_recorded(model, arrays_for(full), tolerance(full))


def test_nested_model_weights_are_stored_trainable_first_then_frozen_and_statistics():
    path = FIXTURES / "keras2_files" / "nested_frozen.h5"
    model = load_h5_model(path)
    inner = model.get_layer("inner_block")
    assert [weight.path for weight in legacy_weights(inner)] == [
        "inner_first/kernel", "inner_first/bias", "inner_bn/gamma", "inner_bn/beta",
        "inner_last/kernel", "inner_last/bias", "inner_bn/moving_mean",
        "inner_bn/moving_variance", "inner_frozen/kernel", "inner_frozen/bias"]
    with h5py.File(path) as handle:
        group = handle["model_weights/inner_block"]
        stored = [name.decode() if isinstance(name, bytes) else name
                  for name in group.attrs["weight_names"]]
        assert stored[-2:] == ["inner_frozen/kernel:0", "inner_frozen/bias:0"]
        np.testing.assert_array_equal(inner.get_layer("inner_frozen").get_weights()[0],
                                      group["inner_frozen/kernel:0"][()])
        np.testing.assert_array_equal(inner.get_layer("inner_bn").get_weights()[2],
                                      group["inner_bn/moving_mean:0"][()])
    # A nested Sequential frozen as a whole: tf-keras writes no `trainable` for the Sequential
    # but freezes each sublayer; Keras 3 writes `trainable: false`. Either way every weight is
    # non-trainable and the legacy order is the per-layer order.
    for source in (path, FIXTURES / "keras3_h5" / "nested_frozen.h5"):
        locked = load_h5_model(source).get_layer("locked_block")
        assert locked.trainable_weights == []
        assert legacy_weights(locked) == locked.weights


def test_keras3_h5_operation_entries_without_module_still_load():
    # Keras 3 drops `module` from .h5 configs, so its own NotEqual (Embedding mask) entry is
    # unreadable even to Keras 3; modelio restores it.
    model = load_h5_model(FIXTURES / "keras3_h5" / "text_rnn.h5")
    assert "not_equal" in [operation.name for operation in model.operations]


def test_full_model_file_also_serves_as_a_weights_file():
    path = FIXTURES / "keras2_files" / "small_resnet.h5"
    with h5py.File(path) as handle:
        model = modelio.model_from_config(read_model_config(handle, path))
    load_h5_weights(model, path)
    assert_matches_recorded(model, arrays_for(path), 1e-4)


# ------------------------------------------------------------------------------------------------
# Writing, and reading back
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", KERAS_FILES, ids=file_id)
def test_written_h5_model_reloads_identical(path, tmp_path):
    model = load_h5_model(path)
    target = tmp_path / "copy.h5"
    save_h5_model(model, target)
    # as a fresh process reads it: a Keras 2 file has no names for the operations that compute
    # masks, and names made up in this session would count on from the first load's
    modelio.clear_session()
    again = load_h5_model(target)
    assert again.get_config() == model.get_config()
    for got, want in zip(weight_values(again), weight_values(model)):
        np.testing.assert_array_equal(got, want)
    inputs = recorded_inputs(arrays_for(path))
    for got, want in zip(predict_as_list(again, inputs), predict_as_list(model, inputs)):
        np.testing.assert_array_equal(got, want)


def test_written_h5_model_has_keras3_layout(tmp_path):
    reference = FIXTURES / "keras3_h5" / "nested_frozen.h5"
    model = load_h5_model(reference)
    target = tmp_path / "model.h5"
    save_h5_model(model, target)
    with h5py.File(target) as ours, h5py.File(reference) as keras:
        assert ours.attrs["keras_version"] == "3.15.1"
        document = json.loads(ours.attrs["model_config"])
        assert set(document) == {"class_name", "config"}
        assert document["class_name"] == "Functional"
        ours_group, keras_group = ours["model_weights"], keras["model_weights"]
        names = legacy_h5.read_string_list(ours_group, "layer_names")
        assert names == legacy_h5.read_string_list(keras_group, "layer_names")
        for name in names + ["top_level_model_weights"]:
            ours_names = legacy_h5.read_string_list(ours_group[name], "weight_names")
            keras_names = legacy_h5.read_string_list(keras_group[name], "weight_names")
            assert [ours_group[name][w].shape for w in ours_names] == \
                   [keras_group[name][w].shape for w in keras_names]
            assert not any(weight.endswith(":0") for weight in ours_names)
        empty = ours_group["x"].attrs["weight_names"]
        assert empty.dtype == np.float64 and empty.size == 0


@pytest.mark.parametrize("dialect", ["keras2", "keras3"])
def test_weights_file_round_trips_and_has_tf_keras_layout(dialect, tmp_path):
    model = load_h5_model(FIXTURES / "keras2_files" / "nested_frozen.h5")
    target = tmp_path / "weights.h5"
    save_h5_weights(model, target, dialect=dialect)
    with h5py.File(target) as handle:
        assert "model_weights" not in handle and "model_config" not in handle.attrs
        names = legacy_h5.read_string_list(handle, "layer_names")
        assert names == [layer.name for layer in model.layers]
        head = legacy_h5.read_string_list(handle["head"], "weight_names")
        assert head == (["head/kernel:0", "head/bias:0"] if dialect == "keras2"
                        else ["head/kernel", "head/bias"])
    fresh = modelio.model_from_config(modelio.model_to_config(model))
    load_h5_weights(fresh, target)
    for got, want in zip(weight_values(fresh), weight_values(model)):
        np.testing.assert_array_equal(got, want)


def test_long_layer_name_lists_are_chunked_and_read_back(tmp_path):
    x = modelio.Input((2,), name="x")
    y = x
    for index in range(1300):
        y = modelio.layers.Activation("linear", name=f"{'long_activation_name_' * 3}{index}")(y)
    model = modelio.Model(x, modelio.layers.Dense(1, name="out")(y))
    target = tmp_path / "chunked.h5"
    save_h5_model(model, target)
    with h5py.File(target) as handle:
        attrs = handle["model_weights"].attrs
        assert "layer_names" not in attrs and "layer_names0" in attrs and "layer_names1" in attrs
    again = load_h5_model(target)
    np.testing.assert_array_equal(again.get_layer("out").get_weights()[0],
                                  model.get_layer("out").get_weights()[0])


# ------------------------------------------------------------------------------------------------
# Loading options
# ------------------------------------------------------------------------------------------------

def test_by_name_loads_matching_layers_and_leaves_the_rest(tmp_path):
    source = small_model(units=(3, 2), names=("first", "second"))
    target = tmp_path / "weights.h5"
    save_h5_weights(source, target)
    x = modelio.Input((4,), name="x")
    y = modelio.layers.Dense(3, name="first")(x)
    y = modelio.layers.Dense(5, name="extra")(y)
    model = modelio.Model(x, y)
    extra_before = model.get_layer("extra").get_weights()
    with pytest.raises(WeightMismatchError):   # by position: the second layers differ
        load_h5_weights(model, target)
    load_h5_weights(model, target, by_name=True)
    for got, want in zip(model.get_layer("first").get_weights(),
                         source.get_layer("first").get_weights()):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(model.get_layer("extra").get_weights(), extra_before):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("by_name", [False, True])
def test_skip_mismatch_skips_the_layer_with_a_warning(by_name, tmp_path):
    source = small_model(units=(3, 2))
    target = tmp_path / "weights.h5"
    save_h5_weights(source, target)
    model = small_model(units=(3, 6))                 # 'second' has other shapes
    second_before = model.get_layer("second").get_weights()
    with pytest.warns(UserWarning, match="second"):
        load_h5_weights(model, target, by_name=by_name, skip_mismatch=True)
    np.testing.assert_array_equal(model.get_layer("first").get_weights()[0],
                                  source.get_layer("first").get_weights()[0])
    np.testing.assert_array_equal(model.get_layer("second").get_weights()[0], second_before[0])


def test_weights_of_another_architecture_are_refused_and_nothing_changes():
    path = FIXTURES / "keras2_files" / "weights_only_small_resnet.h5"
    model = load_h5_model(FIXTURES / "keras2_files" / "small_resnet.h5")
    # the same structure with one more class in the last Dense: counts agree, a shape differs
    config = modelio.model_to_config(model)
    head = config["config"]["layers"][-1]
    head["config"]["units"] = 6
    other = modelio.model_from_config(config)
    before = weight_values(other)
    with pytest.raises(WeightMismatchError) as caught:
        load_h5_weights(other, path)
    message = str(caught.value)
    assert f"layer '{head['name']}'" in message and "'kernel'" in message
    assert "(12, 6)" in message and "(12, 5)" in message
    assert str(path) in message
    for got, want in zip(weight_values(other), before):
        np.testing.assert_array_equal(got, want)


def test_layer_count_mismatch_names_both_sides():
    model = small_model()
    with pytest.raises(WeightMismatchError, match="layer count mismatch.*first, second"):
        load_h5_weights(model, FIXTURES / "keras2_files" / "weights_only_text_rnn.h5")


def test_top_level_weights_the_model_lacks_are_a_mismatch(tmp_path):
    model = small_model()
    target = tmp_path / "weights.h5"
    save_h5_weights(model, target)
    with h5py.File(target, "r+") as handle:
        group = handle["top_level_model_weights"]
        del group.attrs["weight_names"]
        group.attrs["weight_names"] = np.array([b"scale:0"])
        group.create_dataset("scale:0", data=np.ones(2, np.float32))
    with pytest.raises(WeightMismatchError, match="top-level"):
        load_h5_weights(model, target)


# ------------------------------------------------------------------------------------------------
# String attributes in every encoding Keras has written
# ------------------------------------------------------------------------------------------------

def rewrite_strings(path: Path, encoding: str) -> None:
    with h5py.File(path, "r+") as handle:
        groups = [handle["model_weights"]] + [handle["model_weights"][name]
                                              for name in handle["model_weights"]]
        config = handle.attrs["model_config"]
        del handle.attrs["model_config"]
        if encoding == "fixed_bytes":
            handle.attrs["model_config"] = np.bytes_(config.encode() if isinstance(config, str)
                                                     else config)
        else:
            handle.attrs["model_config"] = config if isinstance(config, str) else config.decode()
        for group in groups:
            for key in ("layer_names", "weight_names"):
                if key not in group.attrs:
                    continue
                values = [v.decode() if isinstance(v, bytes) else v for v in group.attrs[key]]
                del group.attrs[key]
                if not values:
                    group.attrs[key] = np.zeros(0)
                elif encoding == "vlen":
                    group.attrs.create(key, values, dtype=h5py.string_dtype())
                elif encoding == "fixed_bytes":
                    group.attrs[key] = np.array([value.encode() for value in values])
                else:  # chunked: one value per attribute name0, name1, ...
                    for index, value in enumerate(values):
                        group.attrs[f"{key}{index}"] = np.array([value.encode()])


@pytest.mark.parametrize("encoding", ["vlen", "fixed_bytes", "chunked"])
def test_string_attributes_in_each_encoding_load(encoding, tmp_path):
    model = small_model()
    target = tmp_path / "model.h5"
    save_h5_model(model, target)
    rewrite_strings(target, encoding)
    with h5py.File(target) as handle:
        if encoding == "chunked":
            assert "layer_names0" in handle["model_weights"].attrs
        elif encoding == "vlen":
            assert handle["model_weights"].attrs["layer_names"].dtype == object
        else:
            assert handle["model_weights"].attrs["layer_names"].dtype.kind == "S"
    again = load_h5_model(target)
    for got, want in zip(weight_values(again), weight_values(model)):
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------------------------
# Refusals: a ModelioError naming the file, nothing else
# ------------------------------------------------------------------------------------------------

def test_truncated_h5_is_a_format_error_naming_the_file(tmp_path):
    source = FIXTURES / "keras2_files" / "mlp.h5"
    target = tmp_path / "truncated.h5"
    target.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    with pytest.raises(FormatError, match="truncated.h5"):
        load_h5_model(target)
    with pytest.raises(FormatError, match="truncated.h5"):
        load_h5_weights(small_model(), target)


def test_non_hdf5_bytes_with_h5_extension_are_refused(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"PK\x03\x04 this is a zip, not HDF5" * 10)
    with pytest.raises(FormatError, match="model.h5.*not an HDF5 file"):
        load_h5_model(target)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="missing.h5"):
        load_h5_model(tmp_path / "missing.h5")


def test_h5_without_model_config_is_refused_naming_the_file(tmp_path):
    target = tmp_path / "weights.h5"
    save_h5_weights(small_model(), target)
    with pytest.raises(FormatError, match=r"weights.h5: holds weights only"):
        load_h5_model(target)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle.create_dataset("data", data=np.zeros(3))
    with pytest.raises(FormatError, match="other.h5: no model_config"):
        load_h5_model(other)


def test_keras3_weights_h5_layout_is_named_in_the_refusal(tmp_path):
    target = tmp_path / "model.weights.h5"
    with h5py.File(target, "w") as handle:
        handle.create_group("layers/dense/vars")
        handle.create_group("vars")
    with pytest.raises(FormatError, match="Keras 3 '.weights.h5'"):
        load_h5_weights(small_model(), target)


def replace_config(path: Path, edit) -> None:
    with h5py.File(path, "r+") as handle:
        document = json.loads(handle.attrs["model_config"])
        edit(document)
        handle.attrs["model_config"] = json.dumps(document).encode()


def test_lambda_layer_in_model_config_is_refused_naming_the_file(tmp_path):
    target = tmp_path / "lambda.h5"
    shutil.copy(FIXTURES / "keras2_files" / "mlp.h5", target)

    def add_lambda(document):
        dense = document["config"]["layers"][1]
        dense["class_name"] = "Lambda"
        dense["config"] = {"name": dense["config"]["name"], "function": ["4wEAAAAA", None, None],
                           "function_type": "lambda", "module": "__main__"}
    replace_config(target, add_lambda)
    with pytest.raises(UnsafeContentError, match="lambda.h5.*Lambda"):
        load_h5_model(target)


def test_foreign_module_in_model_config_is_refused_naming_the_file(tmp_path):
    target = tmp_path / "module.h5"
    shutil.copy(FIXTURES / "keras3_h5" / "sequential_mlp.h5", target)

    def foreign(document):
        document["config"]["layers"][1]["module"] = "os"
        document["config"]["layers"][1]["class_name"] = "system"
    replace_config(target, foreign)
    with pytest.raises(UnsafeContentError, match="module.h5.*'os'"):
        load_h5_model(target)


def test_model_config_that_is_not_json_is_a_format_error(tmp_path):
    target = tmp_path / "broken.h5"
    save_h5_model(small_model(), target)
    with h5py.File(target, "r+") as handle:
        handle.attrs["model_config"] = b"{not json"
    with pytest.raises(FormatError, match="broken.h5"):
        load_h5_model(target)


def test_missing_weight_dataset_is_a_format_error(tmp_path):
    target = tmp_path / "model.h5"
    save_h5_model(small_model(), target)
    with h5py.File(target, "r+") as handle:
        del handle["model_weights/first/first/kernel"]
    with pytest.raises(FormatError, match="model.h5.*first/kernel"):
        load_h5_model(target)


def test_external_links_and_external_storage_are_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(12, dtype=np.float32).tobytes())
    model = small_model()
    linked = tmp_path / "linked.h5"
    save_h5_weights(model, linked)
    with h5py.File(linked, "r+") as handle:
        del handle["first/first/kernel:0"]
        handle["first/first/kernel:0"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/k")
    with pytest.raises(FormatError, match="ExternalLink"):
        load_h5_weights(model, linked)
    stored = tmp_path / "stored.h5"
    save_h5_weights(model, stored)
    with h5py.File(stored, "r+") as handle:
        del handle["first/first/kernel:0"]
        handle["first/first"].create_dataset("kernel:0", shape=(4, 3), dtype=np.float32,
                                             external=[(str(secret), 0, 48)])
    with pytest.raises(FormatError, match="external"):
        load_h5_weights(model, stored)


def test_text_dataset_in_place_of_a_weight_is_refused(tmp_path):
    model = small_model()
    target = tmp_path / "weights.h5"
    save_h5_weights(model, target)
    with h5py.File(target, "r+") as handle:
        del handle["second/second/bias:0"]
        handle["second/second"].create_dataset("bias:0", data=np.array([b"a", b"b"]))
    before = weight_values(model)
    with pytest.raises(ModelioError, match="bias"):
        load_h5_weights(model, target)
    for got, want in zip(weight_values(model), before):
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------------------------
# Atomic writes
# ------------------------------------------------------------------------------------------------

def test_failed_save_keeps_the_existing_file_and_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "model.h5"
    save_h5_model(small_model(), target)
    original = target.read_bytes()
    calls = []

    def failing(group, entries):
        calls.append(group.name)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return real(group, entries)

    real = legacy_h5._write_layer_group
    monkeypatch.setattr(legacy_h5, "_write_layer_group", failing)
    with pytest.raises(FormatError, match="model.h5.*No space left"):
        save_h5_model(small_model(units=(5, 1)), target)
    assert target.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.h5"]
    fresh = tmp_path / "fresh.h5"
    calls.clear()
    with pytest.raises(FormatError):
        save_h5_weights(small_model(), fresh)
    assert os.listdir(tmp_path) == ["model.h5"]


def test_save_into_a_missing_folder_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="does not exist"):
        save_h5_model(small_model(), tmp_path / "no" / "such" / "model.h5")


KERAS2_FULL_FILES = [path for path in KERAS_FILES if path.parent.name == "keras2_files"]


@pytest.mark.parametrize("path", KERAS2_FULL_FILES, ids=file_id)
def test_written_weights_file_uses_tf_keras_names(path, tmp_path):
    # Names matter to tools that read them (e.g. converters); Keras loads by order.
    model = load_h5_model(path)
    target = tmp_path / "weights.h5"
    save_h5_weights(model, target)
    with h5py.File(target) as ours, h5py.File(path) as keras:
        reference = keras["model_weights"]
        names = legacy_h5.read_string_list(ours, "layer_names")
        assert names == legacy_h5.read_string_list(reference, "layer_names")
        for name in names:
            assert legacy_h5.read_string_list(ours[name], "weight_names") == \
                legacy_h5.read_string_list(reference[name], "weight_names")
