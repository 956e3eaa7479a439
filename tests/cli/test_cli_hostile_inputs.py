"""Hostile files given to the command line: every refusal is one `modelio: error:` line with exit
status 2 (YAML and JSON errors as `file:line:column: problem`), and `modelio run` reads its input
arrays within a budget checked from each .npy header before anything is allocated or
decompressed, and never lets a value change silently when it is cast to the input's dtype.

Files that could make the process allocate gigabytes are run in a child process with an
address-space limit (config_safety_support._run_in_child).
"""

import json
import struct
import warnings
import zipfile

import numpy as np
import pytest
import yaml
from config_safety_support import _run_in_child

from modelio import inputs
from modelio.cli import main
from modelio.errors import FormatError

TOKENS_MODEL = "keras3_files/text_rnn.keras"  # input 'tokens': int32 values of shape (None, 10)
TWO_INPUTS_MODEL = "keras2_files/two_inputs_two_outputs.h5"  # features (None, 6), extra (None, 3)
GIB = 1024**3
THREE_GIB_OF_TOKENS = (3 * GIB // 40 + 1, 10)  # int32: a little over 3 GiB
THREE_GIB = THREE_GIB_OF_TOKENS[0] * 40


def _run(*arguments) -> int:
    """The exit status of `modelio ARGUMENTS` run in this process (stderr: the caller's capsys)."""
    return main([str(argument) for argument in arguments])


def _two_inputs(batch=3):
    rng = np.random.default_rng(0)
    return {"features": rng.standard_normal((batch, 6)).astype(np.float32),
            "extra": rng.standard_normal((batch, 3)).astype(np.float32)}


# ------------------------------------------------------------------------------------------------
# Text configs through the command line: one line, file:line:column
# ------------------------------------------------------------------------------------------------

YAML_SYNTAX_ERROR = "class_name: Sequential\nconfig:\n  name: m\n  layers: [1, 2\n  other: 3\n"


def test_yaml_syntax_error_is_one_line_with_its_place(modelio_cli, one_line_error, tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text(YAML_SYNTAX_ERROR)
    result = modelio_cli("summary", path)
    one_line_error(result, f"{path}:5:")
    assert "not valid YAML (while parsing a flow sequence" in result.stderr


def test_yaml_alias_refusal_is_one_line(modelio_cli, one_line_error, tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("class_name: Sequential\nconfig:\n  name: m\n  layers: []\nalso: *m\n")
    one_line_error(modelio_cli("summary", path),
                   f"{path}:5:7: YAML anchors and aliases are not allowed (alias *m;")


def test_yaml_python_tag_is_refused_in_one_line_and_runs_nothing(modelio_cli, one_line_error,
                                                                  tmp_path):
    canary = tmp_path / "canary"
    path = tmp_path / "model.yaml"
    path.write_text(f'class_name: !!python/object/apply:os.system ["touch {canary}"]\n')
    one_line_error(modelio_cli("convert", path, tmp_path / "out.keras"),
                   f"{path}:1:13: refusing YAML tag tag:yaml.org,2002:python/object/apply:os.system")
    assert not canary.exists() and not (tmp_path / "out.keras").exists()


def test_json_syntax_error_is_one_line_with_its_place(modelio_cli, one_line_error, tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"class_name": "Sequential",\n "config": {"name": "m", "layers": [}}\n')
    one_line_error(modelio_cli("summary", path), f"{path}:2:37: not valid JSON (Expecting value)")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_truncated_text_config_is_one_line(modelio_cli, one_line_error, fixtures_dir, tmp_path,
                                           suffix):
    document = json.loads((fixtures_dir / "keras3/small_resnet.json").read_text())
    text = (json.dumps(document, indent=2) if suffix == ".json" else
            yaml.safe_dump(document, default_flow_style=True, width=100))
    path = tmp_path / f"model{suffix}"
    path.write_text(text[:len(text) // 2])
    result = modelio_cli("summary", path)
    one_line_error(result, f"{path}:")
    assert f"not valid {suffix[1:].upper()}" in result.stderr


@pytest.mark.parametrize("command", ["convert", "summary", "run", "verify", "plot", "diff"])
def test_every_command_prints_yaml_errors_in_one_line(command, tmp_path, capsys):
    path = tmp_path / "model.yaml"
    path.write_text(YAML_SYNTAX_ERROR)
    arguments = {"convert": [path, tmp_path / "out.keras"], "summary": [path],
                 "run": [path, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npz"],
                 "verify": [path], "plot": [path, "-o", tmp_path / "m.dot"],
                 "diff": [path, path]}[command]
    if command == "verify":
        pytest.importorskip("onnxruntime")
    assert _run(command, *arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"modelio: error: {path}:5:") and error.count("\n") == 1, error


def test_a_multi_line_error_message_is_printed_in_one_line(monkeypatch, fixtures_dir, capsys):
    def fail(path):
        raise FormatError(f"{path}: first line\n  second line\n\n  third line")

    monkeypatch.setattr("modelio.cli.load_model", fail)
    assert _run("summary", fixtures_dir / "keras3_files/mlp.keras") == 2
    assert capsys.readouterr().err == (f"modelio: error: {fixtures_dir / 'keras3_files/mlp.keras'}: "
                                       f"first line second line third line\n")


# ------------------------------------------------------------------------------------------------
# `modelio run`: values that do not fit the input's dtype are refused, never wrapped
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("values,expected", [
    (np.full((2, 10), 2**31 + 5, np.int64),
     "gives int64 values of shape (2, 10) (values from 2147483653 to 2147483653, outside int32's "
     "range -2147483648 to 2147483647)"),
    (np.full((2, 10), -(2**40), np.int64), "values from -1099511627776 to -1099511627776"),
    (np.full((2, 10), 2**64 - 1, np.uint64), "values from 18446744073709551615 to"),
    (np.full((2, 10), np.nan), "gives float64 values of shape (2, 10) (float64 cannot be used as "
                               "int32)"),
    (np.full((2, 10), 1.5), "(float64 cannot be used as int32)"),
])
def test_run_refuses_token_ids_that_do_not_fit_the_input_dtype(fixtures_dir, tmp_path, capsys,
                                                               values, expected):
    np.save(tmp_path / "tokens.npy", values)
    assert _run("run", fixtures_dir / TOKENS_MODEL, "--input", tmp_path / "tokens.npy", "--output",
                tmp_path / "y.npz") == 2
    error = capsys.readouterr().err
    assert error.startswith("modelio: error: input 'tokens' expects int32 values of shape "
                            f"(None, 10) (None = any size); {tmp_path / 'tokens.npy'} gives ")
    assert expected in error and error.count("\n") == 1
    assert not (tmp_path / "y.npz").exists()


def test_run_accepts_int64_token_ids_that_fit_int32(fixtures_dir, tmp_path, capsys):
    ids = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]])
    np.save(tmp_path / "wide.npy", ids.astype(np.int64))
    np.save(tmp_path / "narrow.npy", ids.astype(np.int32))
    for name in ("wide", "narrow"):
        assert _run("run", "-q", fixtures_dir / TOKENS_MODEL, "--input", tmp_path / f"{name}.npy",
                    "--output", tmp_path / f"{name}_out.npz") == 0, capsys.readouterr().err
    with np.load(tmp_path / "wide_out.npz") as wide, np.load(tmp_path / "narrow_out.npz") as narrow:
        for key in wide.files:
            np.testing.assert_array_equal(wide[key], narrow[key])


def test_run_refuses_floats_that_would_become_infinite(fixtures_dir, tmp_path, capsys):
    arrays = _two_inputs()
    arrays["extra"] = arrays["extra"].astype(np.float64)
    arrays["extra"][1, 2] = 1e39
    np.savez(tmp_path / "x.npz", **arrays)
    assert _run("run", fixtures_dir / TWO_INPUTS_MODEL, "--input", tmp_path / "x.npz", "--output",
                tmp_path / "y.npz") == 2
    assert ("input 'extra' expects float32 values of shape (None, 3) (None = any size); "
            f"{tmp_path / 'x.npz'} gives float64 values of shape (3, 3) (values beyond float32's "
            "largest 3.40282e+38 would become infinite)") in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# `modelio run`: .npz and .npy inputs are read within a budget, from their headers first
# ------------------------------------------------------------------------------------------------


def _npy_bytes(shape, dtype, data: bytes = b"") -> bytes:
    """A .npy file (format 1.0) whose header declares `shape` and `dtype`, followed by `data`."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": tuple(shape)}
    text = repr(header).encode("latin1")
    padding = 64 - (len(text) + 11) % 64  # magic (6) + version (2) + length (2) + newline (1)
    text += b" " * padding + b"\n"
    return np.lib.format.MAGIC_PREFIX + b"\x01\x00" + struct.pack("<H", len(text)) + text + data


def _zip_declaring(path, members: dict, declared_sizes: dict | None = None) -> None:
    """An .npz (deflated) of `members` (name -> bytes); `declared_sizes` (name -> size) rewrites
    a member's uncompressed size in the zip's headers, as a crafted archive would."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    content = bytearray(path.read_bytes())
    headers = ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46))  # local, central directory
    for name, size in (declared_sizes or {}).items():
        for signature, size_offset, name_offset in headers:
            start = content.find(signature)
            while start >= 0:
                if content[start + name_offset:].startswith(name.encode()):
                    content[start + size_offset:start + size_offset + 4] = struct.pack("<I", size)
                start = content.find(signature, start + 1)
    path.write_bytes(bytes(content))


def _run_in_a_child(*arguments) -> dict:
    outcome = _run_in_child({"kind": "cli", "argv": [str(argument) for argument in arguments]},
                            timeout=60)
    assert outcome["result"] == "exit", outcome
    return outcome


def test_npz_member_declaring_three_gib_is_refused_before_it_is_decompressed(fixtures_dir,
                                                                             tmp_path):
    header = _npy_bytes(THREE_GIB_OF_TOKENS, "<i4")
    path = tmp_path / "bomb.npz"
    _zip_declaring(path, {"tokens.npy": header + bytes(1024 * 1024)},
                   declared_sizes={"tokens.npy": len(header) + THREE_GIB})
    assert path.stat().st_size < 64 * 1024
    outcome = _run_in_a_child("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                              tmp_path / "y.npz")
    assert outcome["type"] == "2"
    assert outcome["message"] == (f"modelio: error: {path}:tokens.npy: the array takes "
                                  f"{THREE_GIB:,} bytes, more than the "
                                  f"{inputs.MAX_INPUT_ARRAY_BYTES:,} modelio reads for one input "
                                  f"array\n")
    assert not (tmp_path / "y.npz").exists()


def test_npy_declaring_three_gib_is_refused_before_it_is_read(fixtures_dir, tmp_path):
    path = tmp_path / "tokens.npy"
    header = _npy_bytes(THREE_GIB_OF_TOKENS, "<i4")
    with open(path, "wb") as handle:  # sparse: the 3 GiB of data take no disk
        handle.write(header)
        handle.truncate(len(header) + THREE_GIB)
    outcome = _run_in_a_child("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                              tmp_path / "y.npz")
    assert outcome["type"] == "2"
    assert f"{path}: the array takes {THREE_GIB:,} bytes, more than the" in outcome["message"]


@pytest.mark.parametrize("shape,dtype", [((2**40,), "<f4"), ((2**62, 2**62), "<f8"),
                                         ((2, 10), "<i4")])
def test_npy_header_declaring_more_than_the_file_holds_is_refused_before_allocating(
        fixtures_dir, tmp_path, shape, dtype):
    path = tmp_path / "tokens.npy"
    path.write_bytes(_npy_bytes(shape, dtype, bytes(40)))
    outcome = _run_in_a_child("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                              tmp_path / "y.npz")
    assert outcome["type"] == "2"
    declared = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    assert outcome["message"].startswith(
        f"modelio: error: {path}: the header declares {np.dtype(dtype)} values of shape ")
    assert f"({declared:,} bytes) but the file holds 40 bytes of data\n" in outcome["message"]


def test_npz_member_with_data_beyond_its_header_is_refused(fixtures_dir, tmp_path, capsys):
    path = tmp_path / "x.npz"
    _zip_declaring(path, {"tokens.npy": _npy_bytes((2, 10), "<i4", bytes(80 + 4096))})
    assert _run("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                tmp_path / "y.npz") == 2
    assert (f"{path}:tokens.npy: the header declares int32 values of shape (2, 10) (80 bytes) but "
            f"the file holds 4,176 bytes of data") in capsys.readouterr().err


@pytest.mark.parametrize("member,expected", [
    ("payload.pkl", "member 'payload.pkl' is not a .npy array (an .npz holds only <name>.npy "
                    "members)"),
    ("folder/", "member 'folder/' is not a .npy array"),
])
def test_npz_member_that_is_not_an_npy_array_is_refused(fixtures_dir, tmp_path, capsys, member,
                                                        expected):
    path = tmp_path / "x.npz"
    _zip_declaring(path, {"tokens.npy": _npy_bytes((2, 10), "<i4", bytes(80)), member: b"\x80\x04."})
    assert _run("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                tmp_path / "y.npz") == 2
    assert f"modelio: error: {path}: {expected}" in capsys.readouterr().err


def test_npz_object_array_is_refused_without_unpickling(fixtures_dir, tmp_path, capsys):
    path = tmp_path / "x.npz"
    np.savez(path, tokens=np.array([[{"a": 1}] * 10] * 2, dtype=object))
    assert _run("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                tmp_path / "y.npz") == 2
    assert (f"{path}:tokens.npy: not a readable .npy array: it holds Python objects (dtype object)"
            in capsys.readouterr().err)


def test_npz_member_named_twice_is_refused(fixtures_dir, tmp_path, capsys):
    path = tmp_path / "x.npz"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it writes
        for value in (1, 2):
            archive.writestr("tokens.npy", _npy_bytes((2, 10), "<i4", np.full(20, value, "<i4")
                                                      .tobytes()))
    assert _run("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                tmp_path / "y.npz") == 2
    assert f"{path}: two members are named 'tokens.npy'" in capsys.readouterr().err


def test_npz_with_too_many_members_is_refused(fixtures_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_NPZ_MEMBERS", 3)
    path = tmp_path / "x.npz"
    np.savez(path, **{f"a{index}": np.zeros(1) for index in range(4)})
    assert _run("run", fixtures_dir / TOKENS_MODEL, "--input", path, "--output",
                tmp_path / "y.npz") == 2
    assert f"{path}: 4 members, more than the 3 an .npz of model inputs may hold" in \
        capsys.readouterr().err


def test_inputs_over_the_total_budget_are_refused(fixtures_dir, tmp_path, capsys, monkeypatch):
    arrays = _two_inputs()
    np.save(tmp_path / "features.npy", arrays["features"])  # 72 bytes
    np.save(tmp_path / "extra.npy", arrays["extra"])  # 36 bytes
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 100)
    assert _run("run", fixtures_dir / TWO_INPUTS_MODEL, "--input", tmp_path / "features.npy",
                "--input", tmp_path / "extra.npy", "--output", tmp_path / "y.npz") == 2
    assert (f"{tmp_path / 'extra.npy'}: the array takes 36 bytes, more than the 28 left of the 100 "
            "modelio reads for all the inputs together") in capsys.readouterr().err
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 108)
    assert _run("run", "-q", fixtures_dir / TWO_INPUTS_MODEL, "--input", tmp_path / "features.npy",
                "--input", tmp_path / "extra.npy", "--output", tmp_path / "y.npz") == 0


def test_compressed_and_fortran_ordered_inputs_give_the_same_outputs(fixtures_dir, tmp_path):
    arrays = _two_inputs(batch=4)
    np.savez(tmp_path / "plain.npz", **arrays)
    np.savez_compressed(tmp_path / "packed.npz", **{name: np.asfortranarray(value)
                                                    for name, value in arrays.items()})
    np.save(tmp_path / "features.npy", np.asfortranarray(arrays["features"]))
    np.save(tmp_path / "extra.npy", arrays["extra"])
    runs = {"plain": ["--input", tmp_path / "plain.npz"],
            "packed": ["--input", tmp_path / "packed.npz"],
            "by_position": ["--input", tmp_path / "features.npy", "--input", tmp_path / "extra.npy"]}
    for name, arguments in runs.items():
        assert _run("run", "-q", fixtures_dir / TWO_INPUTS_MODEL, *arguments, "--output",
                    tmp_path / f"{name}_out.npz") == 0
    with np.load(tmp_path / "plain_out.npz") as expected:
        for name in ("packed", "by_position"):
            with np.load(tmp_path / f"{name}_out.npz") as got:
                for key in expected.files:
                    np.testing.assert_array_equal(got[key], expected[key])
