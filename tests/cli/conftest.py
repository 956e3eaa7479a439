"""Run the modelio command as a subprocess, the way users, Makefiles and CI pipelines run it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURES = REPOSITORY / "fixtures"


def run_modelio(*arguments, cwd=None, env=None) -> subprocess.CompletedProcess:
    """`python -m modelio.cli ARGUMENTS` with this checkout first on the import path."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY), *filter(None, [environment.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "modelio.cli", *map(str, arguments)],
                          capture_output=True, text=True, cwd=cwd, env=environment, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, expected: str) -> None:
    """Exit status 2, one `modelio: error: ...` line naming `expected`, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("modelio: error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr


@pytest.fixture
def modelio_cli():
    return run_modelio


@pytest.fixture
def one_line_error():
    return assert_one_line_error


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
