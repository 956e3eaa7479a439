"""Normalization statistics: the moments every normalization layer computes over its axes."""

import numpy as np

__all__ = ["BACKEND_EPSILON", "moments"]

# keras.backend.epsilon(): the floor Keras's Normalization puts under the standard deviation, and
# the guard Keras adds to the denominators of masked moments.
BACKEND_EPSILON = 1e-7


def moments(x: np.ndarray, axes: tuple, weights: np.ndarray | None = None,
            guard: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance of float `x` over `axes` (a tuple of axis indices), both kept
    with size-1 axes so that they broadcast against `x`.

    With `weights` (shaped like `x`, e.g. a 0/1 mask), each element counts with its weight and
    both denominators are `sum(weights) + guard`."""
    if weights is None:
        mean = np.mean(x, axis=axes, keepdims=True)
        variance = np.mean(np.square(x - mean), axis=axes, keepdims=True)
        return mean, variance
    total = np.sum(weights, axis=axes, keepdims=True) + guard
    mean = np.sum(x * weights, axis=axes, keepdims=True) / total
    variance = np.sum(np.square(x - mean) * weights, axis=axes, keepdims=True) / total
    return mean, variance
