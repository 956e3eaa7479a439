"""Keras 3 weights files (`model.save_weights("x.weights.h5")`, and the `model.weights.h5` inside
a `.keras` archive), read and written in Keras's own layout.

Keras 3 (keras/src/saving/saving_lib.py, `_save_state` / `_walk_saveable`) names each group after
the *class* of the object it holds, snake_cased, with `_1`, `_2` ... for repeated classes in the
same container, in `model.layers` order; layer names play no part:

    vars                                      the model's own (empty), @name = model name
    layers/input_layer/vars                   empty groups are written too
    layers/dense/vars/0, layers/dense/vars/1  kernel, bias (trainable, then non-trainable)
    layers/dense_1/vars/...
    layers/functional/vars, layers/functional/layers/dense/vars/...     a nested model
    layers/lstm/vars (empty), layers/lstm/cell/vars/0..2                a layer holding objects
    optimizer/vars/...                        ignored on read, never written

Every `vars` group carries `@name` (the object's name). A layer whose Keras 3 object holds
sub-objects (an RNN's `cell`, a Bidirectional's `forward_layer`/`backward_layer`, a
MultiHeadAttention's `query_dense` ...) says so with a method

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        return [("", []), ("cell", [kernel, recurrent_kernel, bias]), ...]

giving each group's path relative to the layer's own group, in Keras's visiting order; an optional
third item is the group's `@name` (the layer's name when left out), an optional fourth the dataset
names when the layer's `save_own_variables` does not number them (a lookup's `idf_weights`). Without the method a layer is
one group holding `layer.weights` (trainable first, then non-trainable, as `save_own_variables`).
Keras 3 operations (`model.operations` that are not `model.layers`) hold nothing and are skipped.

Files written by tf-keras (2.13+) use the same walk but name a few attributes differently; on read
a missing `<name>` falls back to `_<name>` (tf-keras's `_query_dense`) and a missing `layers` to
`_layer_checkpoint_dependencies` (Keras 2.13), as Keras 3's own reader does.

Reading checks every group's dataset count and every shape before assigning anything, so a
mismatch (`WeightMismatchError`, naming the layer, the group and both shapes) leaves the model
unchanged. Writing is atomic.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import progress
from ..atomic import atomic_path
from ..errors import FormatError, ModelioError, WeightMismatchError
from ..graph.dtypes import numpy_dtype
from ..graph.functional import Functional
from ..graph.naming import keras3_snake_case
from ..graph.weights import Weight
from .hdf5 import (
    LEGACY_LAYOUT,
    child_dataset,
    child_group,
    open_hdf5,
    storable_weight,
    weights_layout,
)
from .hdf5_tree import StoredGroup

WEIGHTS_SUFFIX = ".weights.h5"
# Top-level groups that hold layer weights. Anything else (optimizer/, metrics) is not read.
_LAYER_ROOTS = ("layers", "_layer_checkpoint_dependencies")
# Stored numeric kinds accepted on read: float, signed/unsigned int, bool.
_NUMERIC_KINDS = "fiub"


@dataclass
class WeightGroup:
    """One `vars` group of the Keras 3 layout: where it lives and which weights it holds."""

    path: str            # the group holding `vars`, e.g. "layers/lstm/cell" ("" for the root)
    name: str            # written as the `vars` group's @name
    weights: list        # Weight objects, in dataset order 0, 1, ...
    layer: str           # the modelio layer (or model) name, for messages
    keys: tuple | None = None   # dataset names when not "0", "1", ...
    owner: object = None        # the layer (or model) the group belongs to

    @property
    def dataset_keys(self) -> list[str]:
        return list(self.keys) if self.keys else [str(i) for i in range(len(self.weights))]

    @property
    def vars_path(self) -> str:
        return f"{self.path}/vars" if self.path else "vars"


# ----- the walk -----------------------------------------------------------------------------------

def keras_class_name(layer) -> str:
    """The Keras Python class name of a modelio layer, which names its weights group: what its
    config's `class_name` says, unless Keras exports the class under another name (Keras's
    GroupedQueryAttention is `keras.layers.GroupQueryAttention`)."""
    cls = type(layer)
    return (getattr(cls, "_keras_weights_class_name", None)
            or getattr(cls, "_keras_class_name", None) or cls.__name__)


def layer_weight_groups(layer) -> list[tuple[str, list, str, tuple | None]]:
    """`(subpath, weights, name, keys)` for each Keras 3 group of `layer` (see the module
    docstring)."""
    method = getattr(layer, "keras3_weight_groups", None)
    if not callable(method):
        return [("", _own_variables(layer.weights), layer.name, None)]
    groups = []
    for item in method():
        if not isinstance(item, tuple) or len(item) not in (2, 3, 4):
            raise ModelioError(f"layer '{layer.name}': keras3_weight_groups() must return "
                               f"(subpath, weights[, name]) tuples, got {item!r}")
        subpath, weights = item[0], list(item[1])
        name = item[2] if len(item) == 3 and item[2] else layer.name
        if not isinstance(subpath, str) or not all(isinstance(w, Weight) for w in weights):
            raise ModelioError(f"layer '{layer.name}': keras3_weight_groups() returned a bad "
                               f"group {item!r}")
        keys = tuple(item[3]) if len(item) == 4 and item[3] else None
        if keys is not None and (len(keys) != len(weights)
                                 or not all(isinstance(key, str) and key for key in keys)):
            raise ModelioError(f"layer '{layer.name}': keras3_weight_groups() returned bad "
                               f"dataset names {item[3]!r}")
        groups.append((subpath.strip("/"), weights, name, keys))
    return groups


def _own_variables(weights: list) -> list:
    """Keras's `_trainable_variables + _non_trainable_variables`: each weight keeps the kind it
    was created with, even in a frozen layer."""
    return ([weight for weight in weights if weight.trainable] +
            [weight for weight in weights if not weight.trainable])


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


def keras3_weight_plan(model) -> list[WeightGroup]:
    """Every group Keras 3 writes for `model`, in Keras's order (a depth-first walk of
    `model.layers`; an object met a second time, e.g. a layer shared by two nested models, is
    stored only where it was met first)."""
    plan: list[WeightGroup] = []
    visited: set[int] = set()
    stack = [(model, "")]
    while stack:
        obj, path = stack.pop()
        if id(obj) in visited:
            continue
        visited.add(id(obj))
        if isinstance(obj, Functional):  # Functional and Sequential: own vars, then `layers`
            plan.append(WeightGroup(path, obj.name, [], obj.name, owner=obj))
            used: dict[str, int] = {}
            children = []
            for layer in obj.layers:
                key = _unique_name(keras3_snake_case(keras_class_name(layer)), used)
                children.append((layer, _join(path, "layers", key)))
            stack.extend(reversed(children))
            continue
        for subpath, weights, name, keys in layer_weight_groups(obj):
            plan.append(WeightGroup(_join(path, subpath), name, weights, obj.name, keys, obj))
    return plan


def _unique_name(name: str, used: dict[str, int]) -> str:
    """Keras's `_get_unique_name`: `dense`, `dense_1`, `dense_2`, ... per container."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ----- writing ------------------------------------------------------------------------------------

def write_keras3_weights(model, h5group) -> None:
    """Write `model`'s weights into an open h5py File/Group in the Keras 3 layout."""
    plan = keras3_weight_plan(model)
    for done, group in enumerate(plan, 1):
        target = h5group.create_group(group.vars_path)
        target.attrs["name"] = group.name
        for key, weight in zip(group.dataset_keys, group.weights):
            write_weight_dataset(target, key, weight.value, f"weight '{weight.path}'")
        progress.advance(done, len(plan))


def write_weight_dataset(h5group, name: str, value, what: str | None = None) -> None:
    """One weight as a dataset, its dtype kept: a bfloat16 array (`ml_dtypes`) is stored as Keras
    3 stores it, 2-byte opaque values tagged with the attribute `dtype="bfloat16"`."""
    array = storable_weight(value, what or f"weight '{h5group.name.lstrip('/')}/{name}'")
    dataset = h5group.create_dataset(name, data=array)
    if array.dtype.name == "bfloat16":
        dataset.attrs["dtype"] = "bfloat16"


def save_weights_h5(model, path: str | os.PathLike) -> None:
    """`model.save_weights(path)` as Keras 3 writes it (Keras loads it with `load_weights`).
    Atomic: a failure leaves no partial file and an existing file untouched."""
    import h5py

    path = Path(path)
    with atomic_path(path) as temporary:
        try:
            # h5py gets a file object: the new file may have no name of its own yet
            with open(temporary, "w+b") as raw, h5py.File(raw, "w") as handle:
                write_keras3_weights(model, handle)
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise FormatError(f"{path}: cannot write weights ({_message(exc)})") from exc


# ----- reading ------------------------------------------------------------------------------------

def load_weights_h5(model, path: str | os.PathLike) -> None:
    """`model.load_weights(path)` for a Keras 3 (or tf-keras 2.13+) `.weights.h5` file."""
    with open_hdf5(path) as handle:
        if weights_layout(handle) == LEGACY_LAYOUT:
            raise FormatError(f"{path}: this is a legacy Keras HDF5 weights file (it lists "
                              f"'layer_names'), not the Keras 3 .weights.h5 layout")
        read_keras3_weights(model, handle, str(path))


def read_keras3_weights(model, h5group, source: str) -> None:
    """Assign weights from an open h5py File/Group in the Keras 3 layout to `model`.

    Every group's dataset count and every shape are checked before any weight is assigned; any
    mismatch raises WeightMismatchError and leaves the model unchanged.
    """
    try:
        arrays = _read_all(model, h5group, source)
    except ModelioError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise FormatError(f"{source}: damaged or unexpected HDF5 content ({_message(exc)})") from exc
    for weight, array in arrays:
        weight.assign(array, copy=False)


def _read_all(model, root, source: str) -> list[tuple]:
    plan = keras3_weight_plan(model)
    found = []  # (group, vars h5 group or None)
    for group in plan:
        found.append((group, _find_group(root, group.vars_path, source)))
    # 1. counts and shapes, from metadata only
    datasets = []
    for group, stored in found:
        expected = len(group.weights)
        names = _dataset_names(stored, group, source) if stored is not None else []
        if stored is None and expected:
            raise WeightMismatchError(
                f"{source}: layer '{group.layer}' has {expected} weight(s) "
                f"({_weight_names(group)}) but the file has no group '{group.vars_path}'")
        if len(names) != expected or sorted(names) != sorted(group.dataset_keys):
            raise WeightMismatchError(
                f"{source}: layer '{group.layer}' (group '{group.vars_path}') expects {expected} "
                f"weight(s) ({_weight_names(group)}), the file holds {len(names)} "
                f"({', '.join(sorted(names, key=_index_key)) or 'none'})")
        for key, weight in zip(group.dataset_keys, group.weights):
            dataset = child_dataset(stored, key, source)
            what = (f"{source}: layer '{group.layer}': weight '{weight.name}' "
                    f"('{group.vars_path}/{key}')")
            if tuple(dataset.shape) != tuple(weight.shape):
                raise WeightMismatchError(f"{what} expects shape {tuple(weight.shape)}, the file "
                                          f"holds {tuple(dataset.shape)}")
            _check_dtype(dataset, what)
            datasets.append((weight, dataset))
    _check_nothing_left_over(root, found, source)
    # 2. values, one dataset at a time
    arrays = []
    for done, (weight, dataset) in enumerate(datasets, 1):
        arrays.append((weight, _read_values(dataset)))
        progress.advance(done, len(datasets))
    return arrays


def _find_group(root, path: str, source: str):
    """The group at `path`, following Keras's fallbacks for tf-keras files, or None."""
    current = root
    for part in path.split("/"):
        candidates = [part]
        if part == "layers":
            candidates.append("_layer_checkpoint_dependencies")
        elif not part.startswith("_"):
            candidates.append(f"_{part}")
        for candidate in candidates:
            child = child_group(current, candidate, source, required=False)
            if child is not None:
                current = child
                break
        else:
            return None
    return current


def _dataset_names(stored, group: WeightGroup, source: str) -> list[str]:
    names = sorted(stored.keys(), key=_index_key)
    for name in names:
        if not name.isdigit() and name not in (group.keys or ()):
            raise WeightMismatchError(f"{source}: layer '{group.layer}': unexpected entry "
                                      f"'{group.vars_path}/{name}' (weights are named 0, 1, ...)")
    return names


def _index_key(name: str):
    return (0, int(name)) if name.isdigit() else (1, name)


def _is_bfloat16(dataset) -> bool:
    tag = dataset.attrs.get("dtype")
    if isinstance(tag, (bytes, np.bytes_)):
        tag = bytes(tag).decode("ascii", "replace")
    return isinstance(tag, str) and tag == "bfloat16" and dataset.dtype.itemsize == 2


def _check_dtype(dataset, what: str) -> None:
    if dataset.dtype.kind not in _NUMERIC_KINDS and not _is_bfloat16(dataset):
        raise FormatError(f"{what}: unsupported stored dtype {dataset.dtype}")


def _read_values(dataset) -> np.ndarray:
    """A dataset's array; Keras 3's bfloat16 datasets (2-byte opaque values, the top half of a
    float32) become `ml_dtypes.bfloat16` arrays, which the weight then casts to its own dtype."""
    if _is_bfloat16(dataset):
        raw = np.asarray(dataset[()]).view(np.uint16)
        return raw.view(numpy_dtype("bfloat16"))
    return np.asarray(dataset[()])


def _check_nothing_left_over(root, found: list, source: str) -> None:
    """Weights the file holds for layers the model does not have mean another architecture."""
    used = {stored.name for _, stored in found if stored is not None}
    stack = [root.link(name) for name in _LAYER_ROOTS if isinstance(root.link(name), StoredGroup)]
    while stack:
        group = stack.pop()
        for name in group:
            child = group.link(name)
            if not isinstance(child, StoredGroup):
                continue
            if name == "vars":
                if child.name not in used and len(child):
                    path = child.name.lstrip("/")
                    raise WeightMismatchError(
                        f"{source}: the file holds {len(child)} weight(s) in '{path}' for a layer "
                        f"the model does not have (the architectures differ)")
            else:
                stack.append(child)


def _weight_names(group: WeightGroup) -> str:
    return ", ".join(weight.name for weight in group.weights) or "none"


def _message(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:200] or type(exc).__name__
