"""Connectionist temporal classification in numpy: the CTC loss (the forward algorithm in log
space) and greedy (best path) decoding, as Keras 3 computes them.

Shapes: logits (batch, time, classes), labels (batch, max label length), lengths (batch,).
`blank` is a class index in [0, classes).

The loss runs the forward recursion over the extended label sequence (blank, l1, blank, l2,
..., blank) of every sample at once, one step per time frame (a recurrence: the loop is over
time only, vectorized over batch and label positions); a sample stops at its own length. Labels
past a sample's label length are ignored. A label sequence no alignment of the frames can
produce gives an infinite loss, as in PyTorch and TensorFlow.
"""

import numpy as np

__all__ = ["ctc_greedy_decode", "ctc_loss", "empty_alignment", "log_softmax"]


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _logaddexp3(a, b, c):
    top = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isneginf(top), 0.0, top)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe)) + safe


def empty_alignment(positions: int) -> np.ndarray:
    """The forward variables before any frame: only the empty prefix, with probability 1."""
    alpha = np.full(positions, -np.inf)
    alpha[0] = 0.0
    return alpha


def ctc_loss(labels: np.ndarray, logits: np.ndarray, label_lengths: np.ndarray,
             logit_lengths: np.ndarray, blank: int) -> np.ndarray:
    """Per-sample negative log-likelihood of `labels` under the softmax of `logits` (float64)."""
    batch, steps, _ = logits.shape
    label_count = labels.shape[1]
    log_probs = log_softmax(logits.astype(np.float64))
    extended = np.full((batch, 2 * label_count + 1), blank, np.int64)
    extended[:, 1::2] = labels
    positions = extended.shape[1]
    # A step may skip the blank before a label unless that label repeats the previous one.
    skip = np.zeros((batch, positions), bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    emitted = np.take_along_axis(log_probs, np.broadcast_to(extended[:, None, :],
                                                            (batch, steps, positions)), axis=2)
    alpha = np.full((batch, positions), -np.inf)
    if steps:
        alpha[:, 0] = emitted[:, 0, 0]
        if positions > 1:
            alpha[:, 1] = emitted[:, 0, 1]
    alpha[logit_lengths == 0] = empty_alignment(positions)
    none = np.full((batch, 1), -np.inf)
    for step in range(1, steps):
        previous = np.concatenate([none, alpha[:, :-1]], axis=1)
        before = np.where(skip, np.concatenate([none, none, alpha[:, :-2]], axis=1)[:, :positions],
                          -np.inf)
        updated = _logaddexp3(alpha, previous, before) + emitted[:, step]
        alpha = np.where((step < logit_lengths)[:, None], updated, alpha)
    last = 2 * label_lengths.astype(np.int64)
    final = np.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
    before_last = np.where(last > 0, np.take_along_axis(
        alpha, np.maximum(last - 1, 0)[:, None], axis=1)[:, 0], -np.inf)
    with np.errstate(divide="ignore"):
        return -np.logaddexp(final, before_last)


def ctc_greedy_decode(logits: np.ndarray, lengths: np.ndarray, merge_repeated: bool,
                      blank: int) -> tuple[np.ndarray, np.ndarray]:
    """Best-path decoding: `(decoded (1, batch, time) int32, scores (batch, 1))`. Each frame's
    most likely class (the first on ties) within the sample's length; with `merge_repeated` a
    class equal to the previous frame's is dropped; blanks are dropped; the kept classes move
    to the front in order, -1 fills the rest. The score is minus the sum of the frames'
    largest logits."""
    batch, steps, _ = logits.shape
    best = np.argmax(logits, axis=-1)
    top = np.max(logits, axis=-1)
    inside = np.arange(steps)[None, :] < lengths[:, None]
    best = np.where(inside, best, blank)
    scores = -np.sum(np.where(inside, top, 0), axis=1, keepdims=True)
    dropped = best == blank
    if merge_repeated:
        dropped[:, 1:] |= best[:, 1:] == best[:, :-1]
    # Stable compaction: kept frames first, in time order.
    order = np.argsort(np.where(dropped, steps, np.arange(steps)[None, :]), axis=1,
                       kind="stable")
    decoded = np.where(np.take_along_axis(dropped, order, axis=1), -1,
                       np.take_along_axis(best, order, axis=1))
    return decoded[None].astype(np.int32), scores.astype(logits.dtype)
