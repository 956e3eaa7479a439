"""Writing the Keras 3 save variants: unzipped model folders (`zipped=False`, a folder commit)
and sharded weights (`max_shard_size`, Keras's splitting and names); npz weights refused. Keras
loading what modelio writes is shown by tools/check_save_variants_in_keras.py
(fixtures/evidence/keras3_loads_modelio_save_variants.txt)."""

import json
import os

import h5py
import numpy as np
import pytest
from fixture_models import FIXTURES

import modelio
from modelio.errors import FormatError, UnsupportedError
from modelio.formats import keras_dir, sharded_weights, weights_h5

VARIANTS = FIXTURES / "save_variants"


@pytest.fixture(scope="module")
def mlp():
    return modelio.load_model(VARIANTS / "mlp_folder")


@pytest.fixture(scope="module")
def recorded_mlp():
    with np.load(VARIANTS / "mlp.npz") as arrays:
        return arrays["input:features"], arrays["output:0"]


def test_a_saved_folder_holds_what_keras_writes_and_loads_back(mlp, recorded_mlp, tmp_path):
    modelio.save_model(mlp, tmp_path / "saved", zipped=False)
    assert sorted(os.listdir(tmp_path / "saved")) == ["assets", "config.json", "metadata.json",
                                                      "model.weights.h5"]
    x, expected = recorded_mlp
    np.testing.assert_allclose(modelio.load_model(tmp_path / "saved").predict(x), expected,
                               atol=1e-5)
    assert [name for name in os.listdir(tmp_path) if name != "saved"] == []


def test_saving_over_a_model_folder_replaces_it_whole(mlp, tmp_path):
    target = tmp_path / "saved"
    target.mkdir()
    (target / "config.json").write_text("{}")
    (target / "stale.txt").write_text("old")
    mlp.save(target, zipped=False)
    assert not (target / "stale.txt").exists()
    assert modelio.load_model(target).count_params() == mlp.count_params()
    assert os.listdir(tmp_path) == ["saved"]


def test_a_failed_folder_save_leaves_the_old_folder_and_no_temporary(mlp, tmp_path,
                                                                     monkeypatch):
    target = tmp_path / "saved"
    mlp.save(target, zipped=False)
    before = {name: (target / name).read_bytes() for name in ("config.json", "model.weights.h5")}

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(weights_h5, "write_keras3_weights", fail)
    with pytest.raises(FormatError, match="No space left on device"):
        mlp.save(target, zipped=False)
    assert {name: (target / name).read_bytes() for name in before} == before
    assert os.listdir(tmp_path) == ["saved"]


def test_an_abandoned_temporary_folder_is_removed_by_the_next_save(mlp, tmp_path):
    abandoned = tmp_path / ".modelio-0123456789ab.tmpdir"
    abandoned.mkdir()
    (abandoned / "model.weights.h5").write_bytes(b"half")
    mlp.save(tmp_path / "saved", zipped=False)
    assert not abandoned.exists()


@pytest.mark.parametrize("setup,match", [
    (lambda target: target.write_text("a file"), "is not a folder"),
    (lambda target: (target.mkdir(), (target / "notes.txt").write_text("mine")),
     "not a Keras model folder"),
])
def test_a_folder_save_never_replaces_what_is_not_a_model_folder(mlp, tmp_path, setup, match):
    target = tmp_path / "saved"
    setup(target)
    with pytest.raises(FormatError, match=match):
        mlp.save(target, zipped=False)


def test_an_unzipped_save_to_a_keras_name_is_refused_as_keras_does(mlp, tmp_path):
    with pytest.raises(FormatError, match="does not end in .keras"):
        modelio.save_model(mlp, tmp_path / "m.keras", zipped=False)


def test_npz_weights_are_never_written(mlp, tmp_path):
    with pytest.raises(UnsupportedError, match="pickled"):
        modelio.save_model(mlp, tmp_path / "m.keras", weights_format="npz")
    assert not (tmp_path / "m.keras").exists()


# ----- sharded weights ---------------------------------------------------------------------------

def shard_layout(folder, stem: str) -> dict:
    layout = {}
    for shard in sorted(folder.glob(f"{stem}_0*.weights.h5")):
        with h5py.File(shard, "r") as handle:
            handle.visititems(lambda name, item, shard=shard: layout.setdefault(
                (shard.name[len(stem):], name),
                tuple(item.shape) if isinstance(item, h5py.Dataset) else "group"))
    return layout


def test_sharded_weights_split_and_name_shards_as_keras_does(mlp, tmp_path):
    mlp.save_weights(tmp_path / "mlp.weights.json", max_shard_size=1.5e-6)
    written = json.loads((tmp_path / "mlp.weights.json").read_text())
    keras = json.loads((VARIANTS / "mlp.weights.json").read_text())
    assert written["weight_map"] == keras["weight_map"]
    assert written["metadata"]["total_size"] == keras["metadata"]["total_size"]
    datasets = {key: value for key, value in shard_layout(tmp_path, "mlp").items()
                if value != "group"}
    keras_datasets = {key: value for key, value in shard_layout(VARIANTS, "mlp").items()
                      if value != "group"}
    assert datasets == keras_datasets


def test_sharded_weights_load_back(mlp, recorded_mlp, tmp_path):
    mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.5e-6)
    model = modelio.model_from_json(mlp.to_json())
    model.load_weights(tmp_path / "w.weights.json")
    x, expected = recorded_mlp
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)


def test_a_smaller_sharded_save_deletes_the_old_extra_shards(mlp, tmp_path):
    mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.5e-6)
    mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.0)
    assert sorted(os.listdir(tmp_path)) == ["w.weights.json", "w_00000.weights.h5"]


def test_a_failed_sharded_save_leaves_the_old_files(mlp, tmp_path, monkeypatch):
    mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.5e-6)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    monkeypatch.setattr(sharded_weights, "_write_shard",
                        lambda *args: (_ for _ in ()).throw(OSError(28, "disk full")))
    with pytest.raises(FormatError, match="disk full"):
        mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.5e-6)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


def test_shards_of_two_saves_are_refused_not_mixed(mlp, tmp_path):
    mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.5e-6)
    kept = (tmp_path / "w_00001.weights.h5").read_bytes()
    mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1.5e-6)
    (tmp_path / "w_00001.weights.h5").write_bytes(kept)  # as if the save stopped midway
    with pytest.raises(FormatError, match=r"w_00001\.weights\.h5: this shard is not from the save"):
        mlp.load_weights(tmp_path / "w.weights.json")


@pytest.mark.parametrize("size", [0, -1.0, float("nan"), "1", True])
def test_max_shard_size_must_be_a_positive_number(mlp, tmp_path, size):
    with pytest.raises(FormatError, match="max_shard_size must be a positive number"):
        mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=size)


def test_a_weight_larger_than_a_shard_is_refused_as_keras_does(mlp, tmp_path):
    with pytest.raises(FormatError, match="more than max_shard_size"):
        mlp.save_weights(tmp_path / "w.weights.json", max_shard_size=1e-7)
    assert os.listdir(tmp_path) == []


def test_sharded_weights_need_a_weights_json_name(mlp, tmp_path):
    with pytest.raises(FormatError, match="weights.json"):
        mlp.save_weights(tmp_path / "w.weights.h5", max_shard_size=1.0)
    with pytest.raises(FormatError, match="max_shard_size"):
        mlp.save_weights(tmp_path / "w.weights.json")


def test_the_folder_commit_swaps_in_one_step_where_the_system_can(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "x").write_text("1")
    if keras_dir._exchange(first, second):
        assert (second / "x").read_text() == "1" and not (first / "x").exists()
