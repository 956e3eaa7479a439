"""Legacy HDF5 files: whole models (`model.save("x.h5")`) and Keras 2 weight files
(`model.save_weights("x.h5")`), read and written.

Layout (tf-keras `saving/legacy/hdf5_format.py`, Keras 3 `legacy/saving/legacy_h5_format.py`):

    /  @keras_version  @backend  @model_config (JSON)  [@training_config]
    /model_weights  @layer_names (every layer, `model.layers` order)  @backend  @keras_version
    /model_weights/<layer>  @weight_names ["dense/kernel:0", ...]   (Keras 3: no ":0")
    /model_weights/<layer>/<weight name>   one dataset per weight
    /model_weights/top_level_model_weights  @weight_names []
    /optimizer_weights ...                                            (ignored)

A weights-only file has the layer groups and `@layer_names` at the root. Weights are matched as
Keras matches them: by position among the layers that have weights (or by layer name with
`by_name=True`); inside a layer in "legacy" order, `trainable_weights + non_trainable_weights`,
which for a nested model means every trainable weight of the whole submodel first, then every
non-trainable one (BatchNormalization statistics, frozen layers).

Reading checks every count and shape before any weight changes, reads one dataset at a time,
and refuses links to other files, external raw storage and virtual datasets. Writing goes through
a temporary file that is renamed into place.
"""

import json
import os
import warnings
from pathlib import Path

import numpy as np

from .. import progress
from ..atomic import atomic_path
from ..errors import FormatError, ModelioError, UnsupportedError, WeightMismatchError, naming_source
from ..graph.layer import weights_follow
from ..graph.registry import LAYER_CLASSES, OPERATION_CLASSES
from .config import config_from_json, model_from_config, model_to_config
from .hdf5 import (
    KERAS3_LAYOUT,
    child_dataset,
    child_group,
    holds_layer_names,
    open_hdf5,
    read_dataset,
    read_string,
    read_string_list,
    storable_weight,
    weights_layout,
    write_string_list,
)

# What modelio writes into `keras_version`: the Keras release whose layout a file follows.
# Readers (Keras, tf-keras, modelio) use it to tell file dialects apart; modelio's own version
# goes into `modelio_version`.
KERAS3_FILE_VERSION = "3.15.1"
KERAS2_FILE_VERSION = "2.21.0"
BACKEND_NAME = "numpy"
DIALECTS = ("keras2", "keras3")
TOP_LEVEL_GROUP = "top_level_model_weights"


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------

def load_h5_model(path: str | os.PathLike):
    """The model stored in a full-model `.h5`/`.hdf5` file (Keras 2 or Keras 3), weights set."""
    path = Path(path)
    with open_hdf5(path) as handle:
        document = read_model_config(handle, path)
        with naming_source(path), weights_follow():
            model = model_from_config(document, source=str(path))
        if "model_weights" not in handle:
            raise FormatError(f"{path}: has a model_config but no 'model_weights' group")
        group = child_group(handle, "model_weights", path)
        load_weights_from_hdf5_group(group, model, source=str(path))
    return model


def save_h5_model(model, path: str | os.PathLike, keras_version: int | None = None) -> None:
    """Write `model` as `model.save("x.h5")` does. `keras_version=3`: as Keras 3 writes it (Keras
    3 config, weight names without `:0`; tf-keras cannot read it). `keras_version=2`: as tf-keras
    writes it (Keras 2 config, names with `:0`), which tf-keras and Keras 3 both load.
    `keras_version=None`: the dialect of the file the model came from (see `model_to_config`)."""
    path = Path(path)
    config = model_to_config(model, keras_version)
    version = KERAS2_FILE_VERSION if str(config.get("keras_version", "")).startswith("2") \
        else KERAS3_FILE_VERSION
    document = {"class_name": config["class_name"], "config": config["config"]}
    if version == KERAS2_FILE_VERSION:
        document.update(keras_version=version, backend=BACKEND_NAME)
    try:
        text = json.dumps(document)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{path}: model '{model.name}' has a config that is not JSON ({exc})") \
            from exc
    plan = _write_plan(model, "keras2" if version == KERAS2_FILE_VERSION else "keras3")

    def write(handle):
        handle.attrs["keras_version"] = version
        handle.attrs["backend"] = BACKEND_NAME
        handle.attrs["modelio_version"] = _modelio_version()
        handle.attrs["model_config"] = text.encode("utf-8")
        _write_plan_to_group(handle.create_group("model_weights"), plan, version)

    _write_atomically(path, write)


def load_h5_weights(model, path: str | os.PathLike, by_name: bool = False,
                    skip_mismatch: bool = False) -> None:
    """Set `model`'s weights from a legacy `.h5` file: a weights file (`save_weights("x.h5")`)
    or the `model_weights` of a full-model file.

    By position among layers with weights (default), or by layer name (`by_name=True`).
    With `skip_mismatch=True`, a layer whose weight count or shapes differ is left unchanged
    (a warning names it) instead of failing the load; a different number of layers with
    weights still fails when matching by position. Either nothing changes or the load
    completes as described."""
    path = Path(path)
    with open_hdf5(path) as handle:
        layout = weights_layout(handle)
        if layout == KERAS3_LAYOUT:
            raise FormatError(f"{path}: this is a Keras 3 '.weights.h5' file (layers/ and "
                              f"vars/ groups), not a legacy '.h5' weights file")
        if layout is None:
            raise FormatError(f"{path}: not a Keras weights file (no 'layer_names' "
                              f"attribute and no 'model_weights' group)")
        group = handle if holds_layer_names(handle) else child_group(handle, "model_weights", path)
        load_weights_from_hdf5_group(group, model, by_name=by_name, skip_mismatch=skip_mismatch,
                                     source=str(path))


def save_h5_weights(model, path: str | os.PathLike, dialect: str = "keras2") -> None:
    """Write a weights-only file as tf-keras's `save_weights("x.h5")` does (layer groups at the
    root; names with `:0`). `dialect="keras3"` writes names without `:0`. Both Keras 3
    (`load_weights`) and tf-keras read either."""
    path = Path(path)
    if dialect not in DIALECTS:
        raise ModelioError(f"{path}: dialect must be one of {DIALECTS}, got {dialect!r}")
    plan = _write_plan(model, dialect)
    version = KERAS2_FILE_VERSION if dialect == "keras2" else KERAS3_FILE_VERSION

    def write(handle):
        handle.attrs["modelio_version"] = _modelio_version()
        _write_plan_to_group(handle, plan, version)

    _write_atomically(path, write)


# ----------------------------------------------------------------------------------------------
# Group-level helpers
# ----------------------------------------------------------------------------------------------

def read_model_config(handle, path) -> dict:
    """The `model_config` document of an open full-model file. The file's `keras_version`
    is added to it when the document lacks one, so the right dialect is chosen."""
    if "model_config" not in handle.attrs:
        if holds_layer_names(handle):
            raise FormatError(f"{path}: holds weights only (no model_config); build the model "
                              f"and load them with load_h5_weights")
        raise FormatError(f"{path}: no model_config attribute; not a Keras full-model .h5 file")
    try:
        text = read_string(handle.attrs["model_config"])
    except (FormatError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: model_config is not text ({exc})") from exc
    document = config_from_json(text, source=f"{path}: model_config")
    if not isinstance(document, dict):
        raise FormatError(f"{path}: model_config must be a JSON object, got "
                          f"{type(document).__name__}")
    version = _text_attr(handle, "keras_version")
    if version and "keras_version" not in document:
        document = {**document, "keras_version": version}
    if (version or "").startswith("3"):
        _restore_operation_modules(document)
    return document


def _restore_operation_modules(document: dict) -> None:
    """Keras 3 writes `.h5` configs without the `module` of each entry, which makes its own
    operation entries (e.g. the `NotEqual` computing an Embedding's mask) unreadable even to
    Keras 3. An entry with graph keys, no module and a class that is an operation but not a
    layer gets its operation module back. Names that are both (such as `Add`) stay layers."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        class_name = item.get("class_name")
        if ("inbound_nodes" in item and "module" not in item and isinstance(class_name, str)
                and class_name not in LAYER_CLASSES and class_name in OPERATION_CLASSES):
            item["module"] = OPERATION_CLASSES[class_name]._keras_module
        stack.extend(value for value in item.values() if isinstance(value, (dict, list)))


def legacy_weights(layer) -> list:
    """A layer's weights in the order legacy `.h5` files store them: trainable weights first,
    then non-trainable ones, over the whole layer (for a nested model: over every sublayer)."""
    seen, weights = set(), []
    for weight in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(weight) not in seen:
            seen.add(id(weight))
            weights.append(weight)
    return weights


def load_weights_from_hdf5_group(group, model, by_name: bool = False,
                                 skip_mismatch: bool = False, source: str | None = None) -> None:
    """Set `model`'s weights from a group holding `@layer_names` and per-layer groups.

    Every count and shape is checked, and every dataset read, before any weight is assigned."""
    where = source or group.file.filename
    layer_names = read_string_list(group, "layer_names")
    saved = {}  # file layer name -> (its group, its weight names)
    for name in layer_names:
        layer_group = child_group(group, name, where)
        saved[name] = (layer_group, _weight_names(layer_group, where))
    if by_name:
        pairs = _pairs_by_name(model, layer_names, saved)
    else:
        pairs = _pairs_by_position(model, layer_names, saved, where)

    planned = []  # (layer, weights, datasets, weight names, conversion) whose shapes all fit
    for layer, name in pairs:
        layer_group, names = saved[name]
        datasets = [child_dataset(layer_group, weight_name, where) for weight_name in names]
        problem = _mismatch(layer, name, datasets, names, where)
        conversion = None
        if problem is not None:
            conversion = _conversion(layer, datasets)
            problem = None if conversion is not None else problem
        if problem is None:
            planned.append((layer, legacy_weights(layer), datasets, names, conversion))
        elif skip_mismatch:
            warnings.warn(f"{problem}; skipping this layer (skip_mismatch=True)", stacklevel=3)
        else:
            raise WeightMismatchError(problem)
    _check_top_level(group, skip_mismatch, where)

    assignments = []
    for done, (layer, weights, datasets, names, conversion) in enumerate(planned, 1):
        if conversion is not None:
            assignments += _converted(layer, weights, datasets, names, conversion, where)
        else:
            for weight, weight_name, dataset in zip(weights, names, datasets):
                what = f"{where}: layer '{layer.name}': weight '{weight.name}' ({weight_name})"
                assignments.append((weight, read_dataset(dataset, weight.shape, what)))
        progress.advance(done, len(planned))
    for weight, value in assignments:
        weight.assign(value, copy=False)


# ----------------------------------------------------------------------------------------------
# Matching layers to saved groups
# ----------------------------------------------------------------------------------------------

def _pairs_by_position(model, layer_names, saved, where) -> list:
    layers = [layer for layer in model.layers if legacy_weights(layer)]
    names = [name for name in layer_names if saved[name][1]]
    if len(layers) != len(names):
        raise WeightMismatchError(
            f"{where}: layer count mismatch: model '{model.name}' has {len(layers)} layer(s) "
            f"with weights ({_list_text(layer.name for layer in layers)}), the file has "
            f"{len(names)} ({_list_text(names)})"
        )
    return list(zip(layers, names))


def _pairs_by_name(model, layer_names, saved) -> list:
    by_name = {}
    for layer in model.layers:
        by_name.setdefault(layer.name, []).append(layer)
    return [(layer, name) for name in layer_names for layer in by_name.get(name, [])
            if legacy_weights(layer) or saved[name][1]]


def _mismatch(layer, name, datasets, names, where) -> str | None:
    """Why the saved `datasets` (named `names`) cannot go into `layer`, or None when they fit."""
    weights = legacy_weights(layer)
    label = f"{where}: layer '{layer.name}'" + (f" (saved as '{name}')" if name != layer.name else "")
    shapes = [tuple(dataset.shape) for dataset in datasets]
    if len(weights) != len(names):
        expected = ", ".join(f"{weight.name} {weight.shape}" for weight in weights) or "none"
        stored = ", ".join(f"{weight_name} {shape}" for weight_name, shape in zip(names, shapes))
        return (f"{label} expects {len(weights)} weight(s) [{expected}], the file holds "
                f"{len(names)} [{stored or 'none'}]")
    for weight, weight_name, shape in zip(weights, names, shapes):
        if tuple(weight.shape) != shape:
            return (f"{label}: weight '{weight.name}' expects shape {tuple(weight.shape)}, the "
                    f"file holds {shape} ('{weight_name}')")
    return None


def _conversion(layer, datasets):
    """A layer's own conversion of weights stored in another layout (an LSTM/GRU reading
    tf-keras's CuDNNLSTM/CuDNNGRU weights: `legacy_weight_conversion(shapes)`), or None."""
    method = getattr(layer, "legacy_weight_conversion", None)
    if not callable(method):
        return None
    return method([tuple(dataset.shape) for dataset in datasets])


def _converted(layer, weights, datasets, names, conversion, where) -> list:
    """(weight, array) pairs from `datasets` run through the layer's `conversion`, each result
    checked against its weight's shape."""
    arrays = [read_dataset(dataset, tuple(dataset.shape),
                           f"{where}: layer '{layer.name}': weight ({weight_name})")
              for dataset, weight_name in zip(datasets, names)]
    converted = conversion(arrays)
    if len(converted) != len(weights) or any(
            tuple(np.shape(array)) != tuple(weight.shape)
            for array, weight in zip(converted, weights)):
        raise WeightMismatchError(f"{where}: layer '{layer.name}': the converted weights do not "
                                  f"fit the layer")
    return list(zip(weights, converted))


def _check_top_level(group, skip_mismatch, where) -> None:
    """modelio models have no weights of their own, so the file must have none either."""
    if TOP_LEVEL_GROUP not in group:
        return
    names = _weight_names(child_group(group, TOP_LEVEL_GROUP, where), where)
    if names:
        problem = (f"{where}: the file holds {len(names)} top-level model weight(s) "
                   f"({_list_text(names)}); the model has none")
        if not skip_mismatch:
            raise WeightMismatchError(problem)
        warnings.warn(f"{problem}; skipping them (skip_mismatch=True)", stacklevel=3)


def _weight_names(layer_group, where) -> list[str]:
    if "weight_names" not in layer_group.attrs and "weight_names0" not in layer_group.attrs:
        raise FormatError(f"{where}: group '{layer_group.name}' has no 'weight_names' attribute")
    return read_string_list(layer_group, "weight_names")


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------

def _write_plan(model, dialect: str) -> list:
    """`[(layer name, [(weight name, array), ...]), ...]` in `model.layers` order."""
    layers = getattr(model, "layers", None)
    if layers is None:
        raise ModelioError(f"cannot save '{getattr(model, 'name', model)}': not a model")
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ModelioError(f"model '{model.name}': layer names must be unique to be saved")
    if TOP_LEVEL_GROUP in names:
        raise ModelioError(f"model '{model.name}': a layer may not be called {TOP_LEVEL_GROUP!r}")
    suffix = ":0" if dialect == "keras2" else ""
    renames = _keras2_renames(layers) if dialect == "keras2" else {}
    plan = []
    for layer in layers:
        used, entries = set(), []
        for weight in legacy_weights(layer):
            if weight.value.dtype.name == "bfloat16":
                raise UnsupportedError(
                    f"model '{model.name}': layer '{weight.layer_name}': weight '{weight.name}' "
                    f"is bfloat16, which the legacy .h5 format cannot hold (Keras 3 writes it "
                    f"as untyped 2-byte values and cannot load them back); save as .keras or "
                    f".weights.h5")
            name = weight.path
            if id(weight) in renames:
                name = f"{weight.layer_name}/{renames[id(weight)]}"
            entries.append((_unique_name(name + suffix, used), np.asarray(weight.value)))
        plan.append((layer.name, entries))
    return plan


def _keras2_renames(layers) -> dict:
    """`{id(weight): Keras 2 name}` for weights of leaf layers (nested models walked) whose
    Keras 2 name differs."""
    renames, stack = {}, list(layers)
    while stack:
        layer = stack.pop()
        if hasattr(layer, "_layers"):
            stack.extend(layer.layers)
            continue
        table = layer.keras2_weight_names
        for weight in layer.weights:
            if weight.name in table:
                renames[id(weight)] = table[weight.name]
    return renames


def _unique_name(name: str, used: set) -> str:
    """`name`, or `name_1`, `name_2`... when it (or a path prefix of it) is already taken."""
    candidate, counter = name, 0
    while _collides(candidate, used):
        counter += 1
        base, colon, tail = name.rpartition(":")
        candidate = f"{base}_{counter}:{tail}" if colon else f"{name}_{counter}"
    used.add(candidate)
    return candidate


def _collides(name: str, used: set) -> bool:
    if name in used:
        return True
    parts = name.split("/")
    prefixes = {"/".join(parts[:i]) for i in range(1, len(parts))}
    return bool(prefixes & used) or any(other.startswith(name + "/") for other in used)


def _write_plan_to_group(group, plan, version: str) -> None:
    write_string_list(group, "layer_names", [name for name, _ in plan])
    group.attrs["backend"] = BACKEND_NAME
    group.attrs["keras_version"] = version
    for done, (name, entries) in enumerate(sorted(plan, key=lambda item: item[0]), 1):
        _write_layer_group(group.create_group(name), entries)
        progress.advance(done, len(plan))
    _write_layer_group(group.create_group(TOP_LEVEL_GROUP), [])


def _write_layer_group(layer_group, entries) -> None:
    write_string_list(layer_group, "weight_names", [name for name, _ in entries])
    for name, value in entries:
        layer_group.create_dataset(name, data=storable_weight(value, f"weight '{name}'"))


def _write_atomically(path: Path, write) -> None:
    import h5py

    try:
        with atomic_path(path) as temporary:
            # h5py gets a file object: the new file may have no name of its own yet
            with open(temporary, "w+b") as raw, h5py.File(raw, "w") as handle:
                write(handle)
    except ModelioError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError, KeyError) as exc:
        raise FormatError(f"{path}: cannot write the file ({str(exc).splitlines()[0][:200]})") \
            from exc


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

def _text_attr(handle, name: str) -> str | None:
    if name not in handle.attrs:
        return None
    try:
        return read_string(handle.attrs[name])
    except (FormatError, UnicodeDecodeError):
        return None


def _list_text(names, limit: int = 8) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "") \
        if names else "none"


def _modelio_version() -> str:
    from ..version import __version__
    return __version__
