"""`keras.ops.linalg`'s least squares and factorizations whose results are unique, as Keras 3
graphs record them: `Lstsq`, `LuFactor`, `Qr` and `SVD` of singular values only; each a
registered class with Keras's config.

Factorizations with a free sign are refused: the eigenvectors of `Eigh` and the singular vectors
of `SVD` come out with signs that depend on the LAPACK build (numpy's OpenBLAS and torch's MKL
differ on the same matrix). QR is unique as LAPACK computes it: each Householder reflector makes
R's diagonal entry the opposite sign of the column's leading entry, in every LAPACK.
"""

import numpy as np

from ..errors import UnsupportedError
from ..graph.registry import register_operation
from ..kernels.linalg import lu_factor
from .base import KerasOp, spec_of

__all__ = ["Lstsq", "LuFactor", "Qr", "SVD"]


class _Factorization(KerasOp):
    _keras_module = "keras.src.ops.linalg"

    def matrices(self, x) -> tuple:
        shape, dtype = spec_of(x)
        if len(shape) < 2:
            self.fail(f"needs matrices (rank 2 or more), got shape {tuple(shape)}")
        if np.dtype(dtype).kind != "f":
            self.fail(f"needs a float tensor, got {dtype}")
        return tuple(shape), dtype


@register_operation
class Lstsq(_Factorization):
    """The least-squares solution x of `a @ x = b` (a: (M, N), b: (M,) or (M, K)), of least
    norm; singular values of `a` below `rcond` times the largest count as zero (rcond None:
    the dtype's machine epsilon times max(M, N), torch's default)."""

    ARGUMENTS = {"rcond": None}

    def check(self):
        self.check_number("rcond", allow_none=True)

    def call(self, a, b):
        dtype = self.output_spec(a, b)[1]
        rows, columns = a.shape
        if b.shape[0] != rows:
            self.fail(f"b has {b.shape[0]} rows for a matrix of {rows}")
        rcond = self.arguments["rcond"]
        if rcond is None:
            rcond = np.finfo(dtype).eps * max(rows, columns)
        try:
            solution = np.linalg.lstsq(a.astype(dtype), b.astype(dtype), rcond=rcond)[0]
        except np.linalg.LinAlgError as exc:
            self.fail(f"no least-squares solution ({exc})")
        return solution.astype(dtype)

    def output_spec(self, a, b):
        shape, dtype = self.matrices(a)
        b_shape = spec_of(b)[0]
        if len(shape) != 2 or len(b_shape) not in (1, 2):
            self.fail(f"needs a matrix a and a vector or matrix b, got shapes {shape} and "
                      f"{tuple(b_shape)}")
        if None not in (shape[0], b_shape[0]) and shape[0] != b_shape[0]:
            self.fail(f"b has {b_shape[0]} rows for a matrix of {shape[0]}")
        return (shape[1],) + tuple(b_shape[1:]), dtype


@register_operation
class LuFactor(_Factorization):
    """The LU factorization with partial pivoting of each matrix (M, N): `[lu, pivots]`, L's
    unit-diagonal lower part and U packed in `lu`; `pivots` (min(M, N),) int32 the 0-based row
    each row was swapped with in turn (LAPACK's ipiv, as Keras's torch backend returns; its
    TensorFlow backend returns a permutation)."""

    def call(self, x):
        dtype = self.output_spec(x)[0][1]
        try:
            lu, pivots = lu_factor(x)
        except ZeroDivisionError as exc:
            self.fail(f"a matrix is singular ({exc}); Keras's torch backend refuses it too")
        return [lu.astype(dtype), pivots]

    def output_spec(self, x):
        shape, dtype = self.matrices(x)
        rows, columns = shape[-2:]
        steps = None if None in (rows, columns) else min(rows, columns)
        return [(shape, dtype), (shape[:-2] + (steps,), "int32")]


@register_operation
class Qr(_Factorization):
    """The QR factorization of each matrix (M, N): `[q, r]`, q orthonormal (M, K) and r upper
    triangular (K, N) with K = min(M, N) ("reduced"), or (M, M) and (M, N) ("complete")."""

    ARGUMENTS = {"mode": "reduced"}

    def check(self):
        self.check_choice("mode", ["reduced", "complete"])

    def call(self, x):
        dtype = self.output_spec(x)[0][1]
        try:
            q, r = np.linalg.qr(x, mode=self.arguments["mode"])
        except np.linalg.LinAlgError as exc:
            self.fail(f"the factorization failed ({exc})")
        return [q.astype(dtype), r.astype(dtype)]

    def output_spec(self, x):
        shape, dtype = self.matrices(x)
        rows, columns = shape[-2:]
        if None in (rows, columns):
            self.fail(f"needs known matrix sizes, got {shape}")
        inner = min(rows, columns) if self.arguments["mode"] == "reduced" else rows
        return [(shape[:-2] + (rows, inner), dtype), (shape[:-2] + (inner, columns), dtype)]


@register_operation
class SVD(_Factorization):
    """The singular values of each matrix (M, N), descending (min(M, N),); only with
    compute_uv false (see the module docstring)."""

    ARGUMENTS = {"full_matrices": True, "compute_uv": True}

    def check(self):
        for key in ("full_matrices", "compute_uv"):
            if not isinstance(self.arguments[key], bool):
                self.fail(f"{key} must be true or false, got {self.arguments[key]!r}")
        if self.arguments["compute_uv"]:
            raise UnsupportedError(
                f"{self.label}: singular vectors (compute_uv true) are unique only up to sign "
                f"and their signs depend on the LAPACK build, so modelio cannot reproduce "
                f"Keras's; singular values alone (compute_uv false) are supported")

    def call(self, x):
        dtype = self.output_spec(x)[1]
        try:
            return np.linalg.svd(x, compute_uv=False).astype(dtype)
        except np.linalg.LinAlgError as exc:
            self.fail(f"the decomposition failed ({exc})")

    def output_spec(self, x):
        shape, dtype = self.matrices(x)
        rows, columns = shape[-2:]
        return shape[:-2] + (None if None in (rows, columns) else min(rows, columns),), dtype
