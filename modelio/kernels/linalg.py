"""Matrix factorizations in numpy that numpy.linalg lacks: LU with partial pivoting, batched."""

import numpy as np

__all__ = ["lu_factor"]


def lu_factor(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LU factorization with partial pivoting of each matrix of the last two axes of `x`.

    Returns `(lu, pivots)` as LAPACK's getrf does: `lu` (..., M, N) holds U on and above the
    diagonal and L's multipliers below it (L's unit diagonal implied); `pivots`
    (..., min(M, N)) int32 the 0-based row swapped with row j at step j. The pivot of a
    column is its first entry of largest magnitude. Computed in float64, all matrices of the
    batch at once (one step per column). Raises ZeroDivisionError naming the step when a
    pivot is exactly zero (a singular matrix).
    """
    work = np.array(x, dtype=np.float64)
    rows, columns = work.shape[-2:]
    steps = min(rows, columns)
    batch = work.shape[:-2]
    pivots = np.zeros(batch + (steps,), dtype=np.int32)
    for step in range(steps):
        pivot_row = np.argmax(np.abs(work[..., step:, step]), axis=-1) + step
        pivots[..., step] = pivot_row
        at_pivot = np.broadcast_to(pivot_row[..., None, None], batch + (1, columns))
        swapped = np.take_along_axis(work, at_pivot, axis=-2)
        np.put_along_axis(work, at_pivot, work[..., step:step + 1, :], axis=-2)
        work[..., step:step + 1, :] = swapped
        pivot = work[..., step, step]
        if np.any(pivot == 0):
            raise ZeroDivisionError(f"U[{step},{step}] is zero")
        work[..., step + 1:, step] /= pivot[..., None]
        work[..., step + 1:, step + 1:] -= (work[..., step + 1:, step, None]
                                            * work[..., step, None, step + 1:])
    return work, pivots
