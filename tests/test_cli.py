"""The modelio command, run as a subprocess the way users and pipelines run it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def run_modelio(*arguments, cwd=None):
    return subprocess.run([sys.executable, "-m", "modelio", *map(str, arguments)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_summary_prints_the_layer_table_of_a_keras_file():
    result = run_modelio("summary", FIXTURES / "keras3" / "two_inputs_two_outputs.json")
    assert result.returncode == 0, result.stderr
    assert 'Model: "two_in_two_out"' in result.stdout
    assert "score (Dense)" in result.stdout and "Total params: 149" in result.stdout


def test_summary_json_is_machine_readable():
    result = run_modelio("summary", "--json", FIXTURES / "keras2" / "nested_sequential.json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["inputs"] == [{"name": "x", "shape": [None, 4], "dtype": "float32"}]
    inner = next(layer for layer in record["layers"] if layer["name"] == "inner")
    assert inner["class_name"] == "Sequential" and inner["inbound"] == ["x[0][0]", "inner[0][0]"]
    assert record["total_params"] == sum(layer["params"] for layer in record["layers"])


@pytest.mark.parametrize("make_source,expected", [
    (lambda tmp: tmp / "missing.json", "no such file"),
    (lambda tmp: tmp, "is a directory"),
    (lambda tmp: tmp / "model.txt", "unknown model file extension"),
])
def test_bad_sources_give_one_line_error_and_exit_2(tmp_path, make_source, expected):
    (tmp_path / "model.txt").write_text("{}")
    result = run_modelio("summary", make_source(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("modelio: error: ") and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_corrupt_json_is_a_one_line_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text((FIXTURES / "keras3" / "mlp.json").read_text()[:500])
    result = run_modelio("summary", broken)
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_help_and_version():
    assert "example:" in run_modelio("summary", "--help").stdout
    assert run_modelio("--version").stdout.startswith("modelio ")
