"""Attention scores: masking them as each Keras does, the causal mask, and the softmax.

How masked scores become probabilities differs between Keras's code paths, named by the MODES:

* KERAS3_FUSED: Keras 3 MultiHeadAttention on (batch, length, features) inputs, without dropout
  and without `return_attention_scores`, runs the fused `dot_product_attention` kernel: masked
  scores get a huge negative bias, so a query whose every key is masked attends *uniformly* to all
  keys;
* KERAS3_SOFTMAX_LAYER: on Keras 3's other path (scores returned, dropout > 0, or inputs of
  rank 4+) the Softmax layer zeroes masked probabilities, so such a query gets all-zero weights;
* KERAS2_ADDITIVE / KERAS2_ROBUST: a model read from a Keras 2 (tf-keras) config keeps tf-keras's
  masked softmax: `-1e9` *added* to masked scores (or substituted, with
  `softmax_robust_masking`), never zeroed.
"""

import numpy as np

__all__ = ["KERAS2_ADDITIVE", "KERAS2_ROBUST", "KERAS3_FUSED", "KERAS3_SOFTMAX_LAYER",
           "as_bool_mask", "causal_mask", "large_negative", "masked_scores", "softmax_last_axis"]

# The MODES: how masked attention scores are turned into probabilities.
KERAS3_SOFTMAX_LAYER = "keras3_softmax_layer"  # where(mask, s, -1e9); softmax; zero masked
KERAS3_FUSED = "keras3_fused"                  # where(mask, s, -0.7 * 3.38953e38); softmax
KERAS2_ADDITIVE = "keras2_additive"            # s + (1 - mask) * -1e9; softmax
KERAS2_ROBUST = "keras2_robust"                # where(mask, s, -1e9); softmax


def large_negative(mode: str, dtype) -> np.ndarray:
    """The value (a 0-d array of `dtype`) that stands for minus infinity for masked scores
    in `mode`, as that Keras path writes it."""
    float16 = np.dtype(dtype) == np.float16
    if mode == KERAS3_SOFTMAX_LAYER:
        value = -3e4 if float16 else -1e9
    elif mode == KERAS3_FUSED:  # keras/src/backend/torch/nn.py: _get_large_negative
        value = (65500.0 if float16 else 3.38953e38) * -0.7
    else:  # tf-keras: tf.float16.min for float16, else -1e9
        value = float(np.finfo(np.float16).min) if float16 else -1e9
    return np.asarray(value, dtype=dtype)


def softmax_last_axis(scores: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis, in place on a fresh float array."""
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def masked_scores(scores: np.ndarray, mask, mode: str) -> np.ndarray:
    """`scores` with masked entries pushed to a large negative value, as `mode` prescribes."""
    if mask is None:
        return scores
    negative = large_negative(mode, scores.dtype)
    if mode == KERAS2_ADDITIVE:
        return scores + (1.0 - mask.astype(scores.dtype)) * negative
    return np.where(mask, scores, negative)


def as_bool_mask(mask):
    """`mask` (None, or anything array-like) as a boolean array, or None."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    return mask if mask.dtype == np.bool_ else mask.astype(bool)


def causal_mask(query_length: int, key_length: int) -> np.ndarray:
    """(1, T, S): query position i may attend to key positions j <= i."""
    return np.tri(query_length, key_length, dtype=bool)[None]
