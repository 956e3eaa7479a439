"""tools/make_fixtures.py `all` knows every fixture generator in tools/, so regenerating the
fixtures from real Keras is one command."""

import os
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / "tools"
# run by make_fixtures.py itself (its keras3/keras2 and torch modes)
CALLED_BY_MAKE_FIXTURES = {"activation_fixtures.py", "torch_onnx_fixtures.py"}


def generators():
    saved = list(sys.path)  # make_fixtures puts tools/ on sys.path; tests/ has modules of the same names
    sys.path.insert(0, str(TOOLS))
    try:
        import make_fixtures
    finally:
        sys.path[:] = saved
    return make_fixtures


def test_every_fixture_generator_in_tools_is_run_by_make_fixtures_all():
    make_fixtures = generators()
    listed = {line.split()[0] for _, line in make_fixtures.GENERATORS}
    on_disk = {name for name in os.listdir(TOOLS) if name.endswith("_fixtures.py")}
    assert on_disk - CALLED_BY_MAKE_FIXTURES <= listed
    assert all((TOOLS / name).is_file() for name in listed)


def test_each_generator_runs_in_a_known_keras_environment():
    make_fixtures = generators()
    for variables, argv in make_fixtures.generator_commands():
        assert argv[0].endswith("python") and argv[1].startswith("tools")
        assert variables.get("KERAS_BACKEND") in (None, "torch", "tensorflow")
