"""`modelio run`: inputs by name (.npz) or position (.npy), outputs saved under the output names."""

import numpy as np
import pytest

from modelio.cli import main

MODEL = "keras2_files/two_inputs_two_outputs.h5"


def test_run_with_recorded_npz_reproduces_keras_outputs(modelio_cli, fixtures_dir, tmp_path):
    recorded = np.load(fixtures_dir / f"{MODEL}.npz")
    output = tmp_path / "y.npz"
    result = modelio_cli("run", fixtures_dir / MODEL, "--input", fixtures_dir / f"{MODEL}.npz",
                         "--output", output)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {output}: score (3, 2) float32, label (3, 3) float32\n"
    with np.load(output) as saved:
        assert saved.files == ["score", "label"]
        np.testing.assert_allclose(saved["score"], recorded["output:0"], atol=1e-5)
        np.testing.assert_allclose(saved["label"], recorded["output:1"], atol=1e-5)


def test_run_with_npy_files_by_position_and_small_batches_matches_npz_run(fixtures_dir, tmp_path,
                                                                          capsys):
    recorded = np.load(fixtures_dir / f"{MODEL}.npz")
    np.save(tmp_path / "features.npy", recorded["input:features"])
    np.save(tmp_path / "extra.npy", recorded["input:extra"].astype(np.float64))  # cast to float32
    by_name, by_position = tmp_path / "by_name.npz", tmp_path / "by_position.npz"
    np.savez(tmp_path / "named.npz", features=recorded["input:features"],
             extra=recorded["input:extra"])
    assert main(["run", str(fixtures_dir / MODEL), "--input", str(tmp_path / "named.npz"),
                 "--output", str(by_name)]) == 0
    assert main(["run", "-q", str(fixtures_dir / MODEL), "--input", str(tmp_path / "features.npy"),
                 "--input", str(tmp_path / "extra.npy"), "--output", str(by_position),
                 "--batch-size", "1"]) == 0
    with np.load(by_name) as first, np.load(by_position) as second:
        for name in ("score", "label"):
            np.testing.assert_allclose(first[name], second[name], atol=1e-6)
    assert capsys.readouterr().out.count("\n") == 1  # -q printed nothing


@pytest.mark.parametrize("make_inputs,expected", [
    (lambda inputs: {"features": inputs["input:features"][:, :5], "extra": inputs["input:extra"]},
     "input 'features' expects float32 values of shape (None, 6) (None = any size); {input} gives "
     "float32 values of shape (3, 5)"),
    (lambda inputs: {"features": inputs["input:features"] > 0, "extra": inputs["input:extra"]}, None),
    (lambda inputs: {"features": inputs["input:features"].astype(np.complex64),
                     "extra": inputs["input:extra"]},
     "input 'features' expects float32 values of shape (None, 6) (None = any size); {input} gives "
     "complex64 values of shape (3, 6) (complex64 cannot be used as float32)"),
    (lambda inputs: {"features": inputs["input:features"]},
     "no array for input(s) 'extra' in {input} (it holds features; the model's inputs are "
     "features, extra)"),
    (lambda inputs: {"features": inputs["input:features"], "extra": inputs["input:extra"][:2]},
     "the inputs have different batch sizes: features 3, extra 2"),
])
def test_run_explains_input_mismatches_in_one_line(fixtures_dir, tmp_path, capsys, make_inputs,
                                                   expected):
    source = tmp_path / "inputs.npz"
    np.savez(source, **make_inputs(np.load(fixtures_dir / f"{MODEL}.npz")))
    status = main(["run", str(fixtures_dir / MODEL), "--input", str(source),
                   "--output", str(tmp_path / "y.npz")])
    error = capsys.readouterr().err
    if expected is None:  # booleans are accepted as 0/1 for a float input
        assert status == 0, error
        return
    assert status == 2 and error == f"modelio: error: {expected.format(input=source)}\n"
    assert not (tmp_path / "y.npz").exists()


def test_run_input_errors_from_the_command_line(modelio_cli, one_line_error, fixtures_dir, tmp_path):
    tokens_model = fixtures_dir / "keras3_files/text_rnn.keras"
    np.save(tmp_path / "floats.npy", np.zeros((2, 10), np.float32))
    one_line_error(modelio_cli("run", tokens_model, "--input", tmp_path / "floats.npy", "--output",
                               tmp_path / "y.npz"),
                   "input 'tokens' expects int32 values of shape (None, 10) (None = any size); "
                   f"{tmp_path / 'floats.npy'} gives float32 values of shape (2, 10) (float32 cannot "
                   "be used as int32)")
    np.save(tmp_path / "short.npy", np.zeros((2, 7), np.int32))
    one_line_error(modelio_cli("run", tokens_model, "--input", tmp_path / "short.npy", "--output",
                               tmp_path / "y.npz"),
                   "input 'tokens' expects int32 values of shape (None, 10) (None = any size); "
                   f"{tmp_path / 'short.npy'} gives int32 values of shape (2, 7)")
    one_line_error(modelio_cli("run", tokens_model, "--output", tmp_path / "y.npz"),
                   "the following arguments are required: --input")
    assert not (tmp_path / "y.npz").exists()


@pytest.mark.parametrize("files,expected", [
    ({"a.npy": None, "b.npz": None}, "either as .npy files (by position) or as .npz files"),
    ({"a.npy": None}, "has 2 input(s) (features, extra); got 1 .npy file(s)"),
    ({"x.csv": None}, "--input takes .npy or .npz files, got .csv"),
    ({"fake.npy": b"\x89HDF\r\n\x1a\n"}, "not a .npy file (the .npy signature is missing)"),
    ({"fake.npz": b"\x93NUMPY"}, "not an .npz file (it is not a zip archive)"),
    ({"missing.npz": "absent"}, "missing.npz: no such file"),
])
def test_run_refuses_unusable_input_files(fixtures_dir, tmp_path, capsys, files, expected):
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        if content is None:
            np.save(path, np.zeros((3, 6), np.float32)) if name.endswith(".npy") else \
                np.savez(path, extra=np.zeros((3, 3), np.float32))
        elif isinstance(content, bytes):
            path.write_bytes(content + b"\0" * 64)
        paths += ["--input", str(path)]
    assert main(["run", str(fixtures_dir / MODEL), *paths, "--output", str(tmp_path / "y.npz")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("modelio: error: ") and expected in error, error


def test_run_refuses_a_pickled_object_array(fixtures_dir, tmp_path, capsys):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["run", str(fixtures_dir / "keras3_files/mlp.keras"), "--input",
                 str(tmp_path / "objects.npy"), "--output", str(tmp_path / "y.npz")]) == 2
    assert "not a readable .npy array" in capsys.readouterr().err
