"""`modelio summary` and the file metadata it reports (format, the Keras that wrote the file)."""

import json
import zipfile

import h5py
import pytest

from modelio.cli import main
from modelio.errors import FormatError
from modelio.saving import file_metadata, producer_text


def test_summary_prints_table_inputs_outputs_format_and_producer(modelio_cli, fixtures_dir):
    result = modelio_cli("summary", fixtures_dir / "keras2_files" / "two_inputs_two_outputs.h5")
    assert result.returncode == 0, result.stderr
    assert 'Model: "two_in_two_out"' in result.stdout
    assert "score (Dense)" in result.stdout and "Total params: 149" in result.stdout
    with h5py.File(fixtures_dir / "keras2_files" / "two_inputs_two_outputs.h5") as handle:
        version, backend = handle.attrs["keras_version"], handle.attrs["backend"]
    assert result.stdout.endswith(
        " Inputs: features (None, 6) float32, extra (None, 3) float32\n"
        " Outputs: score (None, 2) float32, label (None, 3) float32\n"
        " Format: HDF5 full model (.h5)\n"
        f" Producer: Keras {version} ({backend} backend)\n")


def test_summary_json_is_machine_readable(modelio_cli, fixtures_dir):
    source = fixtures_dir / "keras2" / "nested_sequential.json"
    result = modelio_cli("summary", "--json", source)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["inputs"] == [{"name": "x", "shape": [None, 4], "dtype": "float32"}]
    inner = next(layer for layer in record["layers"] if layer["name"] == "inner")
    assert inner["class_name"] == "Sequential" and inner["inbound"] == ["x[0][0]", "inner[0][0]"]
    assert record["total_params"] == sum(layer["params"] for layer in record["layers"])
    document = json.loads(source.read_text())
    assert record["format"] == "json"
    assert record["producer"] == {"keras_version": document["keras_version"],
                                  "backend": document["backend"], "date_saved": None}


def test_summary_json_of_a_keras_archive_carries_its_metadata(fixtures_dir, capsys):
    source = fixtures_dir / "keras3_files" / "nested_sequential.keras"
    assert main(["summary", "--json", str(source)]) == 0
    record = json.loads(capsys.readouterr().out)
    with zipfile.ZipFile(source) as archive:
        recorded = json.loads(archive.read("metadata.json"))
    assert record["format"] == "keras"
    assert record["producer"] == {"keras_version": recorded["keras_version"], "backend": None,
                                  "date_saved": recorded["date_saved"]}


def test_summary_of_a_json_config_reads_keras2_version(fixtures_dir, capsys):
    assert main(["summary", str(fixtures_dir / "keras2" / "mlp.json")]) == 0
    document = json.loads((fixtures_dir / "keras2" / "mlp.json").read_text())
    assert capsys.readouterr().out.endswith(
        f" Format: JSON architecture\n Producer: Keras {document['keras_version']} "
        f"({document['backend']} backend)\n")


@pytest.mark.parametrize("relative,kind", [
    ("keras3_files/mlp.keras", "keras"),
    ("keras2_files/mlp.h5", "h5"),
    ("keras3_h5/text_rnn.h5", "h5"),
    ("keras3_files/mlp.weights.h5", "weights.h5"),
    ("keras2/mlp.json", "json"),
    ("keras3/mlp.json", "json"),
])
def test_file_metadata_names_format_and_recorded_version(fixtures_dir, relative, kind):
    metadata = file_metadata(fixtures_dir / relative)
    assert metadata["format"] == kind
    version_file = (fixtures_dir / relative).parent / "VERSION"
    if relative == "keras3/mlp.json":  # Keras 3's to_json() records no version
        assert metadata["keras_version"] is None
        assert producer_text(metadata).startswith("unknown")
    elif kind != "weights.h5":
        assert metadata["keras_version"] in version_file.read_text()


def test_file_metadata_of_yaml_and_bad_files(tmp_path):
    config = tmp_path / "model.yaml"
    config.write_text("class_name: Sequential\nkeras_version: 2.15.0\nbackend: tensorflow\n")
    assert producer_text(file_metadata(config)) == "Keras 2.15.0 (tensorflow backend)"
    config.write_text("- just\n- a list\n")
    with pytest.raises(FormatError, match="top level"):
        file_metadata(config)
    archive = tmp_path / "model.keras"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("metadata.json", "{not json")
    with pytest.raises(FormatError, match="metadata.json is not valid JSON"):
        file_metadata(archive)
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("metadata.json", json.dumps({"keras_version": 3}))
    with pytest.raises(FormatError, match="'keras_version' should be a string"):
        file_metadata(archive)
    zip_named_h5 = tmp_path / "fake.h5"
    zip_named_h5.write_bytes(archive.read_bytes())
    with pytest.raises(FormatError, match="not an HDF5 file"):
        file_metadata(zip_named_h5)
    (tmp_path / "model.txt").write_text("{}")
    with pytest.raises(FormatError, match="unknown model file extension"):
        file_metadata(tmp_path / "model.txt")
