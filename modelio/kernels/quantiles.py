"""Quantiles that skip NaNs, computed as torch's nanquantile does (numpy only)."""

import numpy as np

__all__ = ["METHODS", "lerp", "nan_quantile"]

METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def lerp(start, end, weight):
    """torch's lerp: from `start` below a weight of 0.5, from `end` above."""
    return np.where(weight < 0.5, start + weight * (end - start),
                    end - (end - start) * (1 - weight))


def nan_quantile(values: np.ndarray, q: np.ndarray, method: str) -> np.ndarray:
    """The `q` quantiles (a scalar or a vector, in values' float dtype) of the last axis of
    `values`, NaNs skipped (all NaN: NaN): a result of shape q.shape + values.shape[:-1].

    The rank `q * (count - 1)` is rounded as `method` says ("nearest": half to even) and the
    sorted values at its floor and ceiling are interpolated for "linear" and "midpoint"."""
    dtype = values.dtype
    ordered = np.sort(values, axis=-1)  # NaNs last
    count = np.sum(~np.isnan(values), axis=-1, keepdims=True)
    q = np.asarray(q, dtype)
    q_axes = q.reshape(q.shape + (1,) * values.ndim)
    ranks = np.maximum(q_axes * (count - 1).astype(dtype), 0).astype(dtype)
    if method == "lower":
        ranks = np.floor(ranks)
    elif method == "higher":
        ranks = np.ceil(ranks)
    elif method == "nearest":
        ranks = np.round(ranks)
    target = q.shape + ordered.shape[:-1] + (1,)
    ordered = np.broadcast_to(ordered, q.shape + ordered.shape)
    below_index = ranks.astype(np.int64)
    below = np.take_along_axis(ordered, np.broadcast_to(below_index, target), axis=-1)
    if method in ("linear", "midpoint"):
        weight = np.asarray(0.5, dtype) if method == "midpoint" else \
            (ranks - below_index).astype(dtype)
        above = np.take_along_axis(ordered, np.broadcast_to(np.ceil(ranks).astype(np.int64),
                                                            target), axis=-1)
        with np.errstate(invalid="ignore"):
            below = lerp(below, above, weight).astype(dtype)
    return below[..., 0]
