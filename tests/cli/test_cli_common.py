"""Behaviour every command shares: help with examples, --version, one-line errors, -q, progress."""

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

import modelio
from modelio import progress
from modelio.cli import EXAMPLES, build_parser, main

REPOSITORY = Path(__file__).resolve().parents[2]
COMMANDS = ["convert", "summary", "run", "verify", "plot", "diff"]


def test_every_command_has_help_with_an_example(capsys):
    assert sorted(EXAMPLES) == sorted(COMMANDS)
    for command in COMMANDS:
        with pytest.raises(SystemExit) as stopped:
            main([command, "--help"])
        assert stopped.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith(f"usage: modelio {command}") and "examples:\n  modelio " + command in text
        assert "-q, --quiet" in text and "--debug" in text
    parser_help = build_parser().format_help()
    assert all(command in parser_help for command in COMMANDS) and "--version" in parser_help


def test_version_and_module_entry_points(modelio_cli):
    result = modelio_cli("--version")
    assert result.returncode == 0 and result.stdout == f"modelio {modelio.__version__}\n"
    as_package = subprocess.run([sys.executable, "-m", "modelio", "--version"], capture_output=True,
                                text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPOSITORY)))
    assert as_package.stdout == result.stdout


@pytest.mark.parametrize("make_source,expected", [
    (lambda tmp, fixtures: tmp / "missing.keras", "missing.keras: no such file"),
    (lambda tmp, fixtures: tmp, "is a directory, not a model file"),
    (lambda tmp, fixtures: tmp / "model.txt", "unknown model file extension '.txt'"),
    (lambda tmp, fixtures: _truncated(fixtures / "keras2_files/mlp.h5", tmp / "cut.h5", 3000),
     "cut.h5: cannot open as HDF5"),
])
def test_bad_sources_give_one_line_error_and_exit_2(modelio_cli, one_line_error, fixtures_dir,
                                                     tmp_path, make_source, expected):
    (tmp_path / "model.txt").write_text("{}")
    one_line_error(modelio_cli("summary", make_source(tmp_path, fixtures_dir)), expected)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_a_one_line_error(modelio_cli, one_line_error, fixtures_dir, tmp_path):
    locked = tmp_path / "locked.keras"
    locked.write_bytes((fixtures_dir / "keras3_files/mlp.keras").read_bytes())
    locked.chmod(0)
    try:
        one_line_error(modelio_cli("summary", locked), "locked.keras")
    finally:
        locked.chmod(0o600)


@pytest.mark.parametrize("name,size,expected", [
    ("mlp.keras", 300, "not a .keras archive: the file is not a zip"),
    ("mlp.json", 500, "not valid JSON"),
    ("mlp.weights.h5", 2000, "cannot open as HDF5"),
])
def test_corrupted_files_are_one_line_errors_in_every_command(fixtures_dir, tmp_path, capsys, name,
                                                              size, expected):
    folder = "keras3" if name.endswith(".json") else "keras3_files"
    broken = _truncated(fixtures_dir / folder / name, tmp_path / f"broken_{name}", size)
    if name.endswith(".weights.h5"):  # a damaged sibling weights file of a JSON config
        (tmp_path / "broken_mlp.json").write_text((fixtures_dir / "keras3/mlp.json").read_text())
        broken = tmp_path / "broken_mlp.json"
    for arguments in (["summary", broken], ["plot", broken, "-o", tmp_path / "g.dot"],
                      ["diff", broken, broken], ["convert", broken, tmp_path / "out.h5"]):
        assert main([str(argument) for argument in arguments]) == 2
        error = capsys.readouterr().err
        assert error.startswith("modelio: error: ") and expected in error, error
        assert len(error.splitlines()) == 1
    assert not (tmp_path / "g.dot").exists() and not (tmp_path / "out.h5").exists()


def test_debug_shows_the_traceback_then_the_error_line(modelio_cli, tmp_path):
    result = modelio_cli("summary", "--debug", tmp_path / "missing.h5")
    assert result.returncode == 2
    assert result.stderr.startswith("Traceback")
    assert result.stderr.strip().splitlines()[-1] == f"modelio: error: {tmp_path / 'missing.h5'}: no such file"


def test_an_unexpected_exception_is_still_one_line(monkeypatch, fixtures_dir, capsys):
    import modelio.cli

    def broken(path):
        raise RuntimeError("something modelio did not expect\nsecond line")

    monkeypatch.setattr(modelio.cli, "load_model", broken)
    assert main(["summary", str(fixtures_dir / "keras3/mlp.json")]) == 2
    assert capsys.readouterr().err == (
        "modelio: error: internal error (RuntimeError: something modelio did not expect); rerun "
        "with --debug for the traceback and please report it\n")


# ----- progress ----------------------------------------------------------------------------------

def test_progress_prints_nothing_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    with progress.step("loading big.h5", stream=stream, delay=0.0):
        progress.advance(1, 2)
        time.sleep(0.3)
    assert stream.getvalue() == ""


def read_all(controller) -> str:
    """Everything written to the pty so far (one read may return only part of it)."""
    chunks = []
    while select.select([controller], [], [], 0.2)[0]:
        chunk = os.read(controller, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_progress_draws_spinner_count_and_erases_it_on_a_terminal():
    controller, terminal = pty.openpty()
    try:
        with open(terminal, "w", closefd=False) as stream:
            assert stream.isatty()
            with progress.step("loading big.h5", stream=stream, delay=0.05):
                progress.advance(3, 7)
                time.sleep(0.4)
        shown = read_all(controller)
    finally:
        os.close(controller)
        os.close(terminal)
    assert "loading big.h5 3/7 (" in shown and shown.endswith("\r\x1b[K")


def test_progress_waits_for_slow_steps_and_respects_quiet():
    controller, terminal = pty.openpty()
    try:
        with open(terminal, "w", closefd=False) as stream:
            with progress.step("fast step", stream=stream):  # default delay: 1 s
                pass
            progress.set_enabled(False)
            try:
                with progress.step("quiet step", stream=stream, delay=0.0):
                    time.sleep(0.2)
            finally:
                progress.set_enabled(True)
            stream.write("end")
        shown = read_all(controller)
    finally:
        os.close(controller)
        os.close(terminal)
    assert shown == "end"


@pytest.mark.parametrize("fixture", ["keras3_files/mlp.keras", "keras2_files/mlp.h5"])
def test_weight_loaders_report_per_weight_progress(monkeypatch, fixtures_dir, fixture):
    reported = []
    monkeypatch.setattr(progress, "advance", lambda done, total: reported.append((done, total)))
    modelio.load_model(fixtures_dir / fixture)
    assert reported and reported[-1][0] == reported[-1][1]
    assert [done for done, _ in reported] == list(range(1, len(reported) + 1))


def _truncated(source, target, size: int):
    target.write_bytes(source.read_bytes()[:size])
    return target
