"""Untrusted HDF5 never reaches libhdf5 in the caller's process: crashes, hangs and allocations
inside libhdf5 end a child process and come back as FormatErrors; datasets that declare more
than they store (fill-value and compression bombs) are never read.

Every hostile load of a whole model runs through `_run_in_child` (an address-space limit and a
timeout), so a regression fails a test instead of killing the test run."""

import os
import signal
import time
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from config_safety_support import _run_in_child

import modelio
from modelio import FormatError
from modelio.formats import hdf5_isolated
from modelio.formats.hdf5_isolated import read_hdf5_tree

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KERAS3 = FIXTURES / "keras3_files"
# One byte of Keras 3's text_rnn weights, inverted: libhdf5 dereferences a wild pointer on it.
SEGFAULTING_BYTE = 18817
# Bytes of tf-keras's mlp.h5, inverted: libhdf5 crashes on the first, loops forever on the second.
KERAS2_SEGFAULTING_BYTE = 7665
HANGING_BYTE = 4760


def _wide_model():
    inputs = modelio.Input((1024,), name="features")
    outputs = modelio.layers.Dense(4096, name="wide")(inputs)
    return modelio.Model(inputs, outputs)


def _saved_pair(tmp_path: Path) -> tuple[Path, Path]:
    architecture = tmp_path / "wide.json"
    modelio.save_model(_wide_model(), architecture)
    return architecture, tmp_path / "wide.weights.h5"


def _replace_kernel(weights: Path, make) -> None:
    """Replace the Dense kernel (`layers/dense/vars/0`) by what `make(group, name)` creates."""
    with h5py.File(weights, "a") as handle:
        group = handle["layers/dense/vars"]
        del group["0"]
        make(group, "0")


# ----- crash, hang, memory inside the parser --------------------------------------------------

def test_a_byte_that_crashes_libhdf5_is_a_format_error_naming_the_file(tmp_path):
    data = bytearray((KERAS3 / "text_rnn.weights.h5").read_bytes())
    data[SEGFAULTING_BYTE] ^= 0xFF
    archive = tmp_path / "crashing.keras"
    with zipfile.ZipFile(KERAS3 / "text_rnn.keras") as source, \
            zipfile.ZipFile(archive, "w") as target:
        for info in source.infolist():
            member = bytes(data) if info.filename == "model.weights.h5" else source.read(info)
            target.writestr(info, member)
    outcome = _run_in_child({"kind": "path", "path": str(archive)})
    assert outcome["result"] == "modelio", outcome
    assert outcome["type"] == "FormatError"
    assert str(archive) in outcome["message"]
    assert "libhdf5 crashed on it: signal SIGSEGV" in outcome["message"]


def test_a_byte_that_crashes_libhdf5_in_a_keras2_h5_is_a_format_error(tmp_path):
    data = bytearray((FIXTURES / "keras2_files" / "mlp.h5").read_bytes())
    data[KERAS2_SEGFAULTING_BYTE] ^= 0xFF
    mutant = tmp_path / "crashing.h5"
    mutant.write_bytes(bytes(data))
    outcome = _run_in_child({"kind": "path", "path": str(mutant)})
    assert outcome["result"] == "modelio", outcome
    assert "SIGSEGV" in outcome["message"] and str(mutant) in outcome["message"]


def test_the_same_crash_read_directly_leaves_the_caller_running(tmp_path):
    data = bytearray((KERAS3 / "text_rnn.weights.h5").read_bytes())
    data[SEGFAULTING_BYTE] ^= 0xFF
    mutant = tmp_path / "crashing.weights.h5"
    mutant.write_bytes(bytes(data))
    outcome = _run_in_child({"kind": "hdf5_tree", "path": str(mutant)})
    assert outcome["result"] == "modelio", outcome
    assert "SIGSEGV" in outcome["message"] and str(mutant) in outcome["message"]


def test_a_byte_that_makes_libhdf5_loop_forever_is_stopped_at_the_deadline(tmp_path):
    data = bytearray((FIXTURES / "keras2_files" / "mlp.h5").read_bytes())
    data[HANGING_BYTE] ^= 0xFF
    mutant = tmp_path / "looping.h5"
    mutant.write_bytes(bytes(data))
    outcome = _run_in_child({"kind": "hdf5_tree", "path": str(mutant), "seconds": 1.0})
    assert outcome["result"] == "modelio", outcome
    assert "did not finish reading it in time" in outcome["message"]
    assert str(mutant) in outcome["message"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the forked reader is what is patched")
def test_a_parser_that_never_finishes_is_stopped_at_the_deadline(tmp_path, monkeypatch):
    def loop_forever(self):
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(hdf5_isolated._Walker, "walk", loop_forever)
    monkeypatch.setattr(hdf5_isolated, "BASE_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(FormatError, match="did not finish reading it in time") as error:
        read_hdf5_tree(KERAS3 / "mlp.weights.h5")
    assert str(KERAS3 / "mlp.weights.h5") in str(error.value)
    assert time.monotonic() - started < 10


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the forked reader is what is patched")
def test_a_parser_killed_by_a_signal_is_reported_by_its_signal(monkeypatch):
    def crash(self):
        os.kill(os.getpid(), signal.SIGSEGV)

    monkeypatch.setattr(hdf5_isolated._Walker, "walk", crash)
    with pytest.raises(FormatError, match="signal SIGSEGV"):
        read_hdf5_tree(KERAS3 / "mlp.weights.h5")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the forked reader is what is patched")
def test_a_parser_that_allocates_without_bound_hits_its_memory_limit(monkeypatch):
    def allocate(self):
        return [bytearray(1024**3) for _ in range(64)]

    monkeypatch.setattr(hdf5_isolated._Walker, "walk", allocate)
    with pytest.raises(FormatError, match="more memory than its limit"):
        read_hdf5_tree(KERAS3 / "mlp.weights.h5")


def test_a_spawned_reader_reads_what_a_forked_one_reads(monkeypatch):
    forked = read_hdf5_tree(KERAS3 / "mlp.weights.h5")
    monkeypatch.setattr(hdf5_isolated.threading, "active_count", lambda: 2)
    spawned = read_hdf5_tree(KERAS3 / "mlp.weights.h5")
    kernel = "layers/dense/vars/0"
    np.testing.assert_array_equal(forked[kernel][()], spawned[kernel][()])
    assert dict(forked.attrs) == dict(spawned.attrs)


# ----- declared-size bombs --------------------------------------------------------------------

def test_a_weight_that_was_never_written_is_refused_not_read_as_zeros(tmp_path):
    architecture, weights = _saved_pair(tmp_path)
    _replace_kernel(weights, lambda group, name: group.create_dataset(name, (1024, 4096), "f4"))
    with h5py.File(weights, "r") as handle:  # 16 MiB declared, nothing stored
        assert handle["layers/dense/vars/0"].id.get_storage_size() == 0
    outcome = _run_in_child({"kind": "path", "path": str(architecture)})
    assert outcome["result"] == "modelio", outcome
    assert "layers/dense/vars/0" in outcome["message"]
    assert "data never written" in outcome["message"]


def test_a_never_written_weight_inside_a_keras_archive_is_refused(tmp_path):
    architecture, weights = _saved_pair(tmp_path)
    _replace_kernel(weights, lambda group, name: group.create_dataset(name, (1024, 4096), "f4"))
    archive = tmp_path / "wide.keras"
    modelio.save_model(_wide_model(), archive)
    with zipfile.ZipFile(archive) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["model.weights.h5"] = weights.read_bytes()
    with zipfile.ZipFile(archive, "w") as target:
        for member, data in members.items():
            target.writestr(member, data)
    outcome = _run_in_child({"kind": "path", "path": str(archive)})
    assert outcome["result"] == "modelio", outcome
    assert "data never written" in outcome["message"] and str(archive) in outcome["message"]


def _compression_bomb(path: Path, gib: int = 1) -> None:
    """A dataset of `gib` GiB of zeros whose every 4 MiB chunk is the same few KB of deflate."""
    chunk_rows = 1024
    zero_chunk = zlib.compress(np.zeros((chunk_rows, 1024), "f4").tobytes(), 9)
    rows = gib * 256 * chunk_rows
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset("bomb", (rows, 1024), "f4", chunks=(chunk_rows, 1024),
                                        compression="gzip")
        for start in range(0, rows, chunk_rows):
            dataset.id.write_direct_chunk((start, 0), zero_chunk)


def test_a_compression_bomb_is_not_decompressed(tmp_path):
    bomb = tmp_path / "bomb.h5"
    _compression_bomb(bomb)
    assert bomb.stat().st_size < 5 * 1024**2
    tree = read_hdf5_tree(bomb)
    assert tree["bomb"].shape == (256 * 1024, 1024)
    with pytest.raises(FormatError, match="budget") as error:
        tree["bomb"][()]
    assert str(bomb) in str(error.value) and "/bomb" in str(error.value)


def test_compressed_weights_within_the_budget_load(tmp_path):
    architecture, weights = _saved_pair(tmp_path)
    kernel = np.random.default_rng(0).standard_normal((1024, 4096)).astype("f4")
    _replace_kernel(weights, lambda group, name: group.create_dataset(
        name, data=kernel, compression="gzip", chunks=(256, 4096)))
    model = modelio.load_model(architecture)
    np.testing.assert_array_equal(model.get_layer("wide").get_weights()[0], kernel)


def test_a_dataset_behind_an_unknown_filter_is_refused(tmp_path):
    path = tmp_path / "filtered.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("scaled", data=np.arange(100, dtype="i4"), scaleoffset=0,
                              chunks=(10,))
    tree = read_hdf5_tree(path)
    with pytest.raises(FormatError, match="unsupported HDF5 filter"):
        tree["scaled"][()]


def test_metadata_only_reads_take_no_data(tmp_path):
    tree = read_hdf5_tree(KERAS3 / "mlp.weights.h5", read_data=False)
    dataset = tree["layers/dense/vars/0"]
    assert dataset.shape and dataset.dtype == np.float32
    with pytest.raises(FormatError, match="was not read"):
        dataset[()]


def test_optimizer_state_is_never_read(tmp_path):
    path = tmp_path / "with_optimizer.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("optimizer_weights/adam/m", data=np.ones(10, "f4"))
        handle.create_dataset("model_weights/dense/kernel", data=np.ones(10, "f4"))
    tree = read_hdf5_tree(path)
    np.testing.assert_array_equal(tree["model_weights/dense/kernel"][()], np.ones(10, "f4"))
    with pytest.raises(FormatError, match="optimizer state"):
        tree["optimizer_weights/adam/m"][()]


# ----- structure --------------------------------------------------------------------------------

def test_groups_nested_beyond_the_limit_are_refused(tmp_path):
    path = tmp_path / "deep.h5"
    with h5py.File(path, "w") as handle:
        handle.create_group("/".join(["g"] * (hdf5_isolated.MAX_DEPTH + 2)))
    with pytest.raises(FormatError, match="nested deeper"):
        read_hdf5_tree(path)


def test_links_are_recorded_and_never_followed(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as handle:
        handle.create_dataset("data", data=np.arange(4))
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as handle:
        handle["outside"] = h5py.ExternalLink(str(secret), "/data")
        handle["inside"] = h5py.SoftLink("/nowhere")
    tree = read_hdf5_tree(path)
    assert tree.link("outside").link_type == "ExternalLink"
    assert tree.link("inside").link_type == "SoftLink"
    with pytest.raises(KeyError):
        tree["outside"]
