"""ONNX's Range: `start, start + delta, ...` while below `limit` (above it for a negative delta)."""

import numpy as np


def range_length(start, limit, delta) -> int:
    """How many values Range(start, limit, delta) holds (0 when the range is empty); `delta`
    must not be 0."""
    return max(int(np.ceil((limit - start) / delta)), 0)


def range_values(start, limit, delta) -> np.ndarray:
    """Range(start, limit, delta) in the scalars' common dtype; `delta` must not be 0 (callers
    check it, and the length, with their own errors)."""
    dtype = np.result_type(start, limit, delta)
    return (start + np.arange(range_length(start, limit, delta), dtype=dtype) * delta).astype(dtype)
