"""Whole-model configs: Keras 3 and Keras 2 dialects, JSON and YAML text.

Text is parsed into plain dicts (YAML with a safe loader that also refuses aliases); the dialect is
detected; the graph core rebuilds the model from the dict with its own layer registry.
"""

import json
from typing import Any

import yaml

from .. import layers as _register_layers  # noqa: F401  (fills the layer registry)
from ..errors import ConfigError, FormatError, UnsafeContentError
from ..graph.dialect import keras2_semantics
from ..graph.serialization import deserialize_layer, serialize_layer

# Documents deeper than this are refused before walking them (a real model nests a few levels).
MAX_NESTING = 200


def model_to_config(model) -> dict:
    """The Keras 3 document for `model` (what `model.to_json()` writes), as a dict."""
    return serialize_layer(model)


def model_from_config(document: dict, source: str = "config"):
    """Rebuild a model (or layer) from a Keras 3 or Keras 2 document dict."""
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: a model config must be a mapping, got {type(document).__name__}")
    _check_depth(document, source)
    try:
        with keras2_semantics(is_keras2_document(document)):
            return deserialize_layer(document)
    except RecursionError as exc:  # only nesting of models recurses; refuse absurd nesting
        raise ConfigError(f"{source}: models are nested too deeply") from exc


def model_to_json(model, **kwargs) -> str:
    return json.dumps(model_to_config(model), **kwargs)


def model_from_json(text: str | bytes, source: str = "JSON"):
    """Rebuild a model from the JSON text that `model.to_json()` (Keras 2 or 3) wrote."""
    return model_from_config(config_from_json(text, source), source)


def _check_text(text, source: str) -> None:
    if not isinstance(text, (str, bytes, bytearray)):
        raise FormatError(f"{source}: expected text, got {type(text).__name__}")


def config_from_json(text: str | bytes, source: str = "JSON") -> Any:
    _check_text(text, source)
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise FormatError(f"{source}: not valid JSON ({exc})") from exc


class _PlainYamlDumper(yaml.SafeDumper):
    """Writes repeated objects out in full: no anchors or aliases, which the reader refuses."""

    def ignore_aliases(self, data) -> bool:
        return True


def model_to_yaml(model) -> str:
    return yaml.dump(model_to_config(model), Dumper=_PlainYamlDumper, sort_keys=False)


def model_from_yaml(text: str | bytes, source: str = "YAML"):
    """Rebuild a model from YAML (the same document as JSON). Only plain YAML is read: Python
    tags and aliases are refused, so reading a file never runs or expands anything."""
    return model_from_config(config_from_yaml(text, source), source)


class _PlainYamlLoader(yaml.SafeLoader):
    """The safe loader, minus anchors/aliases (which can blow a small file up exponentially)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise UnsafeContentError(f"YAML aliases are not allowed (alias at {event.start_mark})")
        return super().compose_node(parent, index)


def config_from_yaml(text: str | bytes, source: str = "YAML") -> Any:
    _check_text(text, source)
    try:
        loader = _PlainYamlLoader(text)  # a SafeLoader: plain YAML types only
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except UnsafeContentError as exc:
        raise UnsafeContentError(f"{source}: {exc}") from exc
    except yaml.constructor.ConstructorError as exc:
        raise UnsafeContentError(
            f"{source}: refusing YAML tag {exc.problem or ''}".strip() +
            "; modelio reads plain YAML only and never constructs Python objects") from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise FormatError(f"{source}: not valid YAML ({exc})") from exc


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


def _check_depth(document, source: str) -> None:
    stack = [(document, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(f"{source}: the config nests deeper than {MAX_NESTING} levels")
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
