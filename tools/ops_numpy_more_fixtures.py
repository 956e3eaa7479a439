"""Record what Keras 3 functional models make of more `keras.ops.numpy` calls (the numpy_more
group: allclose, angle, corrcoef, correlate, cross, diagflat, digitize, i0, nancumprod,
nanmedian, nanpercentile, nanquantile, ndim, nextafter, searchsorted, size, trapezoid,
unravel_index, view, vander, meshgrid, histogram, imag, array, empty_like, full, linspace,
logspace, geomspace, ...) into fixtures/keras3/ops_numpy_more_cases.npz.

Run from the repository root in the Keras 3 environment:

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_numpy_more_fixtures.py
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python \
        tools/ops_numpy_more_fixtures.py --tf-outputs   # the cases torch cannot run

Functional-model inputs always carry the batch axis; the ops that want 1-D tensors (correlate,
searchsorted, vander, meshgrid, histogram) get `x[0]`, a GetItem node, as Keras users write.
Keras's Histogram node cannot run in any backend (see patch_histogram); the recorded outputs are
those of `keras.ops.histogram`.
"""

import argparse
import os
import sys

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

from ops_case_fixtures import REPO_ROOT, record_cases, spec  # noqa: E402

OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_numpy_more_cases.npz")
TF_OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_numpy_more_cases_tf.npz")
SEED = 4711
# cases Keras's torch backend cannot run (torch.imag of real tensors; Cross's axis arguments),
# recorded with the TensorFlow backend into TF_OUT
TF_CASES = ("imag", "cross_axis")
F = spec((3, 4))


def cases(ops):
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    def with_nans(x):
        return ops.where(x > 1.2, np.nan, x)

    add("allclose", [F, F], lambda x, y: [ops.allclose(x, x + 1e-6), ops.allclose(x, y),
                                          ops.allclose(x, x * 1.01, rtol=0.02, atol=0.0)])
    add("allclose_nan", [F], lambda x: [ops.allclose(with_nans(x), with_nans(x)),
                                        ops.allclose(with_nans(x), with_nans(x), equal_nan=True)])
    add("allclose_int", [spec((3,), "int32", 0, 3)], lambda i: ops.allclose(i, i))
    add("angle", [F], lambda x: ops.angle(x))
    add("angle_int", [spec((4,), "int32", -3, 3)], lambda i: ops.angle(i))
    add("argpartition", [spec((6,))], lambda x: ops.argpartition(x, 2))
    add("corrcoef", [spec((5,))], lambda x: ops.corrcoef(x))
    add("corrcoef_rows", [spec((3, 5))], lambda x: ops.corrcoef(x[0]))
    add("correlate", [spec((6,)), spec((3,))],
        lambda x, y: [ops.correlate(x[0], y[1]), ops.correlate(x[1], y[0], mode="full"),
                      ops.correlate(x[0], y[0], mode="same")])
    add("correlate_short_first", [spec((3,)), spec((5,))],
        lambda x, y: [ops.correlate(x[0], y[0]), ops.correlate(x[1], y[1], mode="full")])
    add("cross", [spec((3,)), spec((3,))], lambda x, y: ops.cross(x, y))
    add("cross_broadcast", [spec((4, 3)), spec((1, 3))], lambda x, y: ops.cross(x, y))
    add("cross_axis", [spec((3, 4)), spec((3, 4))], lambda x, y: ops.cross(x, y, axis=1))
    add("diagflat", [spec((3,))], lambda x: [ops.diagflat(x[0]), ops.diagflat(x[1], k=2)])
    add("diagflat_batch", [spec((2, 2))], lambda x: ops.diagflat(x, k=-1))
    add("digitize", [F], lambda x: ops.digitize(x, np.array([-1.0, 0.0, 0.5, 1.5], "float32")))
    add("digitize_tensor", [F, spec((3,))], lambda x, b: ops.digitize(x, ops.sort(b[0])))
    add("i0", [spec((3, 4), low=-12.0, high=12.0)], lambda x: ops.i0(x))
    add("nancumprod", [F], lambda x: ops.nancumprod(with_nans(x), axis=1))
    add("nancumprod_flat", [F], lambda x: ops.nancumprod(with_nans(x)))
    add("nanmedian", [spec((3, 5))], lambda x: [ops.nanmedian(with_nans(x), axis=-1),
                                                ops.nanmedian(with_nans(x), axis=1,
                                                              keepdims=True)])
    add("nanmedian_axes", [F], lambda x: ops.nanmedian(with_nans(x), axis=(1, 2)))
    add("nanpercentile", [spec((3, 5))],
        lambda x: [ops.nanpercentile(with_nans(x), 30.0, axis=-1),
                   ops.nanpercentile(with_nans(x), [10.0, 75.0], axis=1, keepdims=True)])
    add("nanpercentile_methods", [spec((3, 5))],
        lambda x: [ops.nanpercentile(with_nans(x), 40.0, axis=-1, method=method)
                   for method in ("lower", "higher", "midpoint", "nearest")])
    add("nanquantile", [spec((3, 5))],
        lambda x: [ops.nanquantile(with_nans(x), 0.4, axis=2),
                   ops.nanquantile(with_nans(x), 0.5, axis=-1, method="nearest")])
    add("ndim", [F], lambda x: ops.ndim(x))
    add("size", [F], lambda x: ops.size(x))
    add("nextafter", [F, F], lambda x, y: [ops.nextafter(x, y), ops.nextafter(x, x),
                                           ops.nextafter(x * 0.0, y)])
    add("searchsorted", [spec((5,)), F],
        lambda s, v: [ops.searchsorted(ops.sort(s[0]), v),
                      ops.searchsorted(ops.sort(s[1]), v, side="right")])
    add("trapezoid", [F], lambda y: [ops.trapezoid(y), ops.trapezoid(y, dx=0.5, axis=1)])
    add("trapezoid_x", [F], lambda y: ops.trapezoid(y, x=[0.0, 0.5, 1.5, 3.0]))
    add("unravel_index", [spec((4,), "int32", 0, 12)], lambda i: list(ops.unravel_index(i, (3, 4))))
    add("view", [F], lambda x: ops.view(x, "int32"))
    add("view_narrower", [F], lambda x: [ops.view(x, "float16"), ops.view(x, "uint8")])
    add("view_int", [spec((4,), "int32", -100, 100)], lambda i: ops.view(i, "float32"))
    add("view_wider", [spec((8,), "uint8", 0, 255)],
        lambda i: [ops.view(i, "int32"), ops.view(i, "int64"), ops.view(i, "float16")])
    add("vander", [spec((4,))], lambda x: [ops.vander(x[0]),
                                           ops.vander(x[1], N=3, increasing=True)])
    add("vander_int", [spec((4,), "int32", -3, 4)], lambda i: ops.vander(i[0]))
    add("meshgrid", [spec((3,)), spec((4,))], lambda x, y: list(ops.meshgrid(x[0], y[1])))
    add("meshgrid_ij", [spec((3,)), spec((4,)), spec((2,))],
        lambda x, y, z: list(ops.meshgrid(x[0], y[0], z[1], indexing="ij")))
    add("histogram", [spec((20,))], lambda x: list(ops.histogram(x[0], bins=5)))
    add("histogram_range", [spec((20,))],
        lambda x: list(ops.histogram(ops.reshape(x, (-1,)), bins=4, range=(-1.0, 1.5))))
    add("imag", [F], lambda x: ops.imag(x))
    add("arange", [F], lambda x: ops.arange(ops.size(x)))
    add("array", [F], lambda x: [ops.array(x), ops.array(x, dtype="int32")])
    add("empty_like", [F], lambda x: [ops.empty_like(x), ops.empty_like(x, dtype="int32")])
    add("full", [F], lambda x: [ops.full((2, 3), x[0, 1, 2]),
                                ops.full((2, 3), x[1, 0, 0], dtype="int32")])
    add("full_tile", [spec((4,))], lambda x: ops.full((3, 4), x[0]))
    add("linspace", [spec((3,)), spec((3,))], lambda a, b: ops.linspace(a, b, 5))
    add("linspace_options", [spec((3,)), spec((3,))],
        lambda a, b: [ops.linspace(a, b, 4, endpoint=False), ops.linspace(a[0], b[0], 6),
                      ops.linspace(a, b, 1)])
    add("linspace_axis", [spec((3,)), spec((3,))], lambda a, b: ops.linspace(a, b, 4, axis=1))
    add("logspace", [spec((3,)), spec((3,))],
        lambda a, b: [ops.logspace(a, b, 5), ops.logspace(a, b, 3, endpoint=False, base=2)])
    add("geomspace", [spec((3,), low=0.5, high=4.0), spec((3,), low=0.5, high=4.0)],
        lambda a, b: [ops.geomspace(a, b, 5), ops.geomspace(-a, -b, 4, endpoint=False)])
    add("nonzero", [F], lambda x: list(ops.nonzero(x)))
    add("unique", [F], lambda x: ops.unique(x[0]))
    add("bincount", [spec((5,), "int32", 0, 4)], lambda i: ops.bincount(i[0], minlength=6))
    add("nanquantile_all", [F], lambda x: ops.nanquantile(with_nans(x), [0.2, 0.9],
                                                          keepdims=True))
    add("correlate_scalar", [spec((4,)), spec((4,))], lambda x, y: ops.correlate(x[0], y[1]))
    add("view_bool", [F], lambda x: ops.view(x > 0, "uint8"))
    add("histogram_constant", [spec((6,))], lambda x: list(ops.histogram(x[0] * 0.0, bins=3)))
    return out


def write_tf_cases(keras):
    """TF_CASES recorded with the TensorFlow backend (a case archive of their own)."""
    record_cases(keras, [case for case in cases(keras.ops) if case[0] in TF_CASES], TF_OUT,
                 SEED + 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tf-outputs", action="store_true")
    arguments = parser.parse_args()
    import keras
    if arguments.tf_outputs:
        write_tf_cases(keras)
        return
    patch_histogram(keras)
    record_cases(keras, cases(keras.ops), OUT, SEED)


def patch_histogram(keras):
    """Keras 3.15.1's Histogram.call calls `backend.math.histogram`, which no backend defines
    (the eager `keras.ops.histogram` calls `backend.numpy.histogram`): point the former at the
    latter so the recorded outputs are what `keras.ops.histogram` computes."""
    from keras.src import backend
    if not hasattr(backend.math, "histogram"):
        backend.math.histogram = backend.numpy.histogram


if __name__ == "__main__":
    main()
