"""Sharded Keras 3 weights (`model.save_weights("m.weights.json", max_shard_size=GB)`), read and
written.

Keras 3.15.1 (keras/src/saving/saving_lib.py, `ShardedH5IOStore`) writes an index and shards
beside it:

    m.weights.json          {"metadata": {"total_size": <bytes, a float>},
                             "weight_map": {"/layers/dense/vars": ["m_00000.weights.h5", ...]}}
    m_00000.weights.h5      the Keras 3 layout (see `weights_h5`), split between files: a
    m_00001.weights.h5      layer's datasets may sit in several shards (`vars/0` in one, `vars/1`
    ...                     in the next); a new shard starts when the next weight would pass
                            `max_shard_size` GB

Reading: the index is bounded JSON; every shard it names must be a plain file name (no folder
part), opened as a regular file inside the index's folder (`files.open_inside_folder`: a symlink
out of the folder, a FIFO or a device is refused), and the shards' sizes together, like the
size the index claims, may not pass what the model's weights need (`keras_zip.weights_size_limit`,
plus HDF5's per-file overhead). Each shard is parsed by the isolated HDF5 reader; their trees
are merged into one (a dataset found in two shards is refused) and read with every count and
shape checked, as a single `.weights.h5` is. A missing shard is one FormatError naming it.

Writing follows Keras's splitting rule and names (Keras's reader opens `m_00000.weights.h5`
whatever the index says, so the names are fixed). Every shard is written unnamed first
(`atomic.new_file`): a failure while writing leaves the old files untouched and nothing behind.
Then the shards are renamed into place one by one, the index is replaced, and shards the old
index named beyond the new count are deleted. No rename replaces several files at once: a save
killed between the first shard rename and the index leaves shards of two saves. The index and
each shard carry the save's id (`modelio_save_id`, which Keras ignores), so modelio refuses
such a mix by name instead of loading mixed weights.
"""

import json
import math
import os
import secrets
from pathlib import Path

import numpy as np

from ..atomic import folder_lock, new_file, write_bytes_atomic
from ..errors import FormatError, ModelioError
from ..files import open_inside_folder, path_of_open_file
from . import weights_h5
from .config import config_from_json
from .hdf5 import open_hdf5, storable_weight
from .hdf5_tree import StoredFile, StoredGroup
from .keras_zip import weights_size_limit
from .probe import check_regular_file

INDEX_SUFFIX = ".weights.json"
SHARD_SUFFIX = ".weights.h5"
MAX_INDEX_BYTES = 16 * 1024 * 1024
MAX_SHARDS = 10_000
# The key (in the index's metadata) and root attribute (of each shard) that tie the files of one
# modelio save together; Keras ignores both.
SAVE_ID = "modelio_save_id"
# Per shard: an HDF5 file's own overhead beyond its groups and datasets.
SHARD_OVERHEAD_BYTES = 64 * 1024


def is_index_path(path: str | os.PathLike) -> bool:
    return Path(path).name.lower().endswith(INDEX_SUFFIX)


def shard_base(index: Path) -> str:
    """Keras's shard name stem: `m.weights.json` -> `m`."""
    return index.name[: -len(INDEX_SUFFIX)] if is_index_path(index) else index.stem


# ----- reading ------------------------------------------------------------------------------------

def load_sharded_weights(model, index: str | os.PathLike) -> None:
    """`model.load_weights("m.weights.json")`: the shards the index names, into `model`."""
    index = Path(index)
    check_regular_file(index, "a sharded weights index")
    document = read_index(index)
    names = shard_names(document, index)
    needed, limit = weights_size_limit(model)
    limit += SHARD_OVERHEAD_BYTES * len(names)
    claimed = document["metadata"].get("total_size", 0)
    if claimed > limit:
        raise FormatError(f"{index}: the index claims {claimed:.0f} bytes of weights, but the "
                          f"model's weights need {needed}; refusing (limit {limit})")
    folder = index.resolve().parent
    merged = StoredFile(str(index), {})
    total = 0
    for name in names:
        shard = index.with_name(name)
        if not os.path.lexists(shard):
            raise FormatError(f"{shard}: missing shard (named by {index.name})")
        with open_inside_folder(shard, folder, f"a weights shard of {index.name}") as checked:
            size = os.fstat(checked.fileno()).st_size
            total += size
            if total > limit:
                raise FormatError(f"{shard}: the shards of {index.name} hold more than {limit} "
                                  f"bytes, but the model's weights need {needed}; refusing "
                                  f"oversized shards")
            with open_hdf5(path_of_open_file(checked, shard.resolve()), str(shard),
                           byte_range=(0, size)) as tree:
                _check_same_save(document, tree, shard, index)
                _merge(merged, tree, str(shard))
    weights_h5.read_keras3_weights(model, merged, str(index))


def _check_same_save(document: dict, tree, shard: Path, index: Path) -> None:
    """A shard of an index modelio wrote must come from the same save (a save that stopped
    while renaming its shards into place leaves shards of two saves)."""
    expected = document["metadata"][SAVE_ID]
    if expected is None:
        return  # written by Keras
    found = tree.attrs.get(SAVE_ID)
    found = found.decode("utf-8", "replace") if isinstance(found, bytes) else found
    if found != expected:
        raise FormatError(f"{shard}: this shard is not from the save that wrote {index.name} "
                          f"(an interrupted save left shards of two saves); save the weights "
                          f"again")


def read_index(index: Path) -> dict:
    """The index document, checked: `metadata.total_size` a number >= 0, `weight_map` a mapping
    of group paths to a shard name or a list of them."""
    try:
        with open(index, "rb") as handle:
            data = handle.read(MAX_INDEX_BYTES + 1)
    except OSError as exc:
        raise FormatError(f"{index}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_INDEX_BYTES:
        raise FormatError(f"{index}: larger than the {MAX_INDEX_BYTES} bytes a shard index may be")
    document = config_from_json(data, str(index))
    if not isinstance(document, dict) or not isinstance(document.get("weight_map"), dict):
        raise FormatError(f"{index}: not a sharded weights index (expected a JSON object with a "
                          f"'weight_map' mapping)")
    metadata = document.get("metadata", {})
    total = metadata.get("total_size", 0) if isinstance(metadata, dict) else None
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not total >= 0 \
            or not math.isfinite(total):
        raise FormatError(f"{index}: 'metadata.total_size' must be a number of bytes >= 0, got "
                          f"{str(total)[:60]}")
    save_id = metadata.get(SAVE_ID)
    return {"metadata": {"total_size": total, SAVE_ID: save_id if isinstance(save_id, str) else None},
            "weight_map": document["weight_map"]}


def shard_names(document: dict, index: Path) -> list[str]:
    """The shard file names the index names, in first-seen order, each a plain file name."""
    names: dict[str, None] = {}
    for key, value in document["weight_map"].items():
        entries = value if isinstance(value, list) else [value]
        for name in entries:
            if not isinstance(name, str) or not _plain_name(name):
                raise FormatError(f"{index}: weight_map[{str(key)[:60]!r}] names "
                                  f"{str(name)[:80]!r}; a shard must be a file name beside the "
                                  f"index (no folder part)")
            names[name] = None
            if len(names) > MAX_SHARDS:
                raise FormatError(f"{index}: more than {MAX_SHARDS} shards")
    return list(names)


def _plain_name(name: str) -> bool:
    return (bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name
            and "\0" not in name and len(name) <= 255)


def _merge(merged: StoredGroup, tree: StoredGroup, shard: str) -> None:
    """Graft the members of shard `tree` into `merged`: groups are joined (attributes kept from
    whichever shard has them), a dataset or link met twice is refused."""
    stack = [(merged, tree)]
    while stack:
        into, group = stack.pop()
        for key, value in group.attrs.items():
            into.attrs.setdefault(key, value)
        for name in group:
            member = group.link(name)
            present = into.link(name)
            if isinstance(member, StoredGroup):
                if present is None:
                    present = StoredGroup(member.name, member.file, {})
                    into.members[name] = present
                elif not isinstance(present, StoredGroup):
                    raise FormatError(f"{shard}: '{member.name}' is a group here and a dataset "
                                      f"in another shard")
                stack.append((present, member))
            elif present is not None:
                raise FormatError(f"{shard}: '{member.name}' is stored in two shards")
            else:
                into.members[name] = member


# ----- writing ------------------------------------------------------------------------------------

def save_sharded_weights(model, index: str | os.PathLike, max_shard_size: float) -> None:
    """`model.save_weights("m.weights.json", max_shard_size=GB)` as Keras 3 writes it (Keras
    loads it with `load_weights`); one commit (see the module docstring)."""
    index = Path(index)
    if not is_index_path(index):
        raise FormatError(f"{index}: sharded weights are saved to a '*.weights.json' index "
                          f"(as Keras requires with max_shard_size)")
    if isinstance(max_shard_size, bool) or not isinstance(max_shard_size, (int, float)) \
            or not math.isfinite(max_shard_size) or max_shard_size <= 0:
        raise FormatError(f"{index}: max_shard_size must be a positive number of GB, got "
                          f"{max_shard_size!r}")
    shards = _split(model, float(max_shard_size) * 1024**3, index)
    with folder_lock(index.parent):
        old = _old_shards(index)
        base = shard_base(index)
        names = [f"{base}_{number:05}{SHARD_SUFFIX}" for number in range(len(shards))]
        save_id = secrets.token_hex(8)
        weight_map, total = {}, 0.0
        for name, shard in zip(names, shards):
            for group, _, weight in shard:
                if weight is not None:
                    files = weight_map.setdefault(f"/{group.vars_path}", [])
                    if name not in files:
                        files.append(name)
                    total += float(np.asarray(weight.value).nbytes)
        text = json.dumps({"metadata": {"total_size": total, SAVE_ID: save_id},
                           "weight_map": weight_map}, indent=4)
        _commit_shards(index, names, shards, save_id)
        write_bytes_atomic(index, text.encode("utf-8"))
        for name in sorted(old - set(names)):
            stale = index.with_name(name)
            try:
                if stale.is_file() and not stale.is_symlink():
                    stale.unlink()
            except OSError:
                pass  # the new weights are in place; a leftover old shard is harmless


def _split(model, limit: float, index: Path) -> list[list]:
    """Shards as lists of (group, index in group, weight or None): Keras's rule (a new shard
    when the running size would pass `limit`; a weight larger than `limit` is refused). A group
    is first met (with its @name) in the shard current when Keras makes it."""
    shards: list[list] = [[]]
    current = 0.0
    for group in weights_h5.keras3_weight_plan(model):
        shards[-1].append((group, None, None))
        for position, weight in enumerate(group.weights):
            size = float(np.asarray(weight.value).nbytes)
            if size > limit:
                raise FormatError(f"{index}: weight '{weight.name}' of layer '{group.layer}' is "
                                  f"{size:.0f} bytes, more than max_shard_size ({limit:.0f} "
                                  f"bytes)")
            current += size
            if current > limit:
                shards.append([])
                current = size
            shards[-1].append((group, position, weight))
    return shards


def _old_shards(index: Path) -> set[str]:
    """The shard names the index being replaced lists (none when it is missing or unreadable)."""
    try:
        if not index.is_file():
            return set()
        return set(shard_names(read_index(index), index))
    except (ModelioError, OSError):
        return set()


def _commit_shards(index: Path, names: list[str], shards: list[list], save_id: str) -> None:
    import h5py

    pending = []
    try:
        for name, shard in zip(names, shards):
            target = index.with_name(name)
            context = new_file(target)
            new = context.__enter__()
            pending.append((context, new))
            try:
                with open(new.path, "w+b") as raw, h5py.File(raw, "w") as handle:
                    handle.attrs[SAVE_ID] = save_id
                    _write_shard(handle, shard)
            except (OSError, ValueError, TypeError, RuntimeError) as exc:
                raise FormatError(f"{target}: cannot write the shard ({exc})") from exc
        for _, new in pending:
            try:
                new.commit()
            except OSError as exc:
                raise FormatError(f"{new.target}: cannot put the shard in place ({exc}); "
                                  f"{index.name} is unchanged") from exc
    finally:
        for context, _ in reversed(pending):
            context.__exit__(None, None, None)


def _write_shard(handle, shard: list) -> None:
    for group, position, weight in shard:
        target = handle.require_group(group.vars_path)
        if weight is None:
            target.attrs["name"] = group.name
        else:
            key = group.dataset_keys[position]
            target.create_dataset(key, data=storable_weight(weight.value,
                                                            f"weight '{weight.path}'"))


__all__ = ["is_index_path", "load_sharded_weights", "save_sharded_weights"]
