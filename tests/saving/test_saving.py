"""load_model / save_model / weights by extension: every format converts to every other."""

import subprocess
import sys

import numpy as np
import pytest
from fixture_models import (
    FIXTURES,
    fixture_arrays,
    predict_as_list,
    recorded_inputs,
    recorded_outputs,
)

import modelio

SOURCES = [
    ("keras3", "text_rnn", FIXTURES / "keras3_files" / "text_rnn.keras"),
    ("keras3", "small_resnet", FIXTURES / "keras3_files" / "small_resnet.keras"),
    ("keras2", "nested_frozen", FIXTURES / "keras2_files" / "nested_frozen.h5"),
    ("keras2", "transformer_block", FIXTURES / "keras2_files" / "transformer_block.h5"),
]
TARGETS = ["model.keras", "model.h5", "model.hdf5", "model.json", "model.yaml"]


def source_arrays(dialect, name, path):
    sidecar = path.with_name(path.name + ".npz")
    if sidecar.exists():
        with np.load(sidecar) as archive:
            return dict(archive)
    return fixture_arrays(dialect, name)


@pytest.mark.parametrize("dialect,name,source", SOURCES, ids=[s[1] for s in SOURCES])
def test_every_format_converts_to_every_other_without_changing_outputs(dialect, name, source, tmp_path):
    arrays = source_arrays(dialect, name, source)
    inputs = recorded_inputs(arrays)
    model = modelio.load_model(source)
    reference = predict_as_list(model, inputs)
    for got, want in zip(reference, recorded_outputs(arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    current = model
    for target in TARGETS + TARGETS[::-1]:    # a chain: each file is read from the previous one
        path = tmp_path / target
        modelio.save_model(current, path)
        current = modelio.load_model(path)
        assert current.get_config() == model.get_config(), target
        for got, want in zip(predict_as_list(current, inputs), reference):
            np.testing.assert_array_equal(got, want, err_msg=target)


def test_json_and_yaml_save_weights_beside_the_architecture(tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "mlp.keras")
    modelio.save_model(model, tmp_path / "net.yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.weights.h5", "net.yaml"]
    reloaded = modelio.load_model(tmp_path / "net.yaml")
    for got, want in zip(reloaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("filename", ["w.weights.h5", "w.h5"])
def test_model_save_weights_and_load_weights_in_both_layouts(filename, tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "small_mobilenet.keras")
    model.save_weights(tmp_path / filename)
    fresh = modelio.model_from_json(model.to_json())
    fresh.load_weights(tmp_path / filename)
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_weights_can_be_loaded_from_a_keras_archive(tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "shared_layers.keras")
    fresh = modelio.model_from_json(model.to_json())
    fresh.load_weights(FIXTURES / "keras3_files" / "shared_layers.keras")
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_a_weights_file_is_not_a_model(tmp_path):
    with pytest.raises(modelio.FormatError, match="no architecture"):
        modelio.load_model(FIXTURES / "keras3_files" / "mlp.weights.h5")
    model = modelio.load_model(FIXTURES / "keras3_files" / "mlp.keras")
    with pytest.raises(modelio.FormatError, match="save_weights"):
        modelio.save_model(model, tmp_path / "x.weights.h5")
    assert not list(tmp_path.iterdir())


def test_summary_command_reads_keras_and_h5_files():
    for path in (FIXTURES / "keras3_files" / "text_rnn.keras", FIXTURES / "keras2_files" / "mlp.h5"):
        result = subprocess.run([sys.executable, "-m", "modelio", "summary", str(path)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Total params:" in result.stdout


@pytest.mark.parametrize("name", ["small_resnet", "text_rnn", "transformer_block", "nested_sequential"])
def test_keras_json_with_keras_weights_file_beside_it_loads_and_matches_keras(name, tmp_path):
    (tmp_path / f"{name}.json").write_bytes((FIXTURES / "keras3" / f"{name}.json").read_bytes())
    (tmp_path / f"{name}.weights.h5").write_bytes(
        (FIXTURES / "keras3_files" / f"{name}.weights.h5").read_bytes())
    arrays = fixture_arrays("keras3", name)
    model = modelio.load_model(tmp_path / f"{name}.json")
    for got, want in zip(predict_as_list(model, recorded_inputs(arrays)), recorded_outputs(arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("filename", ["m.keras", "m.h5", "m.yaml", "m.weights.h5", "m.onnx"])
def test_saved_files_get_the_usual_permissions_not_private_temporary_ones(filename, tmp_path):
    import os
    import stat

    model = modelio.load_model(FIXTURES / "keras3_files" / "mlp.keras")
    previous = os.umask(0o022)
    try:
        path = tmp_path / filename
        if filename.endswith(".weights.h5"):
            model.save_weights(path)
        else:
            modelio.save_model(model, path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o640)  # an existing file keeps its mode when it is replaced
        if filename.endswith(".weights.h5"):
            model.save_weights(path)
        else:
            modelio.save_model(model, path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(previous)
