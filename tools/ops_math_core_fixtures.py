"""Record Keras 3's math, scatter and linear-algebra operations that modelio added after the first
catalogue (CDist, Erfinv, ExtractSequences, Segment*, Scatter, ScatterUpdate, SliceUpdate, Lstsq,
LuFactor, Eigh, Qr, SVD) as tiny functional models into fixtures/keras3/ops_math_core_cases.npz.

Run from the repository root in the Keras 3 environment:

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_math_core_fixtures.py

Notes on what Keras records (keras 3.15.1, torch backend):
* the segment reductions reduce over the batch axis (segment_ids is a vector as long as the
  data's first axis); only a `num_segments` in the config gives a fixed output shape;
* `scatter`'s output has the config's `shape` (no batch axis); duplicate indices add up;
* `slice_update` records its start indices as a call argument: a list of integers, or of
  tensors (scalars computed in the graph);
* `lu_factor`'s pivots are LAPACK's 0-based row interchanges as int32 (the op's symbolic
  dtype says float32; the torch and numpy backends return int32, TensorFlow a permutation);
* `eigh`, `qr`, `svd` outputs are recorded to compare numpy's LAPACK with torch's: eigenvalues,
  singular values and QR agree to float32 rounding; eigenvectors and singular vectors differ in
  sign (numpy's OpenBLAS against torch's MKL, and TensorFlow against both).

The TensorFlow backend, run on these configs and inputs, agrees with the torch outputs wherever it
runs (erfinv within 7.4e-5 in the tails, where TensorFlow's float32 kernel is the less accurate)
and refuses what the torch backend defines: segment ids >= num_segments (torch drops those rows),
`num_segments` together with `sorted=True`, negative scatter indices (torch counts them from the
end), `lu_factor` of non-square matrices. So no TensorFlow outputs are recorded; modelio follows
the torch backend (and the numpy backend, which also drops negative segment ids, counts negative
indices from the end and returns LAPACK's pivots).
"""

import os
import sys

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

from ops_case_fixtures import record_cases, spec  # noqa: E402

OUT = os.path.join(os.path.dirname(TOOLS), "fixtures", "keras3", "ops_math_core_cases.npz")
SEED = 4711


def cases(ops):
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    points = np.linspace(-1.0, 1.0, 20, dtype="float32").reshape(5, 4)
    add("cdist", [spec((3, 4)), spec((5, 4))], lambda x, y: ops.cdist(x, y))
    add("cdist_constant", [spec((2, 3, 4))], lambda x: ops.cdist(x, points))
    add("erfinv", [spec((3, 4), low=-1.0, high=1.0)], lambda x: ops.erfinv(x))
    add("erfinv_tails", [spec((4, 4), low=0.99, high=1.0)],
        lambda x: [ops.erfinv(x), ops.erfinv(-x), ops.erfinv(1.0 - x)])
    add("erfinv_edges", [spec((3, 4), low=-1.5, high=1.5)],
        lambda x: [ops.erfinv(x), ops.erfinv(ops.sign(x)), ops.erfinv(x * 0.0)])
    add("erfinv_float64", [spec((3, 4), "float64", low=-1.0, high=1.0)],
        lambda x: ops.erfinv(x))
    add("extract_sequences", [spec((10,))], lambda x: ops.extract_sequences(x, 4, 2))
    add("extract_sequences_wide_stride", [spec((3, 11))],
        lambda x: ops.extract_sequences(x, 2, 3))
    add("extract_sequences_int", [spec((7,), "int32", -5, 5)],
        lambda x: ops.extract_sequences(x, 3, 1))

    def rows(x, ids):  # 12 rows of data and 12 ids (the batch of 2 flattened)
        return ops.reshape(x, (-1, 2)), ops.reshape(ids, (-1,))

    data_ids = [spec((6, 2)), spec((6,), "int32", -1, 5)]
    for fn in ("sum", "max", "min", "prod"):
        add(f"segment_{fn}", data_ids, lambda x, i, fn=fn: getattr(ops, f"segment_{fn}")(
            *rows(x, i), num_segments=4))
    add("segment_sorted", data_ids, lambda x, i: [
        ops.segment_sum(*rows(x, ops.sort(ops.abs(i), axis=-1)), num_segments=5, sorted=True),
        ops.segment_max(*rows(x, ops.sort(ops.abs(i), axis=-1)), num_segments=5,
                        sorted=True)])
    add("segment_int", [spec((3, 2), "int32", -50, 50), spec((3,), "int32", 0, 5)],
        lambda x, i: [ops.segment_max(*rows(x, i), num_segments=6),
                      ops.segment_sum(*rows(x, i), num_segments=6)])
    add("segment_sum_vector", [spec((3,)), spec((), "int32", 0, 2)],
        lambda x, i: ops.segment_sum(x, i, num_segments=2))
    add("segment_sum_constant_ids", [spec((3, 2))],
        lambda x: ops.segment_sum(x, np.array([1, 1]), num_segments=3))
    add("segment_sum_no_num_segments", data_ids,
        lambda x, i: ops.segment_sum(*rows(x, ops.abs(i))))

    add("scatter", [spec((2,), "int32", 0, 4), spec(())],
        lambda i, v: ops.scatter(i, v, (4, 4)))
    add("scatter_rows", [spec((1,), "int32", 0, 3), spec((4,))],
        lambda i, v: ops.scatter(i, v, (3, 4)))
    add("scatter_nested_indices", [spec((2, 2), "int32", -3, 3), spec((2,))],
        lambda i, v: ops.scatter(i, v, (3, 3)))
    add("scatter_constant_indices", [spec(())],
        lambda v: ops.scatter(np.array([[0, 2], [1, 1]]), v, (2, 3)))
    for reduction in (None, "add", "max", "min", "mul"):
        add(f"scatter_update_{reduction}".lower(), [spec((4,)), spec(())],
            lambda x, u, r=reduction: ops.scatter_update(
                x, np.array([[0, 1], [1, 3]]), u, reduction=r))
    add("scatter_update_duplicates", [spec((4,)), spec(())],
        lambda x, u: [ops.scatter_update(x, np.array([[1, 2], [1, 2]]), u, reduction="add"),
                      ops.scatter_update(x, np.array([[0, 0], [0, 0]]), u, reduction="mul"),
                      ops.scatter_update(x, np.array([[1, -1], [0, -2]]), u),
                      ops.scatter_update(x, np.array([[1, 2], [1, 2]]), u)])
    add("scatter_update_rows", [spec((3, 4)), spec((4,))],
        lambda x, u: ops.scatter_update(x, np.array([[1, 2], [0, 0]]), u))
    add("scatter_update_tensor_indices", [spec((5,)), spec((2,), "int32", 0, 2), spec(())],
        lambda x, i, u: ops.scatter_update(x, i, u, reduction="add"))
    add("slice_update", [spec((5, 4)), spec((2, 3))],
        lambda x, u: ops.slice_update(x, [0, 1, 1], u))
    add("slice_update_constant", [spec((5, 4))],
        lambda x: ops.slice_update(x, [1, 3, 2], np.ones((1, 2, 2), "float32")))
    add("slice_update_tensor_start", [spec((5, 4)), spec((2, 2)), spec((), "int32", 0, 2)],
        lambda x, u, s: ops.slice_update(
            x, [0, ops.cast(ops.max(s), "int32"), ops.cast(ops.min(s) + 1, "int32")], u))
    add("slice_update_vector_start", [spec((5, 4)), spec((2, 2)), spec((3,), "int32", 0, 2)],
        lambda x, u, s: ops.slice_update(x, s[0] * np.array([0, 1, 1], "int32"), u))

    add("lstsq", [spec((3, 3)), spec((3,))],
        lambda a, b: ops.lstsq(ops.reshape(a, (-1, 3)), ops.reshape(b, (-1,))))
    add("lstsq_matrix_b", [spec((3, 3)), spec((3, 2))],
        lambda a, b: ops.lstsq(ops.reshape(a, (-1, 3)), ops.reshape(b, (-1, 2))))
    add("lstsq_underdetermined", [spec((4,)), spec(())], lambda a, b: ops.lstsq(a, b))
    add("lstsq_rcond", [spec((3, 3)), spec((3,))], lambda a, b: ops.lstsq(
        ops.concatenate([ops.reshape(a, (-1, 3)), ops.reshape(a, (-1, 3))[:, :1] * 1.0001],
                        axis=-1), ops.reshape(b, (-1,)), rcond=0.01))
    add("lu_factor", [spec((3, 3))], lambda x: list(ops.lu_factor(x)))
    add("lu_factor_wide", [spec((3, 4))], lambda x: list(ops.lu_factor(x)))
    add("lu_factor_tall", [spec((4, 2))], lambda x: list(ops.lu_factor(x)))
    add("eigh", [spec((4, 4))],
        lambda x: list(ops.eigh(x + ops.transpose(x, (0, 2, 1)))))
    add("qr", [spec((4, 3))], lambda x: list(ops.qr(x)))
    add("qr_complete", [spec((4, 3))], lambda x: list(ops.qr(x, mode="complete")))
    add("qr_wide_square", [spec((3, 4)), spec((3, 3))],
        lambda x, y: [*ops.qr(x), *ops.qr(y, mode="complete")])
    add("svd", [spec((4, 3))], lambda x: list(ops.svd(x, full_matrices=False)))
    add("svd_values", [spec((4, 3))], lambda x: [ops.svd(x, compute_uv=False),
                                                  ops.svd(ops.transpose(x, (0, 2, 1)),
                                                          compute_uv=False)])
    return out


def main():
    import keras
    from keras import ops
    record_cases(keras, cases(ops), OUT, SEED)


if __name__ == "__main__":
    main()
