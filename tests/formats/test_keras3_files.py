"""Keras 3's own file formats: `.keras` archives and `.weights.h5` weights, both directions.

The fixtures in fixtures/keras3_files/ were written by real Keras 3.15.1 (and tf-keras 2.21 for
`tf_keras_*`) by tools/keras3_file_fixtures.py, for the models whose inputs and Keras outputs are
recorded in fixtures/keras3/ (fixtures/keras2/ for tf-keras; layer_zoo.npz beside the files).
That Keras loads what modelio writes is recorded in
fixtures/evidence/keras3_loads_modelio_keras_files.txt (tools/check_keras3_files_in_keras.py).
"""

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixture_models import (
    FIXTURES,
    MODEL_NAMES,
    fixture_arrays,
    predict_as_list,
    recorded_inputs,
    recorded_outputs,
)

import modelio
from modelio import (
    FormatError,
    ModelioError,
    UnsafeContentError,
    UnsupportedError,
    WeightMismatchError,
)
from modelio.formats import keras_zip, weights_h5
from modelio.formats.config import model_from_json, model_to_config
from modelio.formats.keras_zip import (
    load_archive_weights,
    load_keras_archive,
    save_keras_archive,
)
from modelio.formats.weights_h5 import load_weights_h5, save_weights_h5

FILES = FIXTURES / "keras3_files"
CATALOG = ["small_resnet", "small_mobilenet", "text_rnn", "transformer_block"]
KERAS3 = MODEL_NAMES + CATALOG + ["layer_zoo"]
TF_KERAS = ["tf_keras_nested_sequential", "tf_keras_small_mobilenet", "tf_keras_text_rnn",
            "tf_keras_transformer_block"]
ALL = KERAS3 + TF_KERAS


# ----- helpers ------------------------------------------------------------------------------------

def recorded(stem: str) -> dict:
    if stem.startswith("tf_keras_"):
        return fixture_arrays("keras2", stem[len("tf_keras_"):])
    if stem == "layer_zoo":
        with np.load(FILES / "layer_zoo.npz") as archive:
            return dict(archive)
    return fixture_arrays("keras3", stem)


def tolerance(stem: str) -> float:
    return 1e-4 if stem.replace("tf_keras_", "") in CATALOG + ["layer_zoo"] else 1e-5


def outputs_of(model, stem: str) -> list:
    return [np.asarray(value, np.float64)
            for value in predict_as_list(model, recorded_inputs(recorded(stem)))]


def assert_matches_keras(model, stem: str) -> None:
    expected = recorded_outputs(recorded(stem))
    got = outputs_of(model, stem)
    assert len(got) == len(expected)
    for value, want in zip(got, expected):
        np.testing.assert_allclose(value, np.asarray(want, np.float64), rtol=0,
                                   atol=tolerance(stem))


def architecture_of(stem: str):
    """The fixture's model rebuilt from its JSON (Keras 3 or tf-keras), weights not loaded."""
    if stem == "layer_zoo":
        model = load_keras_archive(FILES / "layer_zoo.keras")
        zero_weights(model)
        return model
    dialect, name = ("keras2", stem[len("tf_keras_"):]) if stem.startswith("tf_keras_") else \
        ("keras3", stem)
    return model_from_json((FIXTURES / dialect / f"{name}.json").read_text())


def zero_weights(model) -> None:
    for weight in model.weights:
        weight.assign(np.zeros(weight.shape))


def weight_values(model) -> list:
    return [np.array(weight.value) for weight in model.weights]


def h5_layout(path) -> dict:
    layout = {}

    def visit(name, item):
        layout[name] = tuple(item.shape) if isinstance(item, h5py.Dataset) else "group"

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return layout


def rewrite_archive(source: Path, target: Path, replace: dict | None = None,
                    drop: tuple = (), add: dict | None = None,
                    compression=zipfile.ZIP_STORED) -> Path:
    """A copy of `source` with some members replaced, dropped or added."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", compression) as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, data in add.items():
            new.writestr(name, data)
    return target


def config_document(archive: Path) -> dict:
    with zipfile.ZipFile(archive) as handle:
        return json.loads(handle.read("config.json"))


def assert_refused(call, path, error=ModelioError):
    with pytest.raises(error) as caught:
        call()
    assert str(path) in str(caught.value), str(caught.value)
    return caught.value


# ----- files written by Keras ---------------------------------------------------------------------

@pytest.mark.parametrize("stem", ALL)
def test_keras_archive_loads_and_computes_what_keras_computed(stem):
    model = load_keras_archive(FILES / f"{stem}.keras")
    assert_matches_keras(model, stem)


@pytest.mark.parametrize("stem", ALL)
def test_keras_weights_file_loads_into_the_model_from_its_config(stem):
    model = architecture_of(stem)
    load_weights_h5(model, FILES / f"{stem}.weights.h5")
    assert_matches_keras(model, stem)


def test_keras_archive_weights_load_into_an_existing_model():
    model = architecture_of("text_rnn")
    load_archive_weights(model, FILES / "text_rnn.keras")
    assert_matches_keras(model, "text_rnn")


def test_tf_keras_archive_is_read_in_its_own_dialect():
    document = config_document(FILES / "tf_keras_transformer_block.keras")
    assert document["module"].startswith("tf_keras")
    with h5py.File(io.BytesIO(zipfile.ZipFile(
            FILES / "tf_keras_transformer_block.keras").read("model.weights.h5"))) as handle:
        assert "layers/multi_head_attention/_query_dense/vars/0" in handle  # tf-keras's name
    assert_matches_keras(load_keras_archive(FILES / "tf_keras_transformer_block.keras"),
                         "tf_keras_transformer_block")


def test_load_model_and_the_model_methods_read_and_write_these_files(tmp_path):
    model = modelio.load_model(FILES / "text_rnn.keras")
    assert_matches_keras(model, "text_rnn")
    model.save(tmp_path / "copy.keras")
    model.save_weights(tmp_path / "copy.weights.h5")
    assert_matches_keras(modelio.load_model(tmp_path / "copy.keras"), "text_rnn")
    fresh = architecture_of("text_rnn")
    fresh.load_weights(tmp_path / "copy.weights.h5")
    assert_matches_keras(fresh, "text_rnn")


# ----- files written by modelio -------------------------------------------------------------------

@pytest.mark.parametrize("stem", ALL)
def test_written_archive_reloads_with_identical_outputs_and_config(stem, tmp_path):
    model = load_keras_archive(FILES / f"{stem}.keras")
    target = tmp_path / "model.keras"
    save_keras_archive(model, target)
    again = load_keras_archive(target)
    assert model_to_config(again) == model_to_config(model)
    for first, second in zip(outputs_of(model, stem), outputs_of(again, stem)):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("stem", ALL)
def test_written_weights_file_reloads_with_identical_outputs(stem, tmp_path):
    model = load_keras_archive(FILES / f"{stem}.keras")
    target = tmp_path / "model.weights.h5"
    save_weights_h5(model, target)
    fresh = load_keras_archive(FILES / f"{stem}.keras")
    zero_weights(fresh)
    load_weights_h5(fresh, target)
    for first, second in zip(weight_values(model), weight_values(fresh)):
        np.testing.assert_array_equal(first, second)
    for first, second in zip(outputs_of(model, stem), outputs_of(fresh, stem)):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("stem", KERAS3)
def test_written_weights_file_has_exactly_the_paths_and_shapes_keras_writes(stem, tmp_path):
    model = load_keras_archive(FILES / f"{stem}.keras")
    save_weights_h5(model, tmp_path / "model.weights.h5")
    assert h5_layout(tmp_path / "model.weights.h5") == h5_layout(FILES / f"{stem}.weights.h5")


def test_written_weights_groups_carry_the_object_names(tmp_path):
    model = load_keras_archive(FILES / "text_rnn.keras")
    save_weights_h5(model, tmp_path / "model.weights.h5")
    with h5py.File(tmp_path / "model.weights.h5") as mine, \
            h5py.File(FILES / "text_rnn.weights.h5") as keras:
        for path in ("vars", "layers/input_layer/vars", "layers/bidirectional/vars",
                     "layers/bidirectional/forward_layer/vars",
                     "layers/bidirectional/forward_layer/cell/vars", "layers/gru/cell/vars"):
            assert mine[path].attrs["name"] == keras[path].attrs["name"], path


def test_written_archive_has_keras_members_uncompressed(tmp_path):
    save_keras_archive(load_keras_archive(FILES / "mlp.keras"), tmp_path / "mlp.keras")
    with zipfile.ZipFile(tmp_path / "mlp.keras") as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == ["metadata.json", "config.json",
                                                     "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
    assert metadata["keras_version"] == "3.15.1"
    assert metadata["modelio_version"] == modelio.__version__
    assert len(metadata["date_saved"]) == len("2026-01-31@12:00:00")
    assert config["class_name"] == "Functional"
    assert config["module"] == "keras.src.models.functional"


def test_tf_keras_archive_is_written_back_in_keras3_layout(tmp_path):
    model = load_keras_archive(FILES / "tf_keras_transformer_block.keras")
    save_weights_h5(model, tmp_path / "model.weights.h5")
    layout = h5_layout(tmp_path / "model.weights.h5")
    assert layout["layers/multi_head_attention/query_dense/vars/0"] == (16, 2, 8)
    assert not any("_query_dense" in path for path in layout)


# ----- weights that do not fit --------------------------------------------------------------------

def mlp_with(widths, name="mlp"):
    x = modelio.Input((8,), name="features")
    h = x
    for width in widths:
        h = modelio.layers.Dense(width)(h)
    return modelio.Model(x, h, name=name)


def test_weights_of_another_architecture_are_refused_and_the_model_is_unchanged():
    model = mlp_with([16, 12, 4])  # the mlp fixture has Dense 16, 16, 4
    before = weight_values(model)
    error = assert_refused(lambda: load_weights_h5(model, FILES / "mlp.weights.h5"),
                           FILES / "mlp.weights.h5", WeightMismatchError)
    message = str(error)
    assert "layers/dense_1/vars" in message and model.layers[2].name in message
    assert "(16, 12)" in message and "(16, 16)" in message
    for old, new in zip(before, weight_values(model)):
        np.testing.assert_array_equal(old, new)


def test_a_model_with_more_layers_than_the_file_is_refused():
    model = mlp_with([16, 16, 4, 4])
    before = weight_values(model)
    error = assert_refused(lambda: load_weights_h5(model, FILES / "mlp.weights.h5"),
                           FILES / "mlp.weights.h5", WeightMismatchError)
    assert "layers/dense_3/vars" in str(error)
    for old, new in zip(before, weight_values(model)):
        np.testing.assert_array_equal(old, new)


def test_a_file_with_weights_for_layers_the_model_lacks_is_refused():
    model = mlp_with([16, 16])
    model.layers  # noqa: B018
    error = assert_refused(lambda: load_weights_h5(model, FILES / "mlp.weights.h5"),
                           FILES / "mlp.weights.h5", WeightMismatchError)
    assert "layers/dense_2/vars" in str(error)


def test_an_extra_or_missing_dataset_in_a_group_is_refused(tmp_path):
    for change in ("extra", "missing", "renamed"):
        copy = tmp_path / f"{change}.weights.h5"
        shutil.copy(FILES / "mlp.weights.h5", copy)
        with h5py.File(copy, "a") as handle:
            group = handle["layers/dense_1/vars"]
            if change == "extra":
                group["2"] = np.zeros(3, np.float32)
            elif change == "missing":
                del group["1"]
            else:
                group.move("1", "bias")
        model = architecture_of("mlp")
        before = weight_values(model)
        error = assert_refused(lambda model=model, copy=copy: load_weights_h5(model, copy), copy,
                               WeightMismatchError)
        assert "layers/dense_1/vars" in str(error)
        for old, new in zip(before, weight_values(model)):
            np.testing.assert_array_equal(old, new)


def test_archive_weights_of_another_architecture_name_the_archive():
    model = mlp_with([16, 12, 4])
    error = assert_refused(lambda: load_archive_weights(model, FILES / "mlp.keras"),
                           FILES / "mlp.keras", WeightMismatchError)
    assert "model.weights.h5" in str(error)


# ----- what else a weights file may hold ----------------------------------------------------------

def test_optimizer_state_in_a_weights_file_is_ignored(tmp_path):
    copy = tmp_path / "trained.weights.h5"
    shutil.copy(FILES / "mlp.weights.h5", copy)
    with h5py.File(copy, "a") as handle:
        handle.create_group("optimizer/vars")["0"] = np.zeros(5, np.float32)
    model = architecture_of("mlp")
    load_weights_h5(model, copy)
    assert_matches_keras(model, "mlp")


def test_keras_2_13_layer_checkpoint_dependencies_are_read(tmp_path):
    copy = tmp_path / "old.weights.h5"
    shutil.copy(FILES / "nested_functional.weights.h5", copy)
    with h5py.File(copy, "a") as handle:
        handle.move("layers", "_layer_checkpoint_dependencies")
    model = architecture_of("nested_functional")
    load_weights_h5(model, copy)
    assert_matches_keras(model, "nested_functional")


def test_bfloat16_datasets_are_widened_to_float32(tmp_path):
    copy = tmp_path / "bf16.weights.h5"
    shutil.copy(FILES / "mlp.weights.h5", copy)
    with h5py.File(FILES / "mlp.weights.h5") as handle:
        kernel = handle["layers/dense/vars/0"][()]
    truncated = (kernel.view(np.uint32) >> 16).astype(np.uint16)
    with h5py.File(copy, "a") as handle:
        del handle["layers/dense/vars/0"]
        dataset = handle["layers/dense/vars"].create_dataset("0", data=truncated.view("V2"))
        dataset.attrs["dtype"] = "bfloat16"
    model = architecture_of("mlp")
    load_weights_h5(model, copy)
    loaded = model.layers[1].weights[0].value
    np.testing.assert_array_equal(loaded, (truncated.astype(np.uint32) << 16).view(np.float32))
    np.testing.assert_allclose(loaded, kernel, rtol=1e-2)


@pytest.mark.parametrize("link", ["soft", "external"])
def test_links_inside_a_weights_file_are_refused(tmp_path, link):
    copy = tmp_path / "linked.weights.h5"
    shutil.copy(FILES / "mlp.weights.h5", copy)
    with h5py.File(copy, "a") as handle:
        del handle["layers/dense/vars/0"]
        handle["layers/dense/vars/0"] = (h5py.SoftLink("/layers/dense_1/vars/0") if link == "soft"
                                         else h5py.ExternalLink("/etc/passwd", "/x"))
    assert_refused(lambda: load_weights_h5(architecture_of("mlp"), copy), copy, FormatError)


def test_a_legacy_keras2_weights_file_is_not_taken_for_a_keras3_one(tmp_path):
    legacy = tmp_path / "legacy.weights.h5"
    with h5py.File(legacy, "w") as handle:
        handle.attrs["layer_names"] = np.array([b"dense"])
    assert_refused(lambda: load_weights_h5(architecture_of("mlp"), legacy), legacy, FormatError)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_a_truncated_weights_file_is_refused_naming_it(tmp_path, keep):
    data = (FILES / "mlp.weights.h5").read_bytes()
    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(data[: int(len(data) * keep)])
    model = architecture_of("mlp")
    before = weight_values(model)
    assert_refused(lambda: load_weights_h5(model, broken), broken)
    for old, new in zip(before, weight_values(model)):
        np.testing.assert_array_equal(old, new)


def test_flipped_bytes_in_a_weights_file_load_or_are_refused_cleanly(tmp_path):
    data = bytearray((FILES / "text_rnn.weights.h5").read_bytes())
    broken = tmp_path / "flipped.weights.h5"
    for position in range(0, len(data), max(1, len(data) // 60)):
        changed = bytearray(data)
        changed[position] ^= 0xFF
        broken.write_bytes(bytes(changed))
        try:
            load_weights_h5(architecture_of("text_rnn"), broken)
        except ModelioError as exc:
            assert str(broken) in str(exc)


# ----- broken and hostile archives ----------------------------------------------------------------

def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    for name, data in (("random.keras", os.urandom(2000)), ("empty.keras", b""),
                       ("text.keras", b'{"class_name": "Functional"}')):
        path = tmp_path / name
        path.write_bytes(data)
        error = assert_refused(lambda path=path: load_keras_archive(path), path, FormatError)
        assert "zip" in str(error)
    hdf5 = tmp_path / "weights.keras"
    shutil.copy(FILES / "mlp.weights.h5", hdf5)
    assert_refused(lambda: load_keras_archive(hdf5), hdf5, FormatError)


def test_a_missing_file_or_a_directory_is_refused(tmp_path):
    assert_refused(lambda: load_keras_archive(tmp_path / "absent.keras"),
                   tmp_path / "absent.keras", FormatError)
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    assert_refused(lambda: load_keras_archive(folder), folder, FormatError)


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.9, 0.999])
def test_a_truncated_archive_is_refused_naming_it(tmp_path, keep):
    data = (FILES / "mlp.keras").read_bytes()
    broken = tmp_path / "truncated.keras"
    broken.write_bytes(data[: int(len(data) * keep)])
    assert_refused(lambda: load_keras_archive(broken), broken)


def test_flipped_bytes_in_an_archive_load_or_are_refused_cleanly(tmp_path):
    data = (FILES / "mlp.keras").read_bytes()
    broken = tmp_path / "flipped.keras"
    refused = 0
    for position in range(0, len(data), max(1, len(data) // 80)):
        changed = bytearray(data)
        changed[position] ^= 0xFF
        broken.write_bytes(bytes(changed))
        try:
            load_keras_archive(broken)
        except ModelioError as exc:
            assert str(broken) in str(exc)
            refused += 1
    assert refused > 40  # member data are CRC-checked: nearly every flip is caught


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_an_archive_missing_a_member_is_refused(tmp_path, member):
    broken = rewrite_archive(FILES / "mlp.keras", tmp_path / "incomplete.keras", drop=(member,))
    error = assert_refused(lambda: load_keras_archive(broken), broken, FormatError)
    assert member in str(error)


def test_an_archive_without_metadata_still_loads_as_in_keras(tmp_path):
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "bare.keras",
                              drop=("metadata.json",))
    assert_matches_keras(load_keras_archive(archive), "mlp")


def test_a_config_with_a_lambda_is_refused_as_unsafe(tmp_path):
    document = config_document(FILES / "mlp.keras")
    layers = document["config"]["layers"]
    dropout = next(entry for entry in layers if entry["class_name"] == "Dropout")
    dropout["class_name"] = "Lambda"
    dropout["module"] = "keras.layers"
    dropout["config"] = {"name": dropout["config"]["name"], "function": {
        "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                               "closure": None}}}
    broken = rewrite_archive(FILES / "mlp.keras", tmp_path / "lambda.keras",
                             replace={"config.json": json.dumps(document)})
    assert_refused(lambda: load_keras_archive(broken), broken, UnsafeContentError)


@pytest.mark.parametrize("text", ['{"class_name": ', "[1, 2, 3]", "\xff\xfe", '"text"'])
def test_a_damaged_config_is_refused(tmp_path, text):
    broken = rewrite_archive(FILES / "mlp.keras", tmp_path / "config.keras",
                             replace={"config.json": text.encode("latin-1")})
    assert_refused(lambda: load_keras_archive(broken), broken, FormatError)


def test_a_compile_config_with_an_optimizer_is_ignored(tmp_path):
    document = config_document(FILES / "mlp.keras")
    document["compile_config"] = {
        "optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                      "config": {"name": "adam", "learning_rate": 0.001},
                      "registered_name": None},
        "loss": "mse", "metrics": None}
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "compiled.keras",
                              replace={"config.json": json.dumps(document)})
    assert_matches_keras(load_keras_archive(archive), "mlp")


@pytest.mark.parametrize("member", ["model.weights.npz", "model.weights.json"])
def test_npz_and_sharded_weights_are_not_supported(tmp_path, member):
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "other.keras",
                              drop=("model.weights.h5",), add={member: b"x" * 10})
    assert_refused(lambda: load_keras_archive(archive), archive, UnsupportedError)


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "assets/../../evil",
                                  "C:/evil", "assets\\..\\evil"])
def test_member_names_escaping_the_archive_are_refused(tmp_path, name):
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "escape.keras",
                              add={name: b"boom"})
    assert_refused(lambda: load_keras_archive(archive), archive, FormatError)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_assets_are_ignored_with_a_warning(tmp_path):
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "assets.keras",
                              add={"assets/vocabulary.txt": b"a\nb\n"})
    with pytest.warns(UserWarning, match="assets"):
        model = load_keras_archive(archive)
    assert_matches_keras(model, "mlp")


def test_a_weights_member_far_larger_than_the_config_needs_is_refused(tmp_path):
    bomb = b"\0" * (8 * 1024 * 1024)  # deflates to ~8 KB; under the expansion floor
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "bomb.keras",
                              replace={"model.weights.h5": bomb},
                              compression=zipfile.ZIP_DEFLATED)
    assert os.path.getsize(archive) < 1024 * 1024
    error = assert_refused(lambda: load_keras_archive(archive), archive, FormatError)
    assert "model.weights.h5" in str(error) and "need" in str(error)


def test_a_member_that_expands_absurdly_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_zip, "EXPANSION_FLOOR_BYTES", 1024)
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "deflated.keras",
                              add={"assets/zeros.bin": b"\0" * 200_000},
                              compression=zipfile.ZIP_DEFLATED)
    error = assert_refused(lambda: load_keras_archive(archive), archive, FormatError)
    assert "assets/zeros.bin" in str(error)


def test_an_oversized_config_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_zip, "MAX_CONFIG_BYTES", 1000)
    assert_refused(lambda: load_keras_archive(FILES / "mlp.keras"), FILES / "mlp.keras",
                   FormatError)


def test_an_absurd_member_count_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_zip, "MAX_MEMBERS", 20)
    archive = rewrite_archive(FILES / "mlp.keras", tmp_path / "many.keras",
                              add={f"assets/{i}.txt": b"" for i in range(30)})
    assert_refused(lambda: load_keras_archive(archive), archive, FormatError)


def test_duplicate_member_names_are_refused(tmp_path):
    archive = tmp_path / "twice.keras"
    shutil.copy(FILES / "mlp.keras", archive)
    with pytest.warns(UserWarning), zipfile.ZipFile(archive, "a") as handle:
        handle.writestr("config.json", "{}")
    assert_refused(lambda: load_keras_archive(archive), archive, FormatError)


# ----- failed saves -------------------------------------------------------------------------------

def failing_writer(model, h5group):
    h5group.create_group("layers/dense/vars")["0"] = np.zeros(3)
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("kind", ["keras", "weights"])
def test_a_failed_save_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch, kind):
    model = load_keras_archive(FILES / "mlp.keras")
    target = tmp_path / ("model.keras" if kind == "keras" else "model.weights.h5")
    save = save_keras_archive if kind == "keras" else save_weights_h5
    save(model, target)
    original = target.read_bytes()
    monkeypatch.setattr(weights_h5, "write_keras3_weights", failing_writer)
    assert_refused(lambda: save(model, target), target, FormatError)
    assert target.read_bytes() == original
    assert sorted(path.name for path in tmp_path.iterdir()) == [target.name]
    fresh = tmp_path / ("fresh.keras" if kind == "keras" else "fresh.weights.h5")
    assert_refused(lambda: save(model, fresh), fresh, FormatError)
    assert not fresh.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [target.name]


def test_saving_into_a_missing_folder_is_refused(tmp_path):
    model = load_keras_archive(FILES / "mlp.keras")
    for save, name in ((save_keras_archive, "m.keras"), (save_weights_h5, "m.weights.h5")):
        target = tmp_path / "absent" / name
        assert_refused(lambda save=save, target=target: save(model, target), target, FormatError)


def test_stored_weights_are_read_in_place_and_checked_against_their_crc(tmp_path, monkeypatch):
    source = FIXTURES / "keras3_files" / "small_resnet.keras"
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo("model.weights.h5")
    assert info.compress_type == zipfile.ZIP_STORED  # as Keras writes them
    monkeypatch.setattr(keras_zip.tempfile, "mkstemp", None)  # no temporary copy is made
    model = modelio.load_model(source)
    reference = modelio.load_model(FIXTURES / "keras3_files" / "small_resnet.keras")
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)
    damaged = tmp_path / "damaged.keras"
    data = bytearray(source.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + info.file_size // 2] ^= 0x40
    damaged.write_bytes(bytes(data))
    with pytest.raises(modelio.FormatError, match="CRC"):
        modelio.load_model(damaged)
