"""A JSON/YAML architecture and its `<stem>.weights.h5` are one commit: after a failure or a
kill at any point of a save, the pair loads as the complete old model or the complete new one,
and two saves cannot interleave (modelio/formats/architecture_pair.py)."""

import errno
import hashlib
import json
import os
import subprocess
import sys
import threading

import h5py
import numpy as np
import pytest
from save_crash_support import NEW_SOURCE, OLD_SOURCE, REPO, folder_bytes, names

import modelio
from modelio import FormatError
from modelio.atomic import NewFile
from modelio.formats import architecture_pair, weights_h5
from modelio.formats.architecture_pair import PAIR_GROUP

PAIR = ["saved.json", "saved.weights.h5"]


def assert_same_model(got, want):
    assert got.get_config() == want.get_config()
    assert len(got.get_weights()) == len(want.get_weights())
    for got_array, want_array in zip(got.get_weights(), want.get_weights()):
        np.testing.assert_array_equal(got_array, want_array)


def old_pair(tmp_path, old_model, suffix=".json"):
    target = tmp_path / f"saved{suffix}"
    modelio.save_model(old_model, target)
    return target


# ----- what is written ----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_the_architecture_is_plain_keras_text_and_the_weights_a_keras3_file_with_one_more_group(
        suffix, old_model, tmp_path):
    target = old_pair(tmp_path, old_model, suffix)
    expected = old_model.to_json(indent=2) if suffix == ".json" else old_model.to_yaml()
    assert target.read_text(encoding="utf-8") == expected  # nothing added for modelio
    with h5py.File(tmp_path / "saved.weights.h5", "r") as handle:
        assert sorted(handle) == ["layers", PAIR_GROUP, "vars"]
        record = handle[PAIR_GROUP]
        assert record.attrs["replaces_sha256"] == ""  # there was no architecture before
        assert bytes(record["architecture"][()]).decode() == expected
    fresh = modelio.model_from_json(old_model.to_json())
    fresh.load_weights(tmp_path / "saved.weights.h5")  # a plain weights file to Keras' reader
    assert_same_model(fresh, old_model)
    assert_same_model(modelio.load_model(target), old_model)


def test_a_resave_records_the_hash_of_the_architecture_it_replaces(old_model, new_model, tmp_path):
    target = old_pair(tmp_path, old_model)
    replaced = hashlib.sha256(target.read_bytes()).hexdigest()
    modelio.save_model(new_model, target)
    with h5py.File(tmp_path / "saved.weights.h5", "r") as handle:
        assert handle[PAIR_GROUP].attrs["replaces_sha256"] == replaced


def test_a_model_without_weights_replaces_the_weights_of_the_old_pair(old_model, tmp_path):
    target = old_pair(tmp_path, old_model)
    inputs = modelio.Input((4,))
    weightless = modelio.Model(inputs, modelio.layers.ReLU()(inputs))
    modelio.save_model(weightless, target)
    assert names(tmp_path) == PAIR
    assert_same_model(modelio.load_model(target), weightless)


# ----- failures at each step ----------------------------------------------------------------------

def fail_at(monkeypatch, function_name: str, call: int):
    """Make the `call`-th call of os.<function_name> during the save fail with ENOSPC."""
    original = getattr(os, function_name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(*args, **kwargs)

    monkeypatch.setattr(os, function_name, failing)


def fail_writing_the_weights(monkeypatch):
    def writer(model, h5group):
        h5group.create_group("layers")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(weights_h5, "write_keras3_weights", writer)


def fail_writing_the_architecture(monkeypatch):
    def failing_open(path, mode="r", *args, **kwargs):
        if mode == "wb":  # the architecture text (the weights are opened "w+b")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(architecture_pair, "open", failing_open, raising=False)


# (step that fails, how, which model the pair holds afterwards)
STEPS = [
    ("writing the weights", fail_writing_the_weights, "old"),
    ("writing the architecture", fail_writing_the_architecture, "old"),
    ("fsync of the weights", lambda mp: fail_at(mp, "fsync", 1), "old"),
    ("rename of the weights", lambda mp: fail_at(mp, "replace", 1), "old"),
    ("fsync of the folder after the weights", lambda mp: fail_at(mp, "fsync", 2), "new"),
    ("fsync of the architecture", lambda mp: fail_at(mp, "fsync", 3), "new"),
    ("rename of the architecture", lambda mp: fail_at(mp, "replace", 2), "new"),
    ("fsync of the folder after the architecture", lambda mp: fail_at(mp, "fsync", 4), "new"),
]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@pytest.mark.parametrize("step,inject,outcome", STEPS, ids=[step[0] for step in STEPS])
def test_a_save_failing_at_any_step_leaves_a_complete_old_or_new_model(
        step, inject, outcome, suffix, old_model, new_model, tmp_path, monkeypatch):
    target = old_pair(tmp_path, old_model, suffix)
    before = folder_bytes(tmp_path)
    inject(monkeypatch)
    with pytest.raises(FormatError, match="No space left") as info:
        modelio.save_model(new_model, target)
    monkeypatch.undo()
    assert str(tmp_path / "saved") in str(info.value)
    assert names(tmp_path) == sorted([target.name, "saved.weights.h5"])  # no temporary left
    if outcome == "old":
        assert folder_bytes(tmp_path) == before
    assert_same_model(modelio.load_model(target), old_model if outcome == "old" else new_model)


def test_a_failure_after_the_weights_were_replaced_says_the_new_model_is_loadable(
        old_model, new_model, tmp_path, monkeypatch):
    target = old_pair(tmp_path, old_model)
    fail_at(monkeypatch, "replace", 2)
    with pytest.raises(FormatError, match="loads the new model"):
        modelio.save_model(new_model, target)


# ----- kill -9 at each step -----------------------------------------------------------------------

KILLS = [("writing", "old"), ("committing", "old"), ("renaming", "old"), ("between", "new")]


@pytest.mark.parametrize("stage,outcome", KILLS, ids=[kill[0] for kill in KILLS])
def test_a_save_killed_at_any_step_leaves_a_complete_old_or_new_model(
        stage, outcome, old_model, new_model, tmp_path, save_killer):
    target = old_pair(tmp_path, old_model)
    save_killer.kill_save_at(stage, target, source=NEW_SOURCE)
    assert_same_model(modelio.load_model(target), old_model if outcome == "old" else new_model)
    modelio.save_model(old_model, target)  # the next save finishes the job and cleans up
    assert names(tmp_path) == PAIR
    assert_same_model(modelio.load_model(target), old_model)


def test_a_first_save_killed_between_its_two_files_leaves_no_architecture(
        old_model, tmp_path, save_killer):
    target = tmp_path / "saved.json"
    save_killer.kill_save_at("between", target, source=NEW_SOURCE)
    assert names(tmp_path) == ["saved.weights.h5"]
    with pytest.raises(FormatError, match="no such file"):
        modelio.load_model(target)  # as before the save: there was no model
    modelio.save_model(old_model, target)
    assert_same_model(modelio.load_model(target), old_model)


# ----- concurrent saves and loads -----------------------------------------------------------------

def test_a_second_save_waits_for_the_first_to_commit_both_files(old_model, new_model, tmp_path,
                                                                monkeypatch):
    target = old_pair(tmp_path, old_model)
    events, first_paused, resume = [], threading.Event(), threading.Event()
    original_commit = NewFile.commit

    def commit(self):
        owner = threading.current_thread().name
        if owner == "first" and self.target.name == "saved.json":
            first_paused.set()
            resume.wait(30)
        original_commit(self)
        events.append((owner, self.target.name))

    monkeypatch.setattr(NewFile, "commit", commit)
    errors = []

    def save(model):
        try:
            modelio.save_model(model, target)
        except BaseException as exc:  # reported below
            errors.append(exc)

    first = threading.Thread(target=save, args=(new_model,), name="first")
    second = threading.Thread(target=save, args=(old_model,), name="second")
    first.start()
    assert first_paused.wait(30)
    second.start()
    second.join(2)  # a hang detector: with the lock the second save is still waiting here
    resume.set()
    first.join(30)
    second.join(30)
    assert not errors
    assert events == [("first", "saved.weights.h5"), ("first", "saved.json"),
                      ("second", "saved.weights.h5"), ("second", "saved.json")]
    assert_same_model(modelio.load_model(target), old_model)


def test_a_load_during_a_save_reads_the_pair_again(old_model, new_model, tmp_path, monkeypatch):
    target = old_pair(tmp_path, old_model)
    original_read_text = architecture_pair.read_text
    saved = []

    def read_then_save(path):
        text = original_read_text(path)
        if not saved:  # another save commits between reading the architecture and the weights
            saved.append(True)
            modelio.save_model(new_model, target)
        return text

    monkeypatch.setattr(architecture_pair, "read_text", read_then_save)
    assert_same_model(modelio.load_model(target), new_model)


_SAVER = r"""
import sys
import modelio
model = modelio.load_model(sys.argv[1])
for _ in range(int(sys.argv[3])):
    modelio.save_model(model, sys.argv[2])
"""


def test_loads_during_two_processes_saving_the_same_pair_see_complete_models(
        old_model, new_model, tmp_path):
    target = old_pair(tmp_path, old_model)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    savers = [subprocess.Popen([sys.executable, "-c", _SAVER, str(source), str(target), "25"],
                               env=env, stderr=subprocess.PIPE, text=True)
              for source in (OLD_SOURCE, NEW_SOURCE)]
    seen = set()
    try:
        while any(saver.poll() is None for saver in savers):
            model = modelio.load_model(target)
            reference = old_model if model.get_config() == old_model.get_config() else new_model
            assert_same_model(model, reference)
            seen.add(reference.name)
    finally:
        for saver in savers:
            _, errors = saver.communicate(timeout=120)
            assert saver.returncode == 0, errors[-800:]
    assert names(tmp_path) == PAIR
    assert seen  # at least one load ran while saving


# ----- files changed by someone else --------------------------------------------------------------

def test_an_architecture_rewritten_by_another_program_is_the_one_loaded(old_model, tmp_path):
    target = old_pair(tmp_path, old_model)
    document = json.loads(target.read_text())
    document["config"]["name"] = "renamed_by_hand"
    target.write_text(json.dumps(document))
    assert modelio.load_model(target).name == "renamed_by_hand"


def test_an_architecture_put_back_to_the_replaced_bytes_loads_the_model_saved_last(
        old_model, new_model, tmp_path):
    """The one case a load cannot tell from a save stopped between its two renames (see
    architecture_pair's docstring): the model the weights were saved with is loaded."""
    target = old_pair(tmp_path, old_model)
    old_text = target.read_bytes()
    modelio.save_model(new_model, target)
    target.write_bytes(old_text)
    assert_same_model(modelio.load_model(target), new_model)


@pytest.mark.parametrize("damage", ["float architecture", "no format", "unknown format",
                                    "not utf-8"])
def test_a_damaged_commit_record_is_a_format_error_naming_the_weights(damage, old_model, new_model,
                                                                      tmp_path):
    target = old_pair(tmp_path, old_model)
    modelio.save_model(new_model, target)
    weights = tmp_path / "saved.weights.h5"
    with h5py.File(weights, "a") as handle:
        record = handle[PAIR_GROUP]
        # the record now says the current architecture file is the one its save was replacing
        record.attrs["replaces_sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
        if damage == "float architecture":
            del record["architecture"]
            record["architecture"] = np.zeros(4, "float32")
        elif damage == "no format":
            del record.attrs["architecture_format"]
        elif damage == "unknown format":
            record.attrs["architecture_format"] = "pickle"
        else:
            del record["architecture"]
            record["architecture"] = np.frombuffer(b"\xff\xfe", np.uint8)
    with pytest.raises(FormatError) as info:
        modelio.load_model(target)
    assert str(weights) in str(info.value)
