"""Record what a Keras 3 functional model makes of `keras.ops` calls, one tiny model per case,
into fixtures/keras3/ops_cases.npz, and a model holding many ops together into
fixtures/keras3_files/ops_zoo.keras (inputs and outputs in ops_zoo.npz).

Run from the repository root in the Keras 3 environment:

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_case_fixtures.py [--survey]
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python \
        tools/ops_case_fixtures.py --tf-outputs     # the cases where the backends disagree

Per case: Keras's `model.get_config()` (the Operation entries under `keras.src.ops.*`), the
inputs (seeded), Keras's outputs (torch backend), and whether `Model.from_config` of that config
gives the same outputs again in Keras (`keras_reloads`). `--survey` prints, for every Operation
subclass of keras 3.15.1, its config keys (the constructor arguments) and call arguments.

Survey (keras 3.15.1, torch backend)
------------------------------------
keras 3.15.1 defines 333 Operation subclasses (`--survey` lists each with its constructor and call
arguments): numpy 208, nn 53, math 24, core 17, image 15, linalg 16. A functional model records
one node per `keras.ops` call on a symbolic tensor; its entry is
`{"module": "keras.src.ops.<family>", "class_name": <class>, "config": {"name", ...}}`.

* config: `name` and EVERY constructor argument with its default filled in (Keras's Operation
  auto-config): `Max` -> name, axis, keepdims, initial; `Clip` -> x_min, x_max; `Resize` ->
  size, interpolation, antialias, crop_to_aspect_ratio, pad_to_aspect_ratio, fill_mode,
  fill_value, data_format; `OneHot` -> num_classes, axis, dtype ("float32" filled in), sparse;
  `MaxPool`/`Conv` get data_format resolved to "channels_last". Tuples are written as lists.
  Ops whose constructor takes nothing (`Matmul`, `Where`, `GetItem`, `Erf`, `Relu`, ...) have
  only `name`; `ExtractPatches` has no `name` at all (its __init__ takes none). Class names are
  Keras's: `Matmul` (not MatMul), `TopK`, `RGBToGrayscale`, `LogSoftmax`, `TakeAlongAxis`,
  `GetItem`, `Absolute` (what `ops.abs` records), `Conjugate` (what `ops.conj` records).
* call arguments: the node's `args` hold the positional ones — tensors as `__keras_tensor__`
  references, Python numbers inline (`ops.power(x, 2.0)` -> `[x, 2.0]`, `x > 0` -> Greater
  `[x, 0]`, `ops.where(c, x, 0.0)` -> `[c, x, 0.0]`, `ops.quantile(x, 0.3)` -> `[x, 0.3]`,
  `ops.isclose` -> `[x1, x2, rtol, atol]`), lists of tensors as a list (`Concatenate`, `Stack`,
  `Hstack`, `Dstack`: `[[x, y]]`; `Select`: `[[conditions], [choices], default]`), numpy arrays
  as `__numpy__` (`ops.take(x, np.array(...))`, `ops.matmul(x, weights)`, the gamma/beta of
  `LayerNorm`, the kernel of `Conv`), `ops.slice`'s start indices as a list. `kwargs` hold the
  keyword ones some ops declare: `Pad` `{"constant_values"}`, `RMSNorm` `{"scale"}`,
  `DotProductAttention` `{"bias", "mask", "scale"}`, `Average` `{"weights"}`. `GetItem`'s key
  is the second argument: a tuple becomes a list of `__slice__` (`{"start", "stop", "step"}`),
  `__ellipsis__`, `null` (newaxis) and integers.
* Every recorded case reloads in Keras (`Model.from_config`) with identical outputs
  (`keras_reloads`). Two cannot even run under the torch backend: slicing with a negative step
  (`x[:, ::-1]`: torch refuses) and `ops.imag` of real tensors.
* Backends disagree (BACKENDS_DISAGREE; `--tf-outputs` records TensorFlow's numbers in
  ops_cases_tf.npz, which modelio matches): torch's `dot` of N-D tensors is a batched matmul
  (numpy/TensorFlow: a tensordot over the last and second-to-last axes), torch's
  `count_nonzero` transposes its result, torch's `top_k` indices are int64 (int32 in Keras's
  symbolic dtype and in TensorFlow). torch's `multi_hot` combines the one-hot vectors over axis
  1 whatever `axis` says; modelio does the same.
* Operations that take Python callables (core Map, Scan, Cond, ForiLoop, WhileLoop,
  AssociativeScan, VectorizedMap, Switch; linalg JVP) cannot be serialized into a config.
  Operations whose results have data-dependent shapes (Nonzero, Unique, Histogram with data
  ranges, Bincount) or complex dtypes (FFT family, STFT, Polar, ViewAsComplex/Real, Eig) have
  no fixed-shape graph meaning for modelio.

modelio implements 312 of the 333 classes (`modelio.graph.registry.OPERATION_CLASSES`, each
registered under Keras's class name, written under Keras's module); every one has an ONNX
lowering, or an UnsupportedError naming it at export where ONNX has no equivalent (Cumprod,
Gcd, Lcm, Inv, CholeskyInverse, Solve, SolveTriangular, Cholesky, Pinv, MatrixRank, Logdet,
Slogdet, Lstsq). This file's cases cover the first 244; the others have their own generators
(tools/ops_{numpy_more,nn_more,math_core,spectral,image_more}_fixtures.py). The 21 refused are
listed with their reasons in `modelio.graph.serialization.REFUSED_OPERATIONS` (Python callables,
data-dependent shapes, complex tensors, irreproducible randomness or tie orders, LAPACK-dependent
eigenvector signs).
"""

import argparse
import importlib
import inspect
import json
import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

from case_archive import Buffers, read_case_archive, write_npz  # noqa: E402

OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_cases.npz")
ZOO = os.path.join(REPO_ROOT, "fixtures", "keras3_files", "ops_zoo.keras")
TF_OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_cases_tf.npz")
# cases where Keras's torch backend computes something else than its TensorFlow (and numpy)
# backends: `--tf-outputs` (run in the TensorFlow environment) records TensorFlow's outputs
BACKENDS_DISAGREE = ("dot", "count_nonzero_axis", "top_k")
FAMILIES = ("numpy", "nn", "math", "core", "image", "linalg")
SEED = 1300


def spec(shape, dtype="float32", low=-2.0, high=2.0):
    return (tuple(shape), dtype, low, high)


F = spec((3, 4))
POS = spec((3, 4), low=0.1, high=3.0)
UNIT = spec((3, 4), low=-0.9, high=0.9)


def cases(ops):
    """(name, [input specs], function of the Keras inputs) per case."""
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    unary = ["abs", "absolute", "negative", "exp", "exp2", "expm1", "square", "sin", "cos",
             "tan", "sinh", "cosh", "tanh", "arctan", "arcsinh", "floor", "ceil", "trunc",
             "sign", "cbrt", "deg2rad", "rad2deg", "fabs", "signbit", "isnan", "isinf",
             "isfinite", "logical_not", "copy", "ravel"]
    for fn in unary:
        add(fn, [F], lambda x, fn=fn: getattr(ops, fn)(x))
    for fn in ["log", "log2", "log10", "log1p", "sqrt", "reciprocal", "rsqrt"]:
        add(fn, [POS], lambda x, fn=fn: getattr(ops, fn)(x))
    for fn in ["arcsin", "arccos", "arctanh", "erf", "erfc", "erfinv"]:
        add(fn, [UNIT], lambda x, fn=fn: getattr(ops, fn)(x))
    add("arccosh", [spec((3, 4), low=1.1, high=3.0)], lambda x: ops.arccosh(x))
    add("round", [F], lambda x: ops.round(x * 10.0))
    add("round_decimals", [F], lambda x: ops.round(x, decimals=1))
    add("nan_to_num", [F], lambda x: ops.nan_to_num(ops.log(x), nan=0.5, neginf=-3.0))
    binary = ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
              "arctan2", "hypot", "logaddexp", "fmod", "mod", "floor_divide", "equal",
              "not_equal", "greater", "greater_equal", "less", "less_equal", "heaviside",
              "divide_no_nan", "fmax", "fmin"]
    for fn in binary:
        add(fn, [F, spec((1, 4))], lambda x, y, fn=fn: getattr(ops, fn)(x, y))
    add("power", [POS, spec((3, 4), low=-1.5, high=1.5)], lambda x, y: ops.power(x, y))
    add("power_constant", [F], lambda x: ops.power(x, 2.0))
    add("add_constant", [F], lambda x: ops.add(x, 1.5))
    add("divide_constant", [F], lambda x: ops.divide(x, 4.0))
    add("logical_and_or_xor", [F, F], lambda x, y: [ops.logical_and(x > 0, y > 0),
                                                     ops.logical_or(x > 0, y > 0),
                                                     ops.logical_xor(x > 0, y > 0)])
    add("where", [F, F], lambda x, y: ops.where(x > y, x, y))
    add("where_constant", [F], lambda x: ops.where(x > 0, x, 0.0))
    add("clip", [F], lambda x: ops.clip(x, -0.5, 0.75))
    for fn in ["sum", "mean", "max", "min", "prod", "std", "var", "amax", "amin", "argmax",
               "argmin", "logsumexp", "median", "ptp", "count_nonzero"]:
        add(f"{fn}_axis", [F], lambda x, fn=fn: getattr(ops, fn)(x, axis=-1))
    for fn in ["sum", "mean", "max", "min", "prod", "std", "var", "logsumexp"]:
        add(f"{fn}_keepdims", [F], lambda x, fn=fn: getattr(ops, fn)(x, axis=(1, 2),
                                                                    keepdims=True))
    add("max_initial", [F], lambda x: ops.max(x, axis=1, initial=0.5))
    add("min_initial", [F], lambda x: ops.min(x, axis=-1, keepdims=True, initial=-0.25))
    add("any_all", [F], lambda x: [ops.any(x > 1, axis=1), ops.all(x > -1, axis=-1)])
    add("cumsum", [F], lambda x: ops.cumsum(x, axis=1))
    add("cumprod", [F], lambda x: ops.cumprod(x, axis=-1))
    add("reshape", [F], lambda x: ops.reshape(x, (-1, 2, 6)))
    add("transpose", [F], lambda x: ops.transpose(x, (0, 2, 1)))
    add("transpose_default", [F], lambda x: ops.transpose(x))
    add("expand_dims", [F], lambda x: ops.expand_dims(x, 1))
    add("squeeze", [spec((3, 1, 4))], lambda x: ops.squeeze(x, axis=2))
    add("concatenate", [F, F], lambda x, y: ops.concatenate([x, y], axis=-1))
    add("stack", [F, F], lambda x, y: ops.stack([x, y], axis=1))
    add("hstack", [F, F], lambda x, y: ops.hstack([x, y]))
    add("vstack", [F, F], lambda x, y: ops.vstack([x, y]))
    add("split", [spec((3, 6))], lambda x: ops.split(x, 3, axis=-1))
    add("split_indices", [spec((3, 6))], lambda x: ops.split(x, [1, 4], axis=2))
    add("array_split", [spec((3, 5))], lambda x: ops.array_split(x, 2, axis=-1))
    add("unstack", [F], lambda x: ops.unstack(x, axis=1))
    add("tile", [F], lambda x: ops.tile(x, (1, 2, 3)))
    add("repeat", [F], lambda x: ops.repeat(x, 2, axis=1))
    add("flip", [F], lambda x: ops.flip(x, axis=-1))
    add("roll", [F], lambda x: ops.roll(x, 1, axis=2))
    add("moveaxis", [spec((2, 3, 4))], lambda x: ops.moveaxis(x, 1, 3))
    add("swapaxes", [spec((2, 3, 4))], lambda x: ops.swapaxes(x, 1, 3))
    add("broadcast_to", [spec((1, 4))], lambda x: ops.broadcast_to(x, (2, 3, 4)))
    add("pad", [F], lambda x: ops.pad(x, [[0, 0], [1, 2], [0, 1]]))
    add("pad_constant", [F], lambda x: ops.pad(x, [[0, 0], [1, 1], [2, 0]], constant_values=0.5))
    add("pad_reflect", [F], lambda x: ops.pad(x, [[0, 0], [1, 1], [2, 1]], mode="reflect"))
    add("tril_triu", [spec((4, 4))], lambda x: [ops.tril(x), ops.triu(x, k=1)])
    add("getitem_slices", [spec((4, 6))], lambda x: x[:, 1:3, ::2])
    add("getitem_newaxis", [F], lambda x: x[..., None])
    add("getitem_int", [F], lambda x: x[:, 1])
    add("getitem_negative", [spec((4, 6))], lambda x: x[:, -1, 1:-1])
    add("getitem_reverse", [spec((4, 6))], lambda x: x[:, ::-1, 3:0:-2])
    add("take", [F], lambda x: ops.take(x, np.array([2, 0, 1, 2]), axis=1))
    add("take_tensor", [F, spec((2,), "int32", 0, 4)], lambda x, i: ops.take(x, i, axis=-1))
    add("take_along_axis", [F, spec((3, 2), "int32", 0, 4)],
        lambda x, i: ops.take_along_axis(x, i, axis=-1))
    add("slice", [F], lambda x: ops.slice(x, (0, 1, 1), (2, 2, 3)))
    add("matmul", [F, spec((4, 2))], lambda x, y: ops.matmul(x, y))
    add("matmul_weights", [F], lambda x: ops.matmul(x, np.arange(8, dtype="float32")
                                                    .reshape(4, 2) / 8.0))
    add("einsum", [F, spec((4, 5))], lambda x, y: ops.einsum("bij,bjk->bik", x, y))
    add("einsum_one", [F], lambda x: ops.einsum("bij->bji", x))
    add("dot", [F, spec((4, 2))], lambda x, y: ops.dot(x, y))
    add("tensordot", [F, spec((4, 2))], lambda x, y: ops.tensordot(x, y, axes=[[2], [1]]))
    add("outer", [spec((3,)), spec((2,))], lambda x, y: ops.outer(x, y))
    add("sort", [F], lambda x: ops.sort(x, axis=-1))
    add("sort_axis1", [F], lambda x: ops.sort(x, axis=1))
    add("argsort", [F], lambda x: ops.argsort(x, axis=-1))
    add("top_k", [spec((3, 5))], lambda x: list(ops.top_k(x, 2)))
    for fn in ["relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "selu",
               "hard_sigmoid", "hard_silu", "log_sigmoid", "hard_tanh", "tanh_shrink",
               "sparse_plus", "squareplus", "soft_shrink", "hard_shrink", "celu",
               "sparse_sigmoid"]:
        add(fn, [F], lambda x, fn=fn: getattr(ops, fn)(x))
    add("gelu", [F], lambda x: ops.gelu(x))
    add("gelu_exact", [F], lambda x: ops.gelu(x, approximate=False))
    add("elu", [F], lambda x: ops.elu(x, alpha=0.5))
    add("leaky_relu", [F], lambda x: ops.leaky_relu(x, negative_slope=0.1))
    add("threshold", [F], lambda x: ops.threshold(x, 0.3, -1.0))
    add("glu", [spec((3, 6))], lambda x: ops.glu(x))
    add("softmax", [F], lambda x: ops.softmax(x))
    add("softmax_axis1", [F], lambda x: ops.softmax(x, axis=1))
    add("log_softmax", [F], lambda x: ops.log_softmax(x, axis=-1))
    add("normalize", [F], lambda x: ops.normalize(x, axis=-1))
    add("one_hot", [spec((3,), "int32", 0, 4)], lambda i: ops.one_hot(i, 4))
    add("cast", [F], lambda x: ops.cast(x, "int32"))
    add("stop_gradient", [F], lambda x: ops.stop_gradient(x))
    add("zeros_ones_like", [F], lambda x: [ops.zeros_like(x), ops.ones_like(x)])
    add("resize_bilinear", [spec((4, 4, 3))], lambda x: ops.image.resize(x, (6, 8)))
    add("resize_nearest", [spec((4, 4, 3))],
        lambda x: ops.image.resize(x, (8, 6), interpolation="nearest"))
    add("resize_down", [spec((6, 8, 2))], lambda x: ops.image.resize(x, (3, 4)))
    add("rgb_to_grayscale", [spec((4, 4, 3), low=0, high=1)],
        lambda x: ops.image.rgb_to_grayscale(x))
    add("rgb_to_hsv", [spec((4, 4, 3), low=0, high=1)], lambda x: ops.image.rgb_to_hsv(x))
    add("det", [spec((3, 3))], lambda x: ops.linalg.det(x))
    add("inv", [spec((3, 3))], lambda x: ops.linalg.inv(x + 4 * np.eye(3, dtype="float32")))
    add("norm", [F], lambda x: ops.linalg.norm(x, axis=-1))
    add("diagonal", [spec((3, 3))], lambda x: ops.diagonal(x, axis1=1, axis2=2))
    add("extract_patches", [spec((4, 4, 2))], lambda x: ops.image.extract_patches(x, 2))
    gamma = np.linspace(0.5, 1.5, 6, dtype="float32")
    beta = np.linspace(-0.2, 0.3, 6, dtype="float32")
    add("layer_norm", [spec((4, 6))], lambda x: ops.layer_normalization(x, gamma, beta))
    add("layer_norm_rms", [spec((4, 6))],
        lambda x: ops.layer_normalization(x, gamma, axis=-1, epsilon=1e-3, rms_scaling=True))
    add("rms_norm", [spec((4, 6))], lambda x: ops.rms_normalization(x, scale=gamma))
    add("batch_norm", [spec((4, 6))],
        lambda x: ops.batch_normalization(x, beta, gamma, axis=-1, offset=beta, scale=gamma))
    add("moments", [spec((4, 6))], lambda x: list(ops.moments(x, axes=[1])))
    add("max_pool", [spec((4, 4, 3))], lambda x: ops.max_pool(x, 2))
    add("average_pool_same", [spec((5, 5, 3))],
        lambda x: ops.average_pool(x, 3, strides=2, padding="same"))
    add("max_pool_1d", [spec((6, 3))], lambda x: ops.max_pool(x, 2, strides=1))
    kernel = np.linspace(-1, 1, 3 * 3 * 3 * 2, dtype="float32").reshape(3, 3, 3, 2)
    add("conv_same", [spec((5, 5, 3))], lambda x: ops.conv(x, kernel, padding="same"))
    add("conv_strided", [spec((6, 6, 3))], lambda x: ops.conv(x, kernel, strides=2))
    add("depth_to_space", [spec((2, 3, 8))], lambda x: ops.depth_to_space(x, 2))
    add("space_to_depth", [spec((4, 6, 2))], lambda x: ops.space_to_depth(x, 2))
    add("dot_product_attention", [spec((4, 2, 3)), spec((5, 2, 3)), spec((5, 2, 3))],
        lambda q, k, v: ops.dot_product_attention(q, k, v))
    add("dot_product_attention_causal", [spec((4, 2, 3)), spec((4, 2, 3)), spec((4, 2, 3))],
        lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True))
    add("sparsemax", [F], lambda x: ops.sparsemax(x))
    add("multi_hot", [spec((3,), "int32", 0, 5)], lambda i: ops.multi_hot(i, 5))
    add("logaddexp2", [F, F], lambda x, y: ops.logaddexp2(x, y))
    add("isclose", [F, F], lambda x, y: ops.isclose(x, ops.where(x > 0, x, y)))
    add("average", [F], lambda x: ops.average(x, axis=1))
    add("fliplr_flipud", [F], lambda x: [ops.fliplr(x), ops.flipud(x)])
    add("rot90", [spec((3, 4, 2))], lambda x: ops.rot90(x, axes=(1, 2)))
    add("dstack", [F, F], lambda x, y: ops.dstack([x, y]))
    add("hsplit", [spec((4, 6))], lambda x: ops.hsplit(x, 2))
    add("trace", [spec((3, 3))], lambda x: ops.trace(x, axis1=1, axis2=2))
    add("nan_reductions", [F], lambda x: [ops.nansum(x, axis=1), ops.nanmean(x, axis=-1),
                                          ops.nanmax(x, axis=1), ops.nanmin(x, axis=2)])
    add("select", [F], lambda x: ops.select([x > 0.5, x < -1.0], [x, -x], 0.25))
    add("inner", [F, spec((5, 4))], lambda x, y: ops.inner(x, y))
    add("sinc", [F], lambda x: ops.sinc(x))
    add("isneginf_isposinf", [F], lambda x: [ops.isneginf(ops.log(x)), ops.isposinf(x)])
    add("full_like", [F], lambda x: ops.full_like(x, 2.5))
    add("append", [F, F], lambda x, y: ops.append(x, y, axis=1))
    add("saturate_cast", [spec((3, 4), low=-100, high=400)],
        lambda x: ops.saturate_cast(x, "uint8"))
    add("convert_to_tensor", [F], lambda x: ops.convert_to_tensor(x))
    add("in_top_k", [spec((), "int32", 0, 5), spec((5,))],
        lambda t, p: ops.in_top_k(t, p, 2))
    add("nan_statistics", [F], lambda x: [ops.nanstd(x, axis=1), ops.nanvar(x, axis=-1),
                                          ops.nanprod(x, axis=2), ops.nancumsum(x, axis=1)])
    add("complex_views", [F], lambda x: [ops.real(x), ops.conj(x), ops.conjugate(x),
                                         ops.isreal(x)])
    add("imag", [F], lambda x: ops.imag(x))  # the torch backend refuses real tensors
    ints = spec((3, 4), "int32", -20, 20)
    add("bitwise", [ints, ints], lambda x, y: [
        ops.bitwise_and(x, y), ops.bitwise_or(x, y), ops.bitwise_xor(x, y),
        ops.bitwise_not(x), ops.bitwise_invert(y)])
    add("shifts", [ints, spec((3, 4), "int32", 0, 4)], lambda x, y: [
        ops.left_shift(x, y), ops.right_shift(x, y), ops.bitwise_left_shift(x, y),
        ops.bitwise_right_shift(x, y)])
    add("gcd_lcm", [spec((3, 4), "int32", 1, 30), spec((3, 4), "int32", 1, 30)],
        lambda x, y: [ops.gcd(x, y), ops.lcm(x, y)])
    add("ldexp", [F, spec((3, 4), "int32", -3, 4)], lambda x, y: ops.ldexp(x, y))
    add("kron", [spec((2, 3)), spec((2, 2))], lambda x, y: ops.kron(x, y))
    add("diag", [spec((4,))], lambda x: [ops.diag(x[0]), ops.diag(x[0], k=1)])
    add("diff", [spec((3, 5))], lambda x: [ops.diff(x), ops.diff(x, n=2, axis=1)])
    add("isin", [spec((3, 4), "int32", 0, 10)],
        lambda x: ops.isin(x, np.array([1, 3, 5, 7], dtype="int32")))
    add("dsplit", [spec((3, 4))], lambda x: ops.dsplit(x, 2))
    add("quantile", [spec((5, 4))], lambda x: [ops.quantile(x, 0.3, axis=1),
                                               ops.percentile(x, 75.0, axis=-1, keepdims=True)])
    probabilities = spec((3, 4), low=0.05, high=0.95)
    add("binary_crossentropy", [probabilities, probabilities],
        lambda t, o: [ops.binary_crossentropy(t, o),
                      ops.binary_crossentropy(t, o * 4 - 2, from_logits=True)])
    add("categorical_crossentropy", [probabilities, probabilities],
        lambda t, o: [ops.categorical_crossentropy(t, o),
                      ops.categorical_crossentropy(t, o, from_logits=True, axis=1)])
    add("sparse_categorical_crossentropy", [spec((3,), "int32", 0, 4), probabilities],
        lambda t, o: [ops.sparse_categorical_crossentropy(t, o),
                      ops.sparse_categorical_crossentropy(t, o * 3, from_logits=True)])
    add("psnr", [spec((3, 4), low=0, high=1), spec((3, 4), low=0, high=1)],
        lambda x, y: ops.psnr(x, y, 1.0))
    spd = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype="float32")
    add("solve", [spec((3, 3)), spec((3, 2))],
        lambda a, b: [ops.linalg.solve(a + 5 * np.eye(3, dtype="float32"), b),
                      ops.linalg.solve_triangular(a + 5 * np.eye(3, dtype="float32"), b,
                                                  lower=True)])
    add("cholesky", [spec((3, 3), low=0, high=0.3)],
        lambda a: [ops.linalg.cholesky(a + spd), ops.linalg.cholesky(a + spd, upper=True),
                   ops.linalg.cholesky_inverse(ops.linalg.cholesky(a + spd))])
    add("pinv_rank", [spec((3, 4))], lambda a: [ops.linalg.pinv(a), ops.linalg.matrix_rank(a)])
    add("logdet", [spec((3, 3), low=0, high=0.3)],
        lambda a: [ops.logdet(a + spd), *ops.slogdet(a - spd)])
    add("crop_images", [spec((5, 6, 2))],
        lambda x: [ops.image.crop_images(x, top_cropping=1, left_cropping=2, target_height=3,
                                         target_width=2),
                   ops.image.crop_images(x, bottom_cropping=1, right_cropping=1,
                                         target_height=2, target_width=4)])
    add("pad_images", [spec((3, 4, 2))],
        lambda x: [ops.image.pad_images(x, top_padding=1, left_padding=2, target_height=6,
                                        target_width=7),
                   ops.image.pad_images(x, 1, 0, 2, 1)])
    add("nanargmax_nanargmin", [F], lambda x: [
        ops.nanargmax(ops.where(x > 1.5, np.nan, x), axis=1),
        ops.nanargmin(ops.where(x < 0, np.nan, x), axis=-1, keepdims=True)])
    depthwise = np.linspace(-1, 1, 3 * 3 * 3 * 2, dtype="float32").reshape(3, 3, 3, 2)
    add("depthwise_conv", [spec((5, 5, 3))],
        lambda x: ops.depthwise_conv(x, depthwise, strides=2, padding="same"))
    return out


def zoo(keras, ops):
    """Many operations together in one model with two inputs and four outputs."""
    x = keras.Input((4, 6), name="x")
    image = keras.Input((4, 4, 3), name="image")
    h = ops.matmul(x, np.linspace(-1, 1, 36, dtype="float32").reshape(6, 6))
    h = ops.transpose(ops.reshape(h, (-1, 6, 4)), (0, 2, 1))
    h = ops.where(h > 0, ops.power(h, 2.0), ops.erf(h))
    h = ops.clip(ops.divide(h, 3.0), -0.8, 0.8) + ops.softmax(h, axis=1)
    a, b = ops.split(h, 2, axis=-1)
    h = ops.concatenate([ops.gelu(a), ops.silu(b)], axis=-1)
    h = h[:, 1:3, ::2]
    s = ops.max(h, axis=1, initial=0.25) - ops.mean(h, axis=1)
    s = ops.einsum("bi,bj->bij", s, ops.log_softmax(s))[..., None]
    g = ops.image.resize(image, (6, 6), interpolation="nearest")
    g = ops.image.rgb_to_grayscale(g)
    g = ops.sum(ops.squeeze(g, axis=-1), axis=-1, keepdims=True)
    # no ties reach top_k / argmax: resized rows repeat, so those work on `x` alone
    r = ops.sum(ops.abs(x), axis=-1)
    values, indices = ops.top_k(ops.sort(r, axis=1), 2)
    t = ops.take_along_axis(ops.mean(x, axis=-1), ops.cast(indices, "int32"), axis=-1)
    return keras.Model([x, image], [s, values, ops.argmax(r, axis=1), t, g], name="ops_zoo")


def write_zoo(keras, ops):
    model = zoo(keras, ops)
    rng = np.random.default_rng(SEED + 1)
    inputs = [rng.uniform(-2, 2, (2, 4, 6)).astype("float32"),
              rng.uniform(0, 1, (2, 4, 4, 3)).astype("float32")]
    outputs = [np.asarray(keras.ops.convert_to_numpy(value)) for value in model(inputs)]
    model.save(ZOO)
    again = keras.saving.load_model(ZOO)
    for got, want in zip(again(inputs), outputs):
        assert np.array_equal(keras.ops.convert_to_numpy(got), want)
    write_npz(ZOO.replace(".keras", ".npz"), {  # tests/fixture_models.py's key convention
        "input:x": inputs[0], "input:image": inputs[1],
        **{f"output:{index}": value for index, value in enumerate(outputs)}})
    print(f"wrote {ZOO}")


def write_tf_outputs(keras):
    """TensorFlow-backend outputs of the BACKENDS_DISAGREE cases on the recorded inputs."""
    document, read = read_case_archive(OUT)

    arrays = {}
    for case in document["cases"]:
        if case["name"] not in BACKENDS_DISAGREE:
            continue
        model = keras.Model.from_config(case["config"])
        inputs = [read(case, f"input_{i}") for i in range(case["n_inputs"])]
        for index, value in enumerate(as_list(model(inputs))):
            arrays[f"{case['name']}:output_{index}"] = np.asarray(value)
    write_npz(TF_OUT, arrays)
    print(f"wrote {sorted(arrays)} ({keras.backend.backend()}) to {TF_OUT}")


def operation_classes() -> dict:
    """{family: sorted Operation subclass names} of keras.src.ops."""
    from keras.src.ops.operation import Operation
    result = {}
    for family in FAMILIES:
        module = importlib.import_module(f"keras.src.ops.{family}")
        result[family] = sorted(name for name, cls in vars(module).items()
                                if inspect.isclass(cls) and issubclass(cls, Operation)
                                and cls.__module__ == module.__name__)
    return result


def survey():
    """Every Operation subclass of keras: config keys and call arguments."""
    from keras.src.ops.operation import Operation
    lines = []
    for family in FAMILIES:
        module = importlib.import_module(f"keras.src.ops.{family}")
        for name, cls in sorted(vars(module).items()):
            if inspect.isclass(cls) and issubclass(cls, Operation) and \
                    cls.__module__ == module.__name__:
                init = [str(p) for k, p in inspect.signature(cls.__init__).parameters.items()
                        if k not in ("self", "name")]
                call = [str(p) for k, p in inspect.signature(cls.call).parameters.items()
                        if k != "self"]
                lines.append(f"{family}.{name}({', '.join(init)}) call({', '.join(call)})")
    return lines


def random_input(rng, batch, shape, dtype, low, high):
    if dtype.startswith("int"):
        return rng.integers(int(low), int(high), size=(batch, *shape)).astype(dtype)
    return rng.uniform(low, high, size=(batch, *shape)).astype(dtype)


def as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def record_cases(keras, case_list: list, out_path: str, seed: int) -> None:
    """Record each `(name, [input specs], function of the Keras inputs)` of `case_list` as a tiny
    functional model: its config, seeded inputs, Keras's outputs and whether Keras reloads it,
    into the case archive `out_path` (read by tests/case_archive.load_case_archive). Other
    generators of operation cases (tools/ops_*_fixtures.py) record through this too."""
    rng = np.random.default_rng(seed)
    buffers, records = Buffers(), []
    for name, specs, fn in case_list:
        inputs = [keras.Input(shape, dtype=dtype, name=f"in{index}")
                  for index, (shape, dtype, _, _) in enumerate(specs)]
        try:
            outputs = fn(*inputs)
            model = keras.Model(inputs, outputs, name=name)
            config = model.get_config()
            json.dumps(config)
        except Exception as exc:  # noqa: BLE001 - recorded: Keras cannot build or serialize it
            records.append({"name": name, "keras_error": f"{type(exc).__name__}: {exc}"[:300]})
            print(f"{name}: Keras refuses: {exc}"[:200])
            continue
        arrays = [random_input(rng, 2, *item) for item in specs]
        try:
            expected = [np.asarray(keras.ops.convert_to_numpy(value))
                        for value in as_list(model(arrays))]
        except Exception as exc:  # noqa: BLE001 - recorded: the torch backend cannot run it
            records.append({"name": name, "keras_error": f"{type(exc).__name__}: {exc}"[:300]})
            print(f"{name}: Keras fails: {exc}"[:200])
            continue
        try:
            again = keras.Model.from_config(json.loads(json.dumps(config)))
            reloaded = [np.asarray(keras.ops.convert_to_numpy(value))
                        for value in as_list(again(arrays))]
            reloads = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(reloaded, expected))
        except Exception as exc:  # noqa: BLE001
            reloads = f"{type(exc).__name__}: {exc}"[:200]
        ops_in = [(layer["module"], layer["class_name"]) for layer in config["layers"]
                  if ".ops." in layer["module"]]
        records.append({
            "name": name, "config": config, "ops": ops_in, "keras_reloads": reloads,
            "arrays": {**{f"input_{i}": buffers.add(a) for i, a in enumerate(arrays)},
                       **{f"output_{i}": buffers.add(e) for i, e in enumerate(expected)}},
            "n_inputs": len(arrays), "n_outputs": len(expected),
        })
        print(name, [c for _, c in ops_in], "reloads" if reloads is True else reloads)
    document = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
                "cases": records, "keras_operations": operation_classes()}
    write_npz(out_path, {**buffers.arrays(), "cases_json": np.frombuffer(
        json.dumps(document, sort_keys=True).encode("utf-8"), dtype=np.uint8)})
    print(f"wrote {len(records)} cases to {out_path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--survey", action="store_true")
    parser.add_argument("--zoo-only", action="store_true")
    parser.add_argument("--tf-outputs", action="store_true")
    arguments = parser.parse_args()
    import keras
    from keras import ops
    if arguments.survey:
        print("\n".join(survey()))
        return
    if arguments.tf_outputs:
        write_tf_outputs(keras)
        return
    if arguments.zoo_only:
        write_zoo(keras, ops)
        return
    record_cases(keras, cases(ops), OUT, SEED)
    write_zoo(keras, ops)


if __name__ == "__main__":
    main()
