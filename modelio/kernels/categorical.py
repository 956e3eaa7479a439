"""Categorical encodings of integer indices, as Keras's `encode_categorical_inputs` computes them
(keras/src/utils/numerical_utils.py): "int" (a cast), "one_hot", "multi_hot" and "count".

Indices outside [0, depth) add nothing (a row of zeros for one_hot), as TensorFlow's one_hot and
bincount give them; the lookup layers rely on that for their mask value.
"""

import numpy as np

ENCODING_MODES = ("int", "one_hot", "multi_hot", "count")


def encoded_shape(input_shape: tuple, output_mode: str, depth) -> tuple:
    """The output shape of `encode_categorical` for indices of `input_shape`."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return shape[:-1] + (depth,)
        return shape + (depth,)
    return shape[:-1] + (depth,)


def encode_categorical(indices: np.ndarray, output_mode: str, depth: int, dtype,
                       count_weights: np.ndarray | None = None) -> np.ndarray:
    """`indices` (integers) encoded as `output_mode` with `depth` classes in `dtype`.
    multi_hot and count take indices of rank 0 to 2 (a rank-2 input encodes each row)."""
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices.reshape(indices.shape[:-1])
        return (indices[..., None] == np.arange(depth)).astype(dtype)
    if indices.ndim > 2:
        raise ValueError(f"{output_mode} encoding takes inputs of rank 2 at most, got shape "
                         f"{indices.shape}")
    rows = indices.reshape(1, -1) if indices.ndim == 1 else indices
    count, items = rows.shape
    valid = (rows >= 0) & (rows < depth)
    # one bincount over (row, index) pairs: row r's index i lands in slot r * depth + i
    slots = (np.arange(count)[:, None] * depth + np.where(valid, rows, 0))[valid]
    if count_weights is not None:
        weights = np.broadcast_to(np.asarray(count_weights), rows.shape)
        if output_mode == "count":
            out = np.bincount(slots, weights[valid].astype(np.float64), minlength=count * depth)
            out = out.reshape(count, depth).astype(weights.dtype)
            return out[0] if indices.ndim == 1 else out
    tally = np.bincount(slots, minlength=count * depth).reshape(count, depth)
    if output_mode == "multi_hot":
        tally = tally > 0
    out = tally.astype(dtype)
    return out[0] if indices.ndim == 1 else out
