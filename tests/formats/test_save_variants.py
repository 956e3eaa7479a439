"""Reading the ways Keras 3.15.1 saves besides a `.keras` zip (fixtures/save_variants/, written by
tools/save_variant_fixtures.py): an unzipped model folder, sharded weights (an index and its
shards), and npz weights (pickled by Keras, so refused), with hostile variants of each."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest
from fixture_models import FIXTURES

import modelio
from modelio.errors import FormatError, UnsupportedError, WeightMismatchError

VARIANTS = FIXTURES / "save_variants"


def recorded(stem: str):
    with np.load(VARIANTS / f"{stem}.npz") as arrays:
        x = next(arrays[key] for key in arrays if key.startswith("input:"))
        return x, arrays["output:0"]


def max_difference(model, stem: str) -> float:
    x, expected = recorded(stem)
    return float(np.max(np.abs(model.predict(x) - expected)))


def test_unzipped_folder_loads_and_matches_keras():
    assert max_difference(modelio.load_model(VARIANTS / "mlp_folder"), "mlp") < 1e-5


def test_json_with_sharded_weights_beside_it_loads_and_matches_keras():
    assert max_difference(modelio.load_model(VARIANTS / "mlp.json"), "mlp") < 1e-5


def test_load_weights_reads_a_sharded_index_and_a_model_folder():
    for source in ("mlp.weights.json", "mlp_folder"):
        model = modelio.model_from_json((VARIANTS / "mlp.json").read_text())
        model.load_weights(VARIANTS / source)
        assert max_difference(model, "mlp") < 1e-5


def test_the_fixture_index_splits_a_layer_between_shards():
    index = json.loads((VARIANTS / "mlp.weights.json").read_text())
    assert any(len(files) > 1 for files in index["weight_map"].values())


def test_a_sharded_index_alone_is_not_a_model():
    with pytest.raises(FormatError, match="holds no architecture"):
        modelio.load_model(VARIANTS / "mlp.weights.json")


def test_keras_npz_weights_are_refused_as_pickles_naming_the_members():
    with pytest.raises(UnsupportedError, match=r"pickled members \(__root__\.npy.*never unpickles"):
        modelio.load_model(VARIANTS / "mlp_npz.keras")


def test_npz_weights_of_plain_arrays_are_refused_too(tmp_path):
    target = tmp_path / "plain.keras"
    with zipfile.ZipFile(VARIANTS / "mlp_npz.keras") as source, \
            zipfile.ZipFile(target, "w") as archive:
        archive.writestr("config.json", source.read("config.json"))
        npz = tmp_path / "w.npz"
        np.savez(npz, **{"layers/dense": np.zeros(3, np.float32)})
        archive.write(npz, "model.weights.npz")
    with pytest.raises(UnsupportedError, match="plain arrays are not a layout Keras"):
        modelio.load_model(target)


# ----- hostile sharded weights -----------------------------------------------------------------

@pytest.fixture
def sharded(tmp_path):
    """A copy of the sharded fixture (mlp.json, its index and shards) to damage."""
    for path in VARIANTS.glob("mlp*"):
        if path.is_file() and path.name != "mlp_npz.keras":
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def rewrite_index(folder, change):
    index = folder / "mlp.weights.json"
    document = json.loads(index.read_text())
    change(document)
    index.write_text(json.dumps(document))


def first_layer(document):
    return next(iter(document["weight_map"]))


@pytest.mark.parametrize("name", ["../mlp_00000.weights.h5", "/etc/passwd", "sub/x.weights.h5",
                                  "..", ""])
def test_a_shard_name_with_a_folder_part_is_refused(sharded, name):
    rewrite_index(sharded, lambda d: d["weight_map"].__setitem__(first_layer(d), [name]))
    with pytest.raises(FormatError, match="a shard must be a file name beside the index"):
        modelio.load_model(sharded / "mlp.json")


def test_a_shard_symlinked_out_of_the_folder_is_refused(sharded, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "mlp_00000.weights.h5"
    shutil.move(sharded / "mlp_00000.weights.h5", outside)
    os.symlink(outside, sharded / "mlp_00000.weights.h5")
    with pytest.raises(FormatError, match="outside the folder"):
        modelio.load_model(sharded / "mlp.json")


def test_a_shard_that_is_a_fifo_is_refused_without_opening_it(sharded):
    (sharded / "mlp_00001.weights.h5").unlink()
    os.mkfifo(sharded / "mlp_00001.weights.h5")
    with pytest.raises(FormatError, match="is a FIFO"):
        modelio.load_model(sharded / "mlp.json")


def test_a_missing_shard_is_one_error_naming_it(sharded):
    (sharded / "mlp_00001.weights.h5").unlink()
    with pytest.raises(FormatError, match=r"mlp_00001\.weights\.h5: missing shard"):
        modelio.load_model(sharded / "mlp.json")


def test_an_index_claiming_huge_shards_is_refused_before_reading_them(sharded):
    rewrite_index(sharded, lambda d: d["metadata"].__setitem__("total_size", 1e15))
    with pytest.raises(FormatError, match="claims 1000000000000000 bytes"):
        modelio.load_model(sharded / "mlp.json")


def test_shards_larger_than_the_model_needs_are_refused(sharded):
    with open(sharded / "mlp_00001.weights.h5", "ab") as handle:
        handle.truncate(64 * 1024 * 1024)
    with pytest.raises(FormatError, match="refusing oversized shards"):
        modelio.load_model(sharded / "mlp.json")


@pytest.mark.parametrize("document", [[], {"weight_map": []}, {"weight_map": {"/vars": [3]}},
                                      {"weight_map": {}, "metadata": {"total_size": -1}},
                                      {"weight_map": {}, "metadata": {"total_size": "big"}}])
def test_a_malformed_index_is_refused(sharded, document):
    (sharded / "mlp.weights.json").write_text(json.dumps(document))
    with pytest.raises(FormatError):
        modelio.load_model(sharded / "mlp.json")


def test_a_dataset_stored_in_two_shards_is_refused(sharded):
    shutil.copy(sharded / "mlp_00000.weights.h5", sharded / "copy.weights.h5")
    rewrite_index(sharded, lambda d: d["weight_map"]["/layers/dense/vars"].append(
        "copy.weights.h5"))
    with pytest.raises(FormatError, match="stored in two shards"):
        modelio.load_model(sharded / "mlp.json")


def test_shards_of_another_architecture_are_a_weight_mismatch(sharded):
    document = json.loads((sharded / "mlp.json").read_text())
    document["config"]["layers"][1]["config"]["units"] = 3
    (sharded / "mlp.json").write_text(json.dumps(document))
    with pytest.raises(WeightMismatchError):
        modelio.load_model(sharded / "mlp.json")


# ----- hostile model folders -------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(VARIANTS / "mlp_folder", target)
    return target


def test_a_folder_whose_weights_link_outside_is_refused(folder, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "w.h5"
    shutil.move(folder / "model.weights.h5", outside)
    os.symlink(outside, folder / "model.weights.h5")
    with pytest.raises(FormatError, match="outside the folder"):
        modelio.load_model(folder)


def test_a_folder_without_weights_is_refused_naming_the_file(folder):
    (folder / "model.weights.h5").unlink()
    with pytest.raises(FormatError, match="has no model.weights.h5"):
        modelio.load_model(folder)


def test_npz_bytes_under_the_h5_name_are_refused(folder):
    with zipfile.ZipFile(VARIANTS / "mlp_npz.keras") as archive:
        (folder / "model.weights.h5").write_bytes(archive.read("model.weights.npz"))
    with pytest.raises(FormatError, match="npz bytes under the .h5 name"):
        modelio.load_model(folder)


def test_an_oversized_weights_file_in_a_folder_is_refused(folder):
    with open(folder / "model.weights.h5", "ab") as handle:
        handle.truncate(64 * 1024 * 1024)
    with pytest.raises(FormatError, match="refusing an oversized weights file"):
        modelio.load_model(folder)


def test_a_folder_config_that_is_a_fifo_is_refused(folder):
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    with pytest.raises(FormatError, match="is a FIFO"):
        modelio.load_model(folder)


def test_a_folder_without_a_config_is_not_a_model(tmp_path):
    with pytest.raises(FormatError, match="is a directory"):
        modelio.load_model(tmp_path)
