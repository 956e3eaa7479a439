"""The weights beside a JSON/YAML architecture (`m.weights.h5` for `m.json`) are read only when,
with symlinks resolved, they are a regular file inside the architecture's folder; anything else
is refused before it is opened (modelio/files.py `open_inside_folder`, which ONNX external data
can share)."""

import builtins
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from config_safety_support import _run_in_child
from fixture_models import FIXTURES

import modelio
from modelio import FormatError, files

SOURCE = FIXTURES / "keras3_files" / "mlp.keras"


@pytest.fixture(scope="module")
def model():
    return modelio.load_model(SOURCE)


@pytest.fixture
def folders(tmp_path, model):
    """`models/saved.json` (weights removed) and, outside, `secret/private.weights.h5`: a
    valid weights file for the same model, so that reading it would make the load succeed."""
    models, secret = tmp_path / "models", tmp_path / "secret"
    models.mkdir()
    secret.mkdir()
    modelio.save_model(model, models / "saved.json")
    (models / "saved.weights.h5").rename(secret / "private.weights.h5")
    return models, secret


@pytest.fixture
def opened_paths(monkeypatch):
    """Every path this process opens through Python while the test runs."""
    seen = []
    real_os_open, real_open = os.open, builtins.open

    def recording_os_open(path, *args, **kwargs):
        seen.append(os.path.realpath(path) if isinstance(path, (str, os.PathLike)) else path)
        return real_os_open(path, *args, **kwargs)

    def recording_open(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)):
            seen.append(os.path.realpath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_os_open)
    monkeypatch.setattr(builtins, "open", recording_open)
    return seen


def refused(path, *words) -> FormatError:
    with pytest.raises(FormatError) as info:
        modelio.load_model(path)
    message = str(info.value)
    assert "saved.weights.h5" in message, message
    for word in words:
        assert word in message, message
    return info.value


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_sibling_weights_symlink_out_of_the_folder_is_refused_and_not_opened(
        relative, folders, opened_paths):
    models, secret = folders
    target = secret / "private.weights.h5"
    (models / "saved.weights.h5").symlink_to(
        Path("..") / "secret" / target.name if relative else target)
    refused(models / "saved.json", "outside the folder")
    assert os.path.realpath(target) not in opened_paths


def test_sibling_weights_symlink_to_a_file_in_the_same_folder_loads(folders, model):
    models, secret = folders
    (secret / "private.weights.h5").rename(models / "v2.weights.h5")
    (models / "saved.weights.h5").symlink_to("v2.weights.h5")
    loaded = modelio.load_model(models / "saved.json")
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_an_architecture_linked_from_another_folder_reads_the_weights_of_its_real_folder(
        tmp_path, model):
    store, links = tmp_path / "store", tmp_path / "links"
    store.mkdir()
    links.mkdir()
    modelio.save_model(model, store / "saved.json")
    (links / "saved.json").symlink_to(store / "saved.json")
    (links / "saved.weights.h5").symlink_to(store / "saved.weights.h5")
    loaded = modelio.load_model(links / "saved.json")
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_dangling_sibling_weights_symlink_is_refused(folders):
    models, _ = folders
    (models / "saved.weights.h5").symlink_to("missing.weights.h5")
    refused(models / "saved.json", "does not exist")


def test_sibling_weights_symlink_loop_is_refused(folders):
    models, _ = folders
    (models / "saved.weights.h5").symlink_to("loop.weights.h5")
    (models / "loop.weights.h5").symlink_to("saved.weights.h5")
    refused(models / "saved.json")


def test_sibling_weights_directory_is_refused(folders):
    models, _ = folders
    (models / "saved.weights.h5").mkdir()
    refused(models / "saved.json", "directory")


def test_sibling_weights_fifo_is_refused_without_blocking(folders):
    models, _ = folders
    os.mkfifo(models / "saved.weights.h5")
    outcome = _run_in_child({"kind": "path", "path": str(models / "saved.json")}, timeout=60)
    assert outcome["result"] == "modelio" and outcome["type"] == "FormatError", outcome
    assert "saved.weights.h5" in outcome["message"] and "FIFO" in outcome["message"]


def test_sibling_weights_device_is_refused_before_opening(folders, opened_paths):
    models, _ = folders
    sibling = models / "saved.weights.h5"
    try:
        os.mknod(sibling, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # like /dev/zero
    except (PermissionError, AttributeError):
        pytest.skip("cannot create a device node here")
    refused(models / "saved.json", "device")
    assert os.path.realpath(sibling) not in opened_paths


def test_sibling_weights_symlink_to_a_device_is_refused(folders):
    models, _ = folders
    (models / "saved.weights.h5").symlink_to("/dev/zero")
    refused(models / "saved.json", "outside the folder")


# ----- the shared helper --------------------------------------------------------------------------

def test_open_inside_folder_accepts_a_subfolder_and_refuses_a_parent(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.bin").write_bytes(b"abc")
    (tmp_path / "outside.bin").write_bytes(b"no")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "sub").symlink_to(tmp_path / "sub")
    with pytest.raises(FormatError, match="outside the folder"):
        files.open_inside_folder(folder / "sub" / "data.bin", folder, "external data")
    with pytest.raises(FormatError, match="outside the folder"):
        files.open_inside_folder(folder / ".." / "outside.bin", folder, "external data")
    (folder / "inner").mkdir()
    (folder / "inner" / "data.bin").write_bytes(b"xyz")
    with files.open_inside_folder(folder / "inner" / "data.bin", folder, "external data") as handle:
        assert handle.read() == b"xyz"


def test_open_inside_folder_refuses_a_file_swapped_after_its_check(tmp_path, monkeypatch):
    (tmp_path / "checked.bin").write_bytes(b"checked")
    (tmp_path / "opened.bin").write_bytes(b"opened")
    other = os.stat(tmp_path / "checked.bin")
    monkeypatch.setattr(files, "_stat", lambda real, named, what: other)
    with pytest.raises(FormatError, match="replaced while being opened"):
        files.open_inside_folder(tmp_path / "opened.bin", tmp_path, "external data")
