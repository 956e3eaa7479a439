"""`modelio verify`: numpy kernels vs onnxruntime, and vs the outputs Keras recorded."""

import re
import shutil

import numpy as np
import pytest

from modelio.cli import main

pytest.importorskip("onnxruntime")

MAX_DIFFERENCE = re.compile(r"max \|numpy - (onnxruntime|recorded)\| = ([0-9.e+-]+)")


def test_verify_uses_the_sibling_recording_and_prints_both_differences(modelio_cli, fixtures_dir):
    source = fixtures_dir / "keras2_files/two_inputs_two_outputs.h5"
    result = modelio_cli("verify", source)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"reference: {source}.npz (3 recorded sample(s))"
    assert [line.split(":")[0] for line in lines[1:]] == ["score", "label"]
    for line in lines[1:]:
        found = MAX_DIFFERENCE.findall(line)
        assert [what for what, _ in found] == ["onnxruntime", "recorded"]
        assert all(float(value) <= 1e-4 for _, value in found) and line.endswith("(ok)")


def test_verify_fails_with_exit_1_when_a_difference_exceeds_atol(modelio_cli, fixtures_dir):
    result = modelio_cli("verify", fixtures_dir / "keras2_files/mlp.h5", "--atol", "0")
    values = [float(value) for _, value in MAX_DIFFERENCE.findall(result.stdout)]
    assert len(values) == 2
    if max(values) == 0:  # numpy, onnxruntime and Keras agreeing bit for bit would pass
        assert result.returncode == 0
        return
    assert result.returncode == 1 and "(MISMATCH)" in result.stdout
    assert result.stderr == f"modelio: verify failed: {max(values):.3g} > atol 0\n"


def test_verify_with_explicit_reference(fixtures_dir, tmp_path, capsys):
    model = tmp_path / "model.h5"  # no sibling model.h5.npz here
    shutil.copy(fixtures_dir / "keras2_files/mlp.h5", model)
    assert main(["verify", str(model)]) == 0
    random_run = capsys.readouterr().out
    assert "reference" not in random_run and "recorded" not in random_run
    assert main(["verify", str(model), "--reference",
                 str(fixtures_dir / "keras2_files/mlp.h5.npz")]) == 0
    checked = capsys.readouterr().out
    assert [what for what, _ in MAX_DIFFERENCE.findall(checked)] == ["onnxruntime", "recorded"]


def test_verify_quiet_prints_nothing_and_keeps_the_status(fixtures_dir, capsys):
    assert main(["verify", "-q", str(fixtures_dir / "keras3_files/mlp.keras")]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("keys,expected", [
    ({"input:features": np.zeros((2, 8), np.float32)}, "no recorded output 'output:0'"),
    ({"output:0": np.zeros((2, 4), np.float32)}, "no recorded input 'features'"),
    ({"input:features": np.zeros((2, 8), np.float32), "output:0": np.zeros((2, 5), np.float32)},
     "output shapes differ: numpy (2, 4), compared with (2, 5)"),
])
def test_verify_refuses_a_reference_that_does_not_fit(fixtures_dir, tmp_path, capsys, keys, expected):
    reference = tmp_path / "reference.npz"
    np.savez(reference, **keys)
    assert main(["verify", str(fixtures_dir / "keras3_files/mlp.keras"), "--reference",
                 str(reference)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("modelio: error: ") and expected in error, error
