"""Kernels computed from a formula, for fixtures of real architectures too big to commit with
their weights: the fixture tool sets these kernels in Keras (and stores the small vectors, such
as biases and BatchNormalization statistics, in the fixture), records Keras's outputs, and the
test sets the same values in modelio. Closed-form (no random generator), so any numpy gives the
same arrays."""

import numpy as np


def _uniform(size: int, stream: int) -> np.ndarray:
    """`size` numbers uniform in [-1, 1) from splitmix64 of (position, stream): exact integer
    arithmetic, so every platform and numpy version gives the same values, and unlike a sine
    wave (whose reshapes are rank 2) the kernels are full rank."""
    offset = np.uint64((stream * 0x9E3779B97F4A7C15) % (1 << 64))
    state = np.arange(size, dtype=np.uint64) + offset
    state = state * np.uint64(0xD1B54A32D192ED03) + np.uint64(0x9E3779B97F4A7C15)
    state = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    state = (state ^ (state >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    state = state ^ (state >> np.uint64(31))
    return (state >> np.uint64(40)).astype(np.float64) / float(1 << 23) - 1.0


def formula_kernel(shape, index: int) -> np.ndarray:
    """A deterministic float32 kernel of `shape` (rank 2 or more) for a model's `index`-th weight:
    uniform values scaled by sqrt(3 / fan-in), so unit-variance inputs give unit-variance outputs.
    A depthwise kernel `(kh, kw, channels, 1)` has fan-in kh * kw."""
    shape = tuple(int(size) for size in shape)
    depthwise = len(shape) == 4 and shape[-1] == 1
    fan_in = int(np.prod(shape[:2] if depthwise else shape[:-1]))
    values = _uniform(int(np.prod(shape)), index) * np.sqrt(3.0 / fan_in)
    return values.reshape(shape).astype(np.float32)


def is_formula_weight(shape) -> bool:
    """Whether a weight of `shape` comes from `formula_kernel` (else the fixture stores it)."""
    return len(tuple(shape)) >= 2


def weight_key(layer_name: str, index: int) -> str:
    """The fixture key of a layer's `index`-th weight: `weight:<name>:<index>`, with "/" in the
    name written "_" (modelio renames tf-keras's "Conv/BatchNorm" so, since Keras 3 refuses it)."""
    return f"weight:{layer_name.replace('/', '_')}:{index}"


def set_fixture_weights(model, stored: dict) -> None:
    """Give `model` the fixture's weights: the n-th kernel (in `weight_keys` order) from
    `formula_kernel(shape, n)`, every other weight from `stored["weight:<layer name>:<i>"]`."""
    count = 0
    for layer in model.layers:
        values = []
        for index, value in enumerate(layer.get_weights()):
            if is_formula_weight(value.shape):
                values.append(formula_kernel(value.shape, count))
            else:
                values.append(stored[weight_key(layer.name, index)])
            count += 1
        if values:
            layer.set_weights(values)
