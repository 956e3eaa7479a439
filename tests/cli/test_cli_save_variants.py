"""The command line on Keras 3's other save forms (a model folder, sharded weights) and with the
user's `--custom-objects`; the tests call the command's `main` in this process (the code a
subprocess would run, without a Python start per test)."""

import os
from pathlib import Path

import numpy as np
import pytest
from fixture_models import FIXTURES

from modelio.cli import main

VARIANTS = FIXTURES / "save_variants"
TESTS = Path(__file__).resolve().parents[1]


def test_summary_reads_a_model_folder(capsys):
    assert main(["summary", str(VARIANTS / "mlp_folder")]) == 0
    text = capsys.readouterr().out
    assert "Keras 3 unzipped model (folder)" in text and "Keras 3.15.1" in text


def test_convert_writes_a_folder_and_sharded_weights(tmp_path):
    folder, index = tmp_path / "out", tmp_path / "out.weights.json"
    assert main(["-q", "convert", str(VARIANTS / "mlp.json"), str(folder), "--unzipped"]) == 0
    assert main(["-q", "convert", str(folder), str(index), "--max-shard-size", "1.5e-6"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["out", "out.weights.json", "out_00000.weights.h5",
                                            "out_00001.weights.h5"]
    assert sorted(os.listdir(folder)) == ["assets", "config.json", "metadata.json",
                                          "model.weights.h5"]


def test_run_with_custom_objects_matches_keras(tmp_path, monkeypatch):
    # the module is found in the current folder, as a user's own file beside the model would be
    monkeypatch.chdir(TESTS)
    assert main(["-q", "run", str(VARIANTS / "custom_objects.keras"), "--input",
                 str(VARIANTS / "custom_objects.npz"), "--output", str(tmp_path / "y.npz"),
                 "--custom-objects", "custom_fixture_objects:CUSTOM_OBJECTS"]) == 0
    with np.load(tmp_path / "y.npz") as got, np.load(VARIANTS / "custom_objects.npz") as keras:
        np.testing.assert_allclose(got["leaky_dense"], keras["output:0"], rtol=1e-4, atol=1e-4)


def test_without_custom_objects_the_refusal_names_the_function(capsys):
    assert main(["summary", str(VARIANTS / "custom_objects.keras")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("modelio: error: ") and len(error.splitlines()) == 1
    assert "'modelio_fixtures>scaled_swish' is not supported" in error


@pytest.mark.parametrize("spec,message", [
    ("no_such_module_here:X", "cannot import 'no_such_module_here'"),
    ("custom_fixture_objects:NOTHING", "has no 'NOTHING'"),
    ("custom_fixture_objects", "expected MODULE:NAME"),
    ("custom_fixture_objects:VARIANTS_COUNT", "expected a dict, a function or a class"),
])
def test_a_bad_custom_objects_option_is_one_line(capsys, spec, message):
    assert main(["summary", str(VARIANTS / "mlp_folder"), "--custom-objects", spec]) == 2
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1 and message in error


def test_convert_refuses_unzipped_with_shards_and_shards_without_an_index(capsys, tmp_path):
    assert main(["convert", str(VARIANTS / "mlp_folder"), str(tmp_path / "o.weights.json"),
                 "--unzipped", "--max-shard-size", "1"]) == 2
    assert main(["convert", str(VARIANTS / "mlp_folder"), str(tmp_path / "o.weights.h5"),
                 "--max-shard-size", "1"]) == 2
    assert "writes a *.weights.json index" in capsys.readouterr().err


def test_help_documents_the_new_options(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = capsys.readouterr().out
    assert "--custom-objects MODULE:NAME" in text
    assert "--unzipped" in text and "--max-shard-size GB" in text
