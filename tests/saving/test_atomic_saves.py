"""Every writer goes through modelio/atomic.py: a failed or killed save keeps the old file,
leaves no temporary a later save cannot remove, and reports file system refusals as a
FormatError naming the file."""

import errno
import fcntl
import os
import resource
import shutil
import signal
import stat
import subprocess

import pytest
from save_crash_support import OLD_SOURCE, folder_bytes, names

import modelio
from modelio import FormatError, atomic
from modelio.formats.architecture_pair import sibling_weights_path

KINDS = {"keras": "saved.keras", "h5": "saved.h5", "json": "saved.json", "yaml": "saved.yaml",
         "onnx": "saved.onnx", "weights": "saved.weights.h5"}


def save(model, target):
    if target.name.endswith(".weights.h5"):
        model.save_weights(target)
    else:
        modelio.save_model(model, target)


def files_of(target) -> list[str]:
    """The names a save to `target` writes."""
    if target.suffix in (".json", ".yaml"):
        return sorted([target.name, sibling_weights_path(target).name])
    return [target.name]


def assert_only_modelio_temporaries_besides(folder, expected: list[str]) -> list[str]:
    extra = [name for name in names(folder) if name not in expected]
    assert all(atomic.TEMPORARY_NAME.fullmatch(name) for name in extra), extra
    return extra


# ----- nothing left behind ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_save_and_a_replacing_save_leave_only_the_saved_files(kind, old_model, new_model,
                                                                tmp_path):
    target = tmp_path / KINDS[kind]
    save(old_model, target)
    assert names(tmp_path) == files_of(target)
    save(new_model, target)
    assert names(tmp_path) == files_of(target)


@pytest.mark.parametrize("named_temporaries", [False, True], ids=["unnamed", "named"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_save_killed_while_writing_keeps_the_old_files_and_a_later_save_leaves_nothing(
        kind, named_temporaries, old_model, tmp_path, save_killer):
    target = tmp_path / KINDS[kind]
    save(old_model, target)
    before = folder_bytes(tmp_path)
    save_killer.kill_save_at("writing", target, named_temporaries=named_temporaries)
    extra = assert_only_modelio_temporaries_besides(tmp_path, files_of(target))
    if not named_temporaries:
        assert extra == []  # unnamed files vanish with their process
    assert {name: data for name, data in folder_bytes(tmp_path).items()
            if name not in extra} == before
    save(old_model, tmp_path / "other.keras")  # any later save in the folder cleans up
    assert names(tmp_path) == sorted(files_of(target) + ["other.keras"])


@pytest.mark.parametrize("kind", ["keras", "json"])
def test_a_save_killed_before_its_commit_leaves_nothing(kind, old_model, tmp_path, save_killer):
    target = tmp_path / KINDS[kind]
    save(old_model, target)
    before = folder_bytes(tmp_path)
    save_killer.kill_save_at("committing", target)
    assert folder_bytes(tmp_path) == before


@pytest.mark.parametrize("kind", ["keras", "h5", "json"])
def test_a_save_killed_inside_its_rename_leaves_a_temporary_the_next_save_removes(
        kind, old_model, tmp_path, save_killer):
    target = tmp_path / KINDS[kind]
    save(old_model, target)
    before = folder_bytes(tmp_path)
    save_killer.kill_save_at("renaming", target)
    extra = assert_only_modelio_temporaries_besides(tmp_path, files_of(target))
    assert len(extra) == 1  # the one instant a new file has a name that is not the target's
    assert {name: data for name, data in folder_bytes(tmp_path).items()
            if name not in extra} == before
    save(old_model, target)
    assert names(tmp_path) == files_of(target)


def test_a_live_save_in_another_process_keeps_its_temporary(old_model, tmp_path, save_killer):
    """A concurrent save's temporary is locked by its writer: a save beside it leaves it alone;
    once the writer is killed, the next save removes it."""
    target = tmp_path / "beside.keras"
    kept = []

    def save_beside_the_paused_child():
        live = [name for name in names(tmp_path) if atomic.TEMPORARY_NAME.fullmatch(name)]
        save(old_model, target)
        kept.append(bool(live) and all((tmp_path / name).exists() for name in live))

    save_killer.kill_save_at("writing", tmp_path / "paused.h5", named_temporaries=True,
                 while_paused=save_beside_the_paused_child)
    assert kept == [True]
    save(old_model, target)
    assert names(tmp_path) == [target.name]


# ----- removing abandoned temporaries -------------------------------------------------------------

def test_only_unlocked_modelio_temporaries_are_removed(old_model, tmp_path):
    abandoned = tmp_path / ".modelio-0123456789ab.tmp"
    abandoned.write_bytes(b"x" * 1000)
    live = tmp_path / ".modelio-ba9876543210.tmp"
    live.write_bytes(b"y")
    foreign = [tmp_path / ".modelio-notours.tmp", tmp_path / "model.tmp",
               tmp_path / ".saved.keras.abcd1234.tmp", tmp_path / ".modelio-0123456789AB.tmp"]
    for path in foreign:
        path.write_bytes(b"z")
    with open(live, "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_SH)  # as a writer holds its temporary
        save(old_model, tmp_path / "saved.keras")
        assert not abandoned.exists()
        assert live.exists()
    for path in foreign:
        assert path.read_bytes() == b"z"
    save(old_model, tmp_path / "saved.keras")
    assert not live.exists()


def test_a_symlink_named_like_a_temporary_is_neither_followed_nor_its_target_touched(
        old_model, tmp_path):
    victim_folder = tmp_path / "elsewhere"
    victim_folder.mkdir()
    victim = victim_folder / "precious.txt"
    victim.write_bytes(b"keep me")
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / ".modelio-00000000feed.tmp").symlink_to(victim)
    save(old_model, folder / "saved.keras")
    assert victim.read_bytes() == b"keep me"


# ----- durability: fsync before the rename, the folder after --------------------------------------

@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_the_file_is_fsynced_before_it_is_named_and_the_folder_after(existing, old_model,
                                                                     tmp_path, monkeypatch):
    target = tmp_path / "saved.keras"
    if existing:
        save(old_model, target)
    events = []
    real_fsync, real_link, real_replace = os.fsync, os.link, os.replace

    def fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def link(*args, **kwargs):
        events.append("link")
        real_link(*args, **kwargs)

    def replace(*args, **kwargs):
        events.append("rename")
        real_replace(*args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "replace", replace)
    save(old_model, target)
    naming = [index for index, event in enumerate(events) if event in ("link", "rename")]
    assert naming, events
    assert "fsync file" in events[:naming[0]], events
    assert events[-1] == "fsync folder", events


# ----- file system refusals -----------------------------------------------------------------------

def assert_format_error_naming(error, folder, stem="saved"):
    assert isinstance(error, FormatError)
    assert str(folder / stem) in str(error), str(error)


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no file can be created in, even by root (chattr +i where chmod is not enough)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
    folder.chmod(0o755)


def make_read_only(folder):
    folder.chmod(0o555)
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        done = chattr and subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode
        if not chattr or done != 0:
            pytest.skip("running as root without chattr: cannot make a read-only folder")


@pytest.mark.parametrize("kind", KINDS)
def test_saving_into_a_read_only_folder_is_a_format_error_and_keeps_the_old_files(
        kind, old_model, new_model, read_only_folder):
    target = read_only_folder / KINDS[kind]
    save(old_model, target)
    before = folder_bytes(read_only_folder)
    make_read_only(read_only_folder)
    with pytest.raises(FormatError) as info:
        save(new_model, target)
    assert_format_error_naming(info.value, read_only_folder)
    assert folder_bytes(read_only_folder) == before


@pytest.mark.parametrize("kind", KINDS)
def test_saving_to_a_directory_is_a_format_error(kind, old_model, tmp_path):
    target = tmp_path / KINDS[kind]
    target.mkdir()
    with pytest.raises(FormatError, match="is a directory") as info:
        save(old_model, target)
    assert_format_error_naming(info.value, tmp_path)
    assert target.is_dir() and not any(target.iterdir())


@pytest.mark.parametrize("kind", KINDS)
def test_a_nul_byte_in_the_path_is_a_format_error(kind, old_model, tmp_path):
    with pytest.raises(FormatError, match="NUL"):
        save(old_model, tmp_path / ("sa\0" + KINDS[kind]))
    assert names(tmp_path) == []


def test_converting_to_a_bad_onnx_path_is_a_format_error(tmp_path):
    for target in (tmp_path / "sa\0ved.onnx", tmp_path / "missing" / "saved.onnx"):
        with pytest.raises(FormatError):
            modelio.convert_to_onnx(OLD_SOURCE, target)
    (tmp_path / "saved.onnx").mkdir()
    with pytest.raises(FormatError, match="is a directory"):
        modelio.convert_to_onnx(OLD_SOURCE, tmp_path / "saved.onnx")


@pytest.mark.parametrize("kind", KINDS)
def test_a_full_disk_at_fsync_is_a_format_error_and_keeps_the_old_files(
        kind, old_model, new_model, tmp_path, monkeypatch):
    target = tmp_path / KINDS[kind]
    save(old_model, target)
    before = folder_bytes(tmp_path)

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(FormatError, match="No space left") as info:
        save(new_model, target)
    assert_format_error_naming(info.value, tmp_path)
    assert folder_bytes(tmp_path) == before


@pytest.fixture
def file_size_limit():
    """Writes beyond `limit` bytes fail (EFBIG), as on a full disk, while the block runs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size):
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


@pytest.mark.parametrize("kind", KINDS)
def test_a_write_the_file_system_refuses_is_a_format_error_and_keeps_the_old_files(
        kind, old_model, new_model, tmp_path, file_size_limit):
    target = tmp_path / KINDS[kind]
    save(old_model, target)
    before = folder_bytes(tmp_path)
    file_size_limit(256)
    with pytest.raises(FormatError) as info:
        save(new_model, target)
    file_size_limit(resource.RLIM_INFINITY)
    assert_format_error_naming(info.value, tmp_path)
    assert folder_bytes(tmp_path) == before


# ----- long names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["keras", "h5", "onnx", "weights"])
def test_a_250_byte_file_name_saves_and_loads(kind, old_model, tmp_path):
    suffix = KINDS[kind][len("saved"):]
    target = tmp_path / ("n" * (250 - len(suffix)) + suffix)
    save(old_model, target)
    if kind == "weights":
        fresh = modelio.model_from_json(old_model.to_json())
        fresh.load_weights(target)
    else:
        modelio.load_model(target)
    assert names(tmp_path) == [target.name]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_an_architecture_name_whose_weights_name_fits_saves_and_loads(suffix, old_model, tmp_path):
    target = tmp_path / ("n" * (255 - len(".weights.h5")) + suffix)  # the weights name: 255 bytes
    save(old_model, target)
    modelio.load_model(target)
    assert names(tmp_path) == files_of(target)
    too_long = tmp_path / ("m" * (250 - len(suffix)) + suffix)
    with pytest.raises(FormatError, match="too long") as info:
        save(old_model, too_long)
    assert str(sibling_weights_path(too_long)) in str(info.value)
    assert names(tmp_path) == files_of(target)
