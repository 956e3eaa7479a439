"""Weight initializers, by Keras name or serialized config. Values only matter for models built
in modelio without loaded weights. A serialized initializer is checked against the Keras
initializers modelio knows (graph/serialized.py) and written back in the form Keras 3 writes."""

import math

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph.serialized import INITIALIZER, check_object, refuse_module_path

_VARIANCE_SCALING_PRESETS = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"), "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"), "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"), "LecunNormal": (1.0, "fan_in", "truncated_normal"),
}
_DEFAULT_CONFIGS = {
    "Zeros": {}, "Ones": {}, "Constant": {"value": 0.0},
    "RandomNormal": {"seed": None, "mean": 0.0, "stddev": 0.05},
    "RandomUniform": {"seed": None, "minval": -0.05, "maxval": 0.05},
    "TruncatedNormal": {"seed": None, "mean": 0.0, "stddev": 0.05},
    "VarianceScaling": {"seed": None, "input_axes": None, "output_axes": None, "scale": 1.0,
                        "mode": "fan_in", "distribution": "truncated_normal"},
    "Orthogonal": {"seed": None, "gain": 1.0}, "Identity": {"gain": 1.0},
    **{preset: {"seed": None, "input_axes": None, "output_axes": None}
       for preset in _VARIANCE_SCALING_PRESETS},
}
_UNSEEDED = np.random.default_rng()


def serialize_initializer(identifier, argument: str = "initializer", layer=None) -> dict:
    """The config Keras 3 writes for an initializer given by name or serialized config.

    A serialized config is checked (see `graph.serialized.check_object`): an initializer
    outside Keras's own, a foreign module or an unexpected config key or value is an
    UnsafeContentError naming `layer` and `argument`. An unknown name is an UnsupportedError.
    """
    where = f"layer '{layer.name}' ({type(layer).__name__}): " if layer is not None else ""
    if isinstance(identifier, dict):
        return check_object(identifier, INITIALIZER, f"{where}{argument}")
    if not isinstance(identifier, str):
        raise ConfigError(f"{where}{argument} must be an initializer name or config, "
                          f"got {identifier!r}")
    refuse_module_path(identifier, "initializer", f"{where}{argument}")
    class_name = INITIALIZER.class_for(identifier)
    if class_name is None:
        raise UnsupportedError(f"{where}{argument}: unknown initializer {identifier[:60]!r}")
    return {"module": "keras.initializers", "class_name": class_name,
            "config": dict(_DEFAULT_CONFIGS[class_name]), "registered_name": None}


def get_initializer(identifier):
    """A function `(shape, dtype) -> array` for an initializer name or serialized config."""
    config = serialize_initializer(identifier)
    class_name = config["class_name"]
    arguments = config["config"]
    rng = _generator(arguments.get("seed"))
    if class_name == "Zeros":
        return lambda shape, dtype: np.zeros(shape, dtype)
    if class_name == "Ones":
        return lambda shape, dtype: np.ones(shape, dtype)
    if class_name == "Constant":
        value = arguments.get("value", 0.0)
        return lambda shape, dtype: np.full(shape, value, dtype)
    if class_name == "RandomNormal":
        mean, stddev = arguments.get("mean", 0.0), arguments.get("stddev", 0.05)
        return lambda shape, dtype: rng.normal(mean, stddev, shape).astype(dtype)
    if class_name == "RandomUniform":
        low, high = arguments.get("minval", -0.05), arguments.get("maxval", 0.05)
        return lambda shape, dtype: rng.uniform(low, high, shape).astype(dtype)
    if class_name == "TruncatedNormal":
        mean, stddev = arguments.get("mean", 0.0), arguments.get("stddev", 0.05)
        return lambda shape, dtype: (mean + stddev * _truncated_normal(rng, shape)).astype(dtype)
    if class_name in _VARIANCE_SCALING_PRESETS or class_name == "VarianceScaling":
        scale, mode, distribution = _VARIANCE_SCALING_PRESETS.get(class_name, (
            arguments.get("scale", 1.0), arguments.get("mode", "fan_in"),
            arguments.get("distribution", "truncated_normal")))
        return lambda shape, dtype: _variance_scaling(rng, shape, scale, mode, distribution).astype(dtype)
    if class_name == "Orthogonal":
        gain = arguments.get("gain", 1.0)
        return lambda shape, dtype: (gain * _orthogonal(rng, shape)).astype(dtype)
    if class_name == "Identity":
        gain = arguments.get("gain", 1.0)
        return lambda shape, dtype: (gain * np.eye(*shape)).astype(dtype)
    raise UnsupportedError(f"unknown initializer {class_name!r}")


def _generator(seed) -> np.random.Generator:
    """A generator for an integer seed, or for a serialized SeedGenerator's; else unseeded."""
    if isinstance(seed, dict):
        seed = seed["config"].get("seed")
    return np.random.default_rng(seed) if isinstance(seed, int) else _UNSEEDED


def _fans(shape) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _variance_scaling(rng, shape, scale, mode, distribution):
    fan_in, fan_out = _fans(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
    variance = scale / max(1.0, fan)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape)
    if distribution == "untruncated_normal":
        return rng.normal(0.0, math.sqrt(variance), shape)
    return math.sqrt(variance) / 0.87962566103423978 * _truncated_normal(rng, shape)


def _truncated_normal(rng, shape):
    values = rng.normal(size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    return values


def _orthogonal(rng, shape):
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    cols = shape[-1] if shape else 1
    matrix = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(matrix)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


def set_weight_arguments(layer, **arguments) -> None:
    """Set each `<weight>_initializer` / `_regularizer` / `_constraint` (and
    `activity_regularizer`) argument on `layer`, checked and in the form Keras 3 writes it back:
    initializers through `serialize_initializer`, the rest through `check_serialized`."""
    from .arguments import check_serialized

    for argument, value in arguments.items():
        if argument.endswith("_initializer"):
            setattr(layer, argument, serialize_initializer(value, argument, layer))
        else:
            setattr(layer, argument, check_serialized(value, argument, type(layer), layer.name))
