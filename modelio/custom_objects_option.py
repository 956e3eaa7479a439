"""`modelio --custom-objects MODULE:NAME`: the user's own Python code, named on the command line,
giving the `custom_objects` of every model the command loads (see
modelio/graph/custom_objects.py). Never anything a model file names."""

import contextlib
import importlib
import inspect
import os
import sys

from .errors import ConfigError

CUSTOM_OBJECTS_HELP = (
    "your Python code for names the model file uses (custom activations, custom layers): "
    "MODULE:NAME imports MODULE (the current folder is searched first) and takes NAME, a dict "
    "like Keras's custom_objects (name -> function of modelio layers/ops, modelio.Layer "
    "subclass, activation name or (name, {arguments})), or one such function or class, mapped "
    "by its __name__; repeat for several")


def import_custom_objects(specs: list[str]) -> dict | None:
    """The mapping the `--custom-objects` options give (None without any)."""
    if not specs:
        return None
    objects: dict = {}
    for spec in specs:
        module_name, _, attribute = spec.partition(":")
        if not module_name or not attribute:
            raise ConfigError(f"--custom-objects {spec!r}: expected MODULE:NAME (e.g. "
                              f"my_objects:CUSTOM_OBJECTS)")
        module = _import(module_name, spec)
        value = module
        for part in attribute.split("."):
            if not hasattr(value, part):
                raise ConfigError(f"--custom-objects {spec!r}: module {module_name!r} has no "
                                  f"{attribute!r}")
            value = getattr(value, part)
        if isinstance(value, dict):
            objects.update(value)
        elif inspect.isclass(value) or inspect.isfunction(value):
            objects[value.__name__] = value
        else:
            raise ConfigError(f"--custom-objects {spec!r}: expected a dict, a function or a class, "
                              f"got {type(value).__name__}")
    return objects


def _import(module_name: str, spec: str):
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # the user's module: report whatever stops it, in one line
        raise ConfigError(f"--custom-objects {spec!r}: cannot import {module_name!r} "
                          f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(os.getcwd())
