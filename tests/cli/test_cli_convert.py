"""`modelio convert`: every writable format, round trips checked with `modelio diff`, ONNX options."""

import numpy as np
import onnx
import pytest

import modelio
from modelio.cli import main


def test_convert_to_every_format_then_diff_says_equal(modelio_cli, fixtures_dir, tmp_path):
    source = fixtures_dir / "keras3_files/nested_functional.keras"
    for extension in (".keras", ".h5", ".json", ".yaml"):
        destination = tmp_path / f"as_{extension[1:]}{extension}"
        converted = modelio_cli("convert", source, destination)
        assert converted.returncode == 0, converted.stderr
        assert converted.stdout == f"wrote {destination}\n" and converted.stderr == ""
        if extension in (".json", ".yaml"):
            assert (tmp_path / f"as_{extension[1:]}.weights.h5").is_file()
        compared = modelio_cli("diff", source, destination)
        assert compared.returncode == 0, compared.stdout + compared.stderr
        assert compared.stdout.startswith("equal: ")


def test_convert_to_weights_file_writes_the_weights_only(fixtures_dir, tmp_path, capsys):
    destination = tmp_path / "mlp.weights.h5"
    assert main(["convert", str(fixtures_dir / "keras3_files/mlp.keras"), str(destination)]) == 0
    model = modelio.load_model(fixtures_dir / "keras3_files/mlp.keras")
    expected = [weight.value.copy() for weight in model.weights]
    for weight in model.weights:
        weight.assign(np.zeros_like(weight.value))
    model.load_weights(destination)
    assert all(np.array_equal(weight.value, value) for weight, value in zip(model.weights, expected))


def test_convert_to_onnx_with_nchw_and_fixed_batch(modelio_cli, fixtures_dir, tmp_path):
    source = fixtures_dir / "keras3_files/small_mobilenet.keras"
    plain, nchw = tmp_path / "plain.onnx", tmp_path / "nchw.onnx"
    assert modelio_cli("convert", source, plain, "--opset", "13").returncode == 0
    result = modelio_cli("convert", source, nchw, "--nchw", "--batch", "1")
    assert result.returncode == 0, result.stderr

    def input_dims(path):
        graph = onnx.load(str(path)).graph
        return [dim.dim_value or dim.dim_param for dim in graph.input[0].type.tensor_type.shape.dim]

    batch, height, width, channels = input_dims(plain)
    assert batch == "batch" and onnx.load(str(plain)).opset_import[0].version == 13
    assert input_dims(nchw) == [1, channels, height, width]


def test_convert_refuses_to_overwrite_without_force(modelio_cli, one_line_error, fixtures_dir,
                                                    tmp_path):
    destination = tmp_path / "mlp.keras"
    destination.write_bytes(b"keep me")
    one_line_error(modelio_cli("convert", fixtures_dir / "keras3_files/mlp.keras", destination),
                   "already exists (use --force to overwrite)")
    assert destination.read_bytes() == b"keep me"
    forced = modelio_cli("convert", "-q", fixtures_dir / "keras3_files/mlp.keras", destination,
                         "--force")
    assert forced.returncode == 0 and forced.stdout == "" and forced.stderr == ""
    assert destination.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("arguments,expected", [
    (["-", "out.keras"], "'-' is not a file"),
    (["{mlp}", "out.keras", "--nchw"], "apply to .onnx destinations only"),
    (["{mlp}", "out.h5", "--opset", "13"], "apply to .onnx destinations only"),
    (["{mlp}", "out.txt"], "unknown model file extension '.txt'"),
    (["{mlp}", "out.onnx", "--opset", "7"], "opset must be an integer from 13"),
    (["{mlp}", "missing_folder/out.keras"], "does not exist"),
])
def test_convert_bad_usage_is_one_line_exit_2(fixtures_dir, tmp_path, monkeypatch, capsys,
                                              arguments, expected):
    monkeypatch.chdir(tmp_path)
    mlp = str(fixtures_dir / "keras3_files/mlp.keras")
    assert main(["convert", *[argument.format(mlp=mlp) for argument in arguments]]) == 2
    error = capsys.readouterr().err
    assert error.startswith("modelio: error: ") and expected in error
    assert len(error.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_batch_must_be_a_positive_integer(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["convert", "a.keras", "b.onnx", "--batch", "0"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.strip() == ("modelio: error: argument --batch: expected a positive integer, "
                             "got '0' (see 'modelio convert --help')")


def test_convert_to_json_guards_and_replaces_the_sibling_weights_file(fixtures_dir, tmp_path, capsys):
    destination, weights = tmp_path / "model.json", tmp_path / "model.weights.h5"
    assert main(["convert", str(fixtures_dir / "keras3_files/mlp.keras"), str(destination)]) == 0
    destination.unlink()
    assert main(["convert", str(fixtures_dir / "keras3_files/tensor_in_call_kwargs.keras"),
                 str(destination)]) == 2
    assert f"{weights}: already exists" in capsys.readouterr().err
    # --force: the weightless model must not be paired with the old model's weights
    assert main(["convert", "--force", str(fixtures_dir / "keras3_files/tensor_in_call_kwargs.keras"),
                 str(destination)]) == 0
    assert not weights.exists()
    assert main(["diff", str(fixtures_dir / "keras3_files/tensor_in_call_kwargs.keras"),
                 str(destination)]) == 0
