"""Keras activation functions implemented with numpy only.

Every public function takes an array-like ``x`` and returns a numpy array of the
same shape and floating dtype (float32 in -> float32 out). Non-float inputs are
converted to float32, Keras' default ``floatx``. Definitions follow Keras 3.15
(``keras/src/activations/activations.py`` and the backend ``nn`` modules);
functions suffixed ``_keras2`` reproduce tf-keras 2.x where it computes
something different.

Two name -> function tables are provided at the end of the module:
``KERAS3_ACTIVATIONS`` (names ``keras.activations.get`` resolves) and
``KERAS2_ACTIVATIONS`` (names ``tf_keras.activations.get`` resolves). Each value
is a one-argument function that applies the activation with its defaults.
"""

import functools
import math
from collections.abc import Callable

import numpy as np

from .special import erf

Activation = Callable[[np.ndarray], np.ndarray]

# Keras 3 and tf-keras both use these SELU constants (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _as_float(x: np.ndarray) -> np.ndarray:
    """Return ``x`` as a numpy array with a floating dtype (float32 if it had none)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x


def _float_in_float_out(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """Wrap an activation so it receives a float array and returns that same dtype.

    The final cast guards against accidental promotion (e.g. numpy < 2 promotes
    float32 0-d arrays combined with Python floats to float64).
    """

    @functools.wraps(fn)
    def wrapper(x: np.ndarray, *args, **kwargs) -> np.ndarray:
        x = _as_float(x)
        return np.asarray(fn(x, *args, **kwargs)).astype(x.dtype, copy=False)

    return wrapper


# ---------------------------------------------------------------------------
# ReLU family
# ---------------------------------------------------------------------------


def _relu_core(x: np.ndarray, negative_slope: float, max_value: float | None, threshold: float,
               mask_by_multiplying: bool) -> np.ndarray:
    """Shared ReLU algorithm of Keras 3 ``ReLU.static_call`` and tf-keras ``backend.relu``.

    The dialects only differ in how values at/below a non-zero threshold are
    zeroed: Keras 3 uses ``where`` while tf-keras multiplies by the mask (which
    turns -inf into NaN and negative values into -0.0).
    """
    negative_part = None
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return leaky_relu(x, negative_slope=negative_slope)
        negative_part = np.maximum(threshold - x, 0)
    clip_max = max_value is not None
    if threshold != 0:
        above = x > np.asarray(threshold, x.dtype)
        x = x * above.astype(x.dtype) if mask_by_multiplying else np.where(above, x, 0)
    elif max_value == 6:
        x = np.minimum(np.maximum(x, 0), 6)
        clip_max = False
    else:
        x = np.maximum(x, 0)
    if clip_max:
        x = np.clip(x, 0, np.asarray(max_value, x.dtype))
    if negative_part is not None:
        x = x - np.asarray(negative_slope, x.dtype) * negative_part
    return x


@_float_in_float_out
def relu(x: np.ndarray, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> np.ndarray:
    """Keras 3 ReLU: ``x`` above ``threshold`` (capped at ``max_value``),
    ``negative_slope * (x - threshold)`` below it."""
    return _relu_core(x, negative_slope, max_value, threshold, mask_by_multiplying=False)


@_float_in_float_out
def relu_keras2(x: np.ndarray, alpha: float = 0.0, max_value: float | None = None,
                threshold: float = 0.0) -> np.ndarray:
    """tf-keras ReLU: same as :func:`relu` but the slope is called ``alpha`` and
    thresholding multiplies by the mask (``-inf`` below threshold gives NaN)."""
    return _relu_core(x, alpha, max_value, threshold, mask_by_multiplying=True)


@_float_in_float_out
def leaky_relu(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    # Piecewise form (torch/TF backends); the numpy backend's max(x, s*x) only
    # agrees with it for 0 <= s <= 1.
    return np.where(x >= 0, x, np.asarray(negative_slope, x.dtype) * x)


@_float_in_float_out
def relu6(x: np.ndarray) -> np.ndarray:
    """``min(max(x, 0), 6)``."""
    return np.minimum(np.maximum(x, 0), 6)


@_float_in_float_out
def thresholded_relu_keras2(x: np.ndarray, theta: float = 1.0) -> np.ndarray:
    """tf-keras ``ThresholdedReLU`` layer: ``x * (x > theta)``."""
    return x * (x > np.asarray(theta, x.dtype)).astype(x.dtype)


# ---------------------------------------------------------------------------
# Exponential-linear family
# ---------------------------------------------------------------------------


@_float_in_float_out
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``x`` for ``x >= 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    # expm1 only sees non-positive values so large x cannot overflow.
    negative = np.asarray(alpha, x.dtype) * np.expm1(np.minimum(x, 0))
    return np.where(x >= 0, x, negative)


@_float_in_float_out
def selu(x: np.ndarray) -> np.ndarray:
    """``scale * elu(x, alpha)`` with the fixed SELU constants."""
    return np.asarray(SELU_SCALE, x.dtype) * elu(x, SELU_ALPHA)


@_float_in_float_out
def celu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``."""
    alpha = np.asarray(alpha, x.dtype)
    return np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha)


@_float_in_float_out
def exponential(x: np.ndarray) -> np.ndarray:
    """``exp(x)``; overflows to ``inf`` exactly like Keras, without a warning."""
    with np.errstate(over="ignore"):
        return np.exp(x)


# ---------------------------------------------------------------------------
# Sigmoid family
# ---------------------------------------------------------------------------


@_float_in_float_out
def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, evaluated without overflow for any ``x``."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


@_float_in_float_out
def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))``, evaluated as ``max(x, 0) + log1p(exp(-|x|))``."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


@_float_in_float_out
def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(-x)


@_float_in_float_out
def silu(x: np.ndarray) -> np.ndarray:
    """Swish / SiLU: ``x * sigmoid(x)``."""
    return x * sigmoid(x)


@_float_in_float_out
def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3 hard sigmoid: ``clip(x / 6 + 0.5, 0, 1)`` (``relu6(x + 3) / 6``)."""
    return np.clip(x / np.asarray(6, x.dtype) + np.asarray(0.5, x.dtype), 0, 1)


@_float_in_float_out
def hard_sigmoid_keras2(x: np.ndarray) -> np.ndarray:
    """tf-keras hard sigmoid: ``clip(0.2 * x + 0.5, 0, 1)`` (saturates at |x| = 2.5)."""
    return np.clip(np.asarray(0.2, x.dtype) * x + np.asarray(0.5, x.dtype), 0, 1)


@_float_in_float_out
def hard_silu(x: np.ndarray) -> np.ndarray:
    """Hard swish: ``x * hard_sigmoid(x)`` (Keras 3 hard sigmoid)."""
    return x * hard_sigmoid(x)


@_float_in_float_out
def sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` in between."""
    return np.where(x <= -1, 0, np.where(x >= 1, 1, np.asarray(0.5, x.dtype) * (x + 1)))


# ---------------------------------------------------------------------------
# Smooth ReLU-likes
# ---------------------------------------------------------------------------


@_float_in_float_out
def gelu(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """Gaussian error linear unit.

    Exact: ``x * (1 + erf(x / sqrt(2))) / 2``. Approximate:
    ``x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))) / 2``.
    """
    if approximate:
        inner = np.asarray(math.sqrt(2 / math.pi), x.dtype) * (
            x + np.asarray(0.044715, x.dtype) * x**3
        )
        return x * (np.asarray(0.5, x.dtype) * (1 + np.tanh(inner)))
    return x * (erf(x / np.asarray(math.sqrt(2), x.dtype)) + 1) / 2


@_float_in_float_out
def mish(x: np.ndarray) -> np.ndarray:
    """``x * tanh(softplus(x))``."""
    return x * np.tanh(softplus(x))


@_float_in_float_out
def softsign(x: np.ndarray) -> np.ndarray:
    """``x / (1 + |x|)``."""
    return x / (1 + np.abs(x))


@_float_in_float_out
def squareplus(x: np.ndarray, b: float = 4) -> np.ndarray:
    """``(x + sqrt(x**2 + b)) / 2``."""
    return (x + np.sqrt(x * x + np.asarray(b, x.dtype))) / 2


@_float_in_float_out
def sparse_plus(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` in between."""
    return np.where(x <= -1, 0, np.where(x < 1, np.asarray(0.25, x.dtype) * (x + 1) ** 2, x))


# ---------------------------------------------------------------------------
# Tanh, shrinkage and clipping
# ---------------------------------------------------------------------------


@_float_in_float_out
def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(x)


@_float_in_float_out
def tanh_shrink(x: np.ndarray) -> np.ndarray:
    """``x - tanh(x)``."""
    return x - np.tanh(x)


@_float_in_float_out
def hard_tanh(x: np.ndarray) -> np.ndarray:
    """``clip(x, -1, 1)``."""
    return np.clip(x, -1, 1)


@_float_in_float_out
def soft_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    t = np.asarray(threshold, x.dtype)
    return np.where(x > t, x - t, np.where(x < -t, x + t, 0))


@_float_in_float_out
def hard_shrink(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``x`` where ``|x| > threshold``, else 0."""
    return np.where(np.abs(x) > np.asarray(threshold, x.dtype), x, 0)


@_float_in_float_out
def threshold(x: np.ndarray, threshold: float, default_value: float) -> np.ndarray:
    """``x`` where ``x > threshold``, else ``default_value`` (both arguments required)."""
    return np.where(x > threshold, x, np.asarray(default_value, x.dtype))


@_float_in_float_out
def linear(x: np.ndarray) -> np.ndarray:
    """Identity."""
    return x


# ---------------------------------------------------------------------------
# Normalising activations (operate along an axis)
# ---------------------------------------------------------------------------

Axis = int | tuple[int, ...] | None


@_float_in_float_out
def softmax(x: np.ndarray, axis: Axis = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis`` (int, tuple, or None for all axes)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@_float_in_float_out
def softmax_keras2(x: np.ndarray, axis: Axis = -1) -> np.ndarray:
    """tf-keras softmax: identical values, but rejects inputs of rank <= 1."""
    if x.ndim <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received shape: {x.shape}")
    return softmax(x, axis=axis)


@_float_in_float_out
def log_softmax(x: np.ndarray, axis: Axis = -1) -> np.ndarray:
    """``x - logsumexp(x)`` along ``axis``."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@_float_in_float_out
def glu(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gated linear unit: split ``x`` in halves ``a, b`` along ``axis``; return ``a * sigmoid(b)``."""
    if x.shape[axis] % 2 != 0:
        raise ValueError(
            f"axis size must be divisible by 2. Received: x.shape={x.shape} with axis={axis}"
        )
    a, b = np.split(x, 2, axis=axis)
    return a * sigmoid(b)


@_float_in_float_out
def sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sparsemax (Martins & Astudillo, 2016): Euclidean projection of ``x`` onto
    the probability simplex along ``axis``; ``max(x - tau, 0)``."""
    sorted_desc = -np.sort(-x, axis=axis)
    cumsum = np.cumsum(sorted_desc, axis=axis)
    rank_shape = [1] * x.ndim
    rank_shape[axis] = -1
    rank = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(rank_shape)
    in_support = sorted_desc - (cumsum - 1) / rank > 0
    support_size = np.sum(in_support, axis=axis, keepdims=True).astype(x.dtype)
    support_sum = np.sum(np.where(in_support, cumsum, 0), axis=axis, keepdims=True)
    # The cumsum at the last support index equals the support sum; Keras sums the
    # masked cumsum instead, which is what we reproduce.
    tau = (support_sum - 1) / support_size
    return np.maximum(x - tau, 0)


# ---------------------------------------------------------------------------
# Name tables
# ---------------------------------------------------------------------------

KERAS3_ACTIVATIONS: dict[str, Activation] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "relu6": relu6,
    "softmax": softmax,
    "celu": celu,
    "elu": elu,
    "selu": selu,
    "softplus": softplus,
    "softsign": softsign,
    "squareplus": squareplus,
    "soft_shrink": soft_shrink,
    "sparse_plus": sparse_plus,
    "silu": silu,
    "swish": silu,
    "gelu": gelu,
    "glu": glu,
    "tanh": tanh,
    "tanh_shrink": tanh_shrink,
    "sigmoid": sigmoid,
    "sparse_sigmoid": sparse_sigmoid,
    "exponential": exponential,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "hard_tanh": hard_tanh,
    "hard_shrink": hard_shrink,
    "linear": linear,
    "mish": mish,
    "log_softmax": log_softmax,
    "log_sigmoid": log_sigmoid,
    "sparsemax": sparsemax,
}
"""Keras 3 ``activations.get`` names -> unary functions.

``"threshold"`` also resolves in Keras 3, but its function has two required
arguments, so a one-argument call fails in Keras too; it is deliberately absent
(use :func:`threshold` directly).
"""

KERAS2_ACTIVATIONS: dict[str, Activation] = {
    "relu": relu_keras2,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "softmax": softmax_keras2,
    "log_softmax": log_softmax,
    "softplus": softplus,
    "softsign": softsign,
    "swish": silu,
    "silu": silu,
    "gelu": gelu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "exponential": exponential,
    "hard_sigmoid": hard_sigmoid_keras2,
    "linear": linear,
    "mish": mish,
    # tf-keras also resolves activation *layer* class names, instantiating the
    # layer with its default arguments.
    "ReLU": relu_keras2,
    "LeakyReLU": functools.partial(relu_keras2, alpha=0.3),
    "ELU": elu,
    "Softmax": softmax_keras2,
    "ThresholdedReLU": thresholded_relu_keras2,
}
"""tf-keras 2.x ``activations.get`` names -> unary functions.

``"PReLU"`` also resolves (to a freshly built layer with trainable weights) and
is left to layer-level code.
"""

MODELIO_ACTIVATIONS: dict[str, Activation] = {
    "modelio>hard_sigmoid_keras2": hard_sigmoid_keras2,
}
"""Names modelio writes for Keras 2 meanings whose Keras 3 namesake computes something else
(in Keras's custom-function form, so that no Keras 3 reader swaps in the Keras 3 meaning)."""
