"""Whole-model configs: Keras 3 and Keras 2 dialects, JSON and YAML text.

Text is parsed into plain dicts (YAML with a safe loader that also refuses anchors, aliases and
tags); the dialect is detected; the graph core rebuilds the model from the dict with its own layer
registry.

Text from a file is bounded before it is parsed, so that no text makes the parse take unbounded
memory or time or crash the process: by size, and by the number of values it can hold (JSON: an
upper bound counted from its punctuation; YAML: a pre-scan of libyaml's event stream, which also
bounds nesting, scalar length, anchors, aliases and tags before anything is composed). A refusal is
a FormatError (UnsafeContentError for anchors, aliases and tags) naming the source, the place
(`file:line:column` where the parser knows it) and the limit.
"""

import itertools
import json
import warnings
from typing import Any

import yaml

from .. import layers as _register_layers  # noqa: F401  (fills the layer registry)
from ..errors import ConfigError, FormatError, UnsafeContentError, UnsupportedError
from ..graph.custom_objects import custom_object_scope
from ..graph.dialect import keras2_semantics, writing_keras2
from ..graph.keras2_config import KERAS2_VERSION, keras2_document
from ..graph.keras2_masks import implicit_masks
from ..graph.serialization import deserialize_layer, serialize_layer
from .probe import MAX_CONFIG_BYTES

KERAS_VERSIONS = (2, 3)
# Documents deeper than this are refused before walking them (a real model nests a few levels).
MAX_NESTING = 200
# Measured: a 1000-layer model (Conv2D/BatchNormalization/ReLU/Add blocks) is 1.9 MB of indented
# JSON (0.9 MB compact), 1.1 MB of YAML and about 100,000 values and keys; the largest Keras
# applications have around a thousand layers. The limits leave room above that and keep the worst
# text each accepts (a flat list of empty containers or short strings) within ~300 MB and a few
# seconds.
MAX_JSON_BYTES = MAX_CONFIG_BYTES
MAX_JSON_NODES = 4_000_000
# PyYAML builds ~700 bytes per node (nodes with marks, then values) and its constructor is Python
# even with libyaml, several times slower than json: a lower limit, lower again without libyaml.
MAX_YAML_BYTES = 16 * 1024 * 1024
YAML_HAS_C_LOADER = hasattr(yaml, "CSafeLoader")
MAX_YAML_NODES = 250_000 if YAML_HAS_C_LOADER else 120_000
# No name, class or argument of a real config comes near this; it keeps error messages and
# summaries that quote a string readable.
MAX_STRING_CHARS = 1024 * 1024


def model_to_config(model, keras_version: int | None = 3) -> dict:
    """The document for `model` (what `model.to_json()` writes), as a dict.

    `keras_version=3`: Keras 3's dialect. `keras_version=2`: tf-keras 2's (list-form
    `inbound_nodes`, `batch_input_shape`, plain dtype names; `"keras_version": "2.21.0"` in the
    document), which tf-keras and Keras 3 both read; what it cannot express is refused by name.
    `keras_version=None`: the dialect of the file the model was read from (Keras 3 for models
    built or imported here), falling back to Keras 3, with a warning naming the reason, when the
    model holds something Keras 2 cannot express (a Keras 3 operation no TensorFlow function
    computes the same way, see modelio/ops/tf_function_forms.py)."""
    if keras_version not in (None, *KERAS_VERSIONS):
        raise ConfigError(f"keras_version must be 2, 3 or None, got {keras_version!r}")
    wanted = source_keras_version(model) if keras_version is None else keras_version
    if wanted == 3:
        return serialize_layer(model)
    try:
        with writing_keras2():
            document = serialize_layer(model)
        return {**keras2_document(document, implicit_masks(model)), "keras_version": KERAS2_VERSION}
    except UnsupportedError as exc:
        if keras_version == 2:
            raise
        warnings.warn(f"model '{getattr(model, 'name', '?')}' came from a Keras 2 file but is "
                      f"written in Keras 3's dialect, which tf-keras cannot read: {exc}",
                      stacklevel=2)
        return serialize_layer(model)


def source_keras_version(model) -> int:
    """2 for a model read from a Keras 2 (tf-keras) document, else 3."""
    return 2 if getattr(model, "_source_keras_version", 3) == 2 else 3


def model_from_config(document: dict, source: str = "config", custom_objects: dict | None = None):
    """Rebuild a model (or layer) from a Keras 3 or Keras 2 document dict. `custom_objects`
    maps names of the user's own activations and layers (see modelio/graph/custom_objects.py)."""
    if custom_objects is not None:
        with custom_object_scope(custom_objects):
            return model_from_config(document, source)
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: a model config must be a mapping, got {type(document).__name__}")
    _check_structure(document, source)
    try:
        keras2 = is_keras2_document(document)
        with keras2_semantics(keras2):
            model = deserialize_layer(document)
        if keras2:
            model._source_keras_version = 2
        return model
    except RecursionError as exc:  # only nesting of models recurses; refuse absurd nesting
        raise ConfigError(f"{source}: models are nested too deeply") from exc


def model_to_json(model, keras_version: int | None = 3, **kwargs) -> str:
    """`model_to_config` as JSON text; `kwargs` go to `json.dumps`."""
    return json.dumps(model_to_config(model, keras_version), **kwargs)


def model_from_json(text: str | bytes, source: str = "JSON", custom_objects: dict | None = None):
    """Rebuild a model from the JSON text that `model.to_json()` (Keras 2 or 3) wrote."""
    return model_from_config(config_from_json(text, source), source, custom_objects)


def _check_text(text, source: str) -> None:
    if not isinstance(text, (str, bytes, bytearray)):
        raise FormatError(f"{source}: expected text, got {type(text).__name__}")


def _check_size(text: str | bytes, limit: int, language: str, source: str) -> None:
    if len(text) > limit:
        raise FormatError(f"{source}: {len(text):,} characters of {language}, more than the "
                          f"{limit:,} modelio reads for a model config")


def config_from_json(text: str | bytes, source: str = "JSON") -> Any:
    """The document in JSON `text`, after checking its size and the number of values it holds
    (`source` names the text in errors)."""
    _check_text(text, source)
    _check_size(text, MAX_JSON_BYTES, "JSON", source)
    _check_json_node_bound(text, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:  # Python's parser guards its own recursion
        raise FormatError(f"{source}: not valid JSON: it nests deeper than the parser allows (more "
                          f"than {MAX_NESTING} levels is refused)") from exc
    except (ValueError, TypeError) as exc:  # e.g. bytes that are not UTF-8
        raise FormatError(f"{source}: not valid JSON ({_one_line(str(exc))})") from exc


def _check_json_node_bound(text: str | bytes, source: str) -> None:
    """Refuse JSON that may hold more than MAX_JSON_NODES values and keys, before parsing it.

    A container of k values has k - 1 commas and each key one colon, so 1 + commas + colons +
    opening brackets bounds the count from above (punctuation inside strings only raises it). The
    counts are C loops over the text: no parse, no allocation."""
    marks = (",", ":", "[", "{") if isinstance(text, str) else (b",", b":", b"[", b"{")
    bound = 1 + sum(text.count(mark) for mark in marks)
    if bound > MAX_JSON_NODES:
        raise FormatError(f"{source}: the JSON may hold up to {bound:,} values and keys, more than "
                          f"the {MAX_JSON_NODES:,} modelio reads (a 1000-layer model has about "
                          f"100,000)")


class _PlainYamlDumper(yaml.SafeDumper):
    """Writes repeated objects out in full: no anchors or aliases, which the reader refuses."""

    def ignore_aliases(self, data) -> bool:
        return True


def model_to_yaml(model, keras_version: int | None = 3) -> str:
    """`model_to_config` as YAML text."""
    return yaml.dump(model_to_config(model, keras_version), Dumper=_PlainYamlDumper,
                     sort_keys=False)


def model_from_yaml(text: str | bytes, source: str = "YAML", custom_objects: dict | None = None):
    """Rebuild a model from YAML (the same document as JSON). Only plain YAML is read: Python
    tags and aliases are refused, so reading a file never runs or expands anything."""
    return model_from_config(config_from_yaml(text, source), source, custom_objects)


_YamlBase = yaml.CSafeLoader if YAML_HAS_C_LOADER else yaml.SafeLoader
# Explicit tags allowed: the JSON types (and "!", which means "no tag"); any other tag, Python's
# above all, is refused before anything is composed.
_PLAIN_TAGS = frozenset({"!", *(f"tag:yaml.org,2002:{name}"
                                for name in ("str", "int", "float", "bool", "null", "seq", "map"))})
# What SafeConstructor raises on values it cannot build (`2001-13-45`, `!!int abc`, `!!bool x`).
_YAML_VALUE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
_COLLECTION_END_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def config_from_yaml(text: str | bytes, source: str = "YAML") -> Any:
    """The document in YAML `text`, read with a safe loader (libyaml's when installed) after a
    pre-scan of its events bounds its size, node count, nesting and scalar length and refuses
    anchors, aliases and tags other than the plain YAML ones (`source` names the text in errors)."""
    _check_text(text, source)
    _check_size(text, MAX_YAML_BYTES, "YAML", source)
    try:
        _check_yaml_events(text, source)
        loader = _YamlBase(text)  # a SafeLoader: plain YAML types only
        try:
            return loader.get_single_data()
        except _YAML_VALUE_ERRORS as exc:
            raise FormatError(f"{source}: not valid YAML (a value cannot be read: "
                              f"{_one_line(str(exc))})") from exc
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        place = _yaml_place(source, exc.problem_mark or exc.context_mark)
        if "maximum nesting depth" in str(exc.problem):  # libyaml >= 0.2.5 scans ahead of us
            raise FormatError(f"{place}: the YAML nests deeper than {MAX_NESTING} levels") from exc
        problem = ": ".join(part for part in (exc.context, exc.problem) if part)
        raise FormatError(f"{place}: not valid YAML ({_one_line(problem)})") from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise FormatError(f"{source}: not valid YAML ({_one_line(str(exc))})") from exc


def _check_yaml_events(text: str | bytes, source: str) -> None:
    """Walk the YAML event stream once, without composing it, and refuse what the loader must
    never see: more than MAX_YAML_NODES nodes, nesting deeper than MAX_NESTING (libyaml's C
    composer recurses without a guard: 100,000 levels crash the process), scalars longer than
    MAX_STRING_CHARS, anchors, aliases and tags that are not plain YAML. libyaml's parser is a
    state machine and only looks ahead within one simple key (1024 characters), so stopping at the
    first excess also keeps its per-level work (quadratic in the depth of flow mappings) small."""
    parser = _YamlBase(text)
    nodes = depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _COLLECTION_END_EVENTS):
                depth -= 1
            elif isinstance(event, _NODE_EVENTS):
                nodes += 1
                depth += not isinstance(event, yaml.ScalarEvent)
                refusal = _yaml_node_refusal(event, nodes, depth)
                if refusal is not None:
                    error_type, message = refusal
                    raise error_type(f"{_yaml_place(source, event.start_mark)}: {message}")
    finally:
        parser.dispose()


def _yaml_node_refusal(event, nodes: int, depth: int) -> tuple[type, str] | None:
    """The error type and message refusing the node `event` (the `nodes`-th, `depth` collections
    deep), or None when it may be loaded."""
    plain_only = "modelio reads plain YAML only"
    if isinstance(event, yaml.AliasEvent):
        return UnsafeContentError, (f"YAML anchors and aliases are not allowed (alias "
                                    f"*{_clip(event.anchor)}; {plain_only})")
    if event.anchor is not None:
        return UnsafeContentError, (f"YAML anchors and aliases are not allowed (anchor "
                                    f"&{_clip(event.anchor)}; {plain_only})")
    if event.tag is not None and event.tag not in _PLAIN_TAGS:
        return UnsafeContentError, (f"refusing YAML tag {_clip(event.tag)}; {plain_only} and never "
                                    f"constructs Python objects")
    if nodes > MAX_YAML_NODES:
        return FormatError, (f"more than {MAX_YAML_NODES:,} YAML nodes (values and keys), the most "
                             f"modelio reads (a 1000-layer model has about 100,000)")
    if depth > MAX_NESTING:
        return FormatError, f"the YAML nests deeper than {MAX_NESTING} levels"
    if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_STRING_CHARS:
        return FormatError, (f"a scalar of {len(event.value):,} characters, more than the "
                             f"{MAX_STRING_CHARS:,} allowed")
    return None


def _yaml_place(source: str, mark) -> str:
    """`source:line:column` (1-based) for a PyYAML mark, or `source` when there is none."""
    if mark is None:
        return source
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, length: int = 80) -> str:
    """`text` cut to `length` characters, for quoting a piece of a file in a message."""
    return text if len(text) <= length else text[:length] + "..."


def is_keras2_document(document: dict) -> bool:
    """True when a document was written by Keras 2 (tf.keras / tf-keras / standalone Keras).

    The `keras_version` key decides when present; otherwise the first dialect-specific mark found:
    list-form `inbound_nodes` or `batch_input_shape` (Keras 2) vs dict-form nodes or `batch_shape`
    (Keras 3).
    """
    version = document.get("keras_version")
    if isinstance(version, str) and version:
        return not version.startswith("3")
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            nodes = item.get("inbound_nodes")
            if isinstance(nodes, list) and nodes:
                return isinstance(nodes[0], list)
            if "batch_input_shape" in item:
                return True
            if "batch_shape" in item:
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _check_structure(document, source: str) -> None:
    """Refuse a document nesting deeper than MAX_NESTING or holding a string (key or value)
    longer than MAX_STRING_CHARS. The walk keeps one iterator per open container, so its memory
    follows the depth, not the size."""
    open_containers = [_members(document)]
    while open_containers:
        item = next(open_containers[-1], _END)
        if item is _END:
            open_containers.pop()
        elif isinstance(item, str):
            if len(item) > MAX_STRING_CHARS:
                raise ConfigError(f"{source}: a string of {len(item):,} characters ({_clip(item, 40)!r}), "
                                  f"more than the {MAX_STRING_CHARS:,} allowed")
        elif isinstance(item, (dict, list, tuple)):
            if len(open_containers) > MAX_NESTING:
                raise ConfigError(f"{source}: the config nests deeper than {MAX_NESTING} levels")
            open_containers.append(_members(item))


_END = object()


def _members(item):
    """An iterator over a container's keys and values (nothing for anything else)."""
    if isinstance(item, dict):
        return itertools.chain.from_iterable(item.items())
    if isinstance(item, (list, tuple)):
        return iter(item)
    return iter(())
