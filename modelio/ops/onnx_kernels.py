"""numpy kernels of the ONNX ops no Keras layer or composition of Keras operations expresses
exactly (GatherND with batch_dims, ScatterND/ScatterElements with their reductions, Hardmax,
LpNormalization, MeanVarianceNormalization, Shrink, exclusive or reverse CumSum/CumProd,
ReverseSequence, OneHot with negative indices and (off, on) values, EyeLike, CRD DepthToSpace,
Mish, LpPool): `KERNELS[op] = (compute(operands, attrs), shape(shapes, attrs))`, used by
`OnnxOp` (onnx_ops.py). Shapes hold None for sizes known only at run time."""

import numpy as np

from ..kernels.activations import mish as _mish_kernel


def _same(shapes, attrs):
    return tuple(shapes[0])


def _axis(attrs, rank, key="axis", default=0):
    axis = int(attrs.get(key, default))
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _indices(indices, sizes):
    """int64 `indices` with negative entries counted from the end of `sizes` (broadcast)."""
    indices = np.asarray(indices).astype(np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    indices = np.where(indices < 0, indices + sizes, indices)
    if np.any(indices < 0) or np.any(indices >= sizes):
        raise IndexError("an index is out of range")
    return indices


# ----- GatherND, ScatterND, ScatterElements -----------------------------------------------------
def _gather_nd(operands, attrs):
    data, indices = operands
    batch = int(attrs.get("batch_dims", 0))
    depth = indices.shape[-1]
    sizes = data.shape[batch:batch + depth]
    index = _indices(indices, sizes)
    count = int(np.prod(data.shape[:batch], dtype=np.int64))
    flat = data.reshape((count,) + data.shape[batch:])
    index = index.reshape((count, -1, depth))
    picked = flat[(np.arange(count)[:, None],) + tuple(index[..., j] for j in range(depth))]
    return picked.reshape(indices.shape[:-1] + data.shape[batch + depth:])


def _gather_nd_shape(shapes, attrs):
    data, indices = shapes
    batch = int(attrs.get("batch_dims", 0))
    depth = indices[-1]
    if depth is None:
        raise ValueError("the last axis of the indices must have a known size")
    return tuple(indices[:-1]) + tuple(data[batch + depth:])


_REDUCTIONS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _scatter(out, key, updates, reduction):
    if reduction == "none":
        out[key] = updates
    else:
        _REDUCTIONS[reduction].at(out, key, updates)
    return out


def _scatter_nd(operands, attrs):
    data, indices, updates = operands
    depth = indices.shape[-1]
    index = _indices(indices, data.shape[:depth]).reshape(-1, depth)
    updates = np.asarray(updates, dtype=data.dtype).reshape((index.shape[0],) + data.shape[depth:])
    return _scatter(data.copy(), tuple(index.T), updates, attrs.get("reduction", "none"))


def _scatter_elements(operands, attrs):
    data, indices, updates = operands
    axis = _axis(attrs, data.ndim)
    index = _indices(indices, data.shape[axis])
    grid = np.indices(index.shape, sparse=True)
    key = tuple(index if dim == axis else grid[dim] for dim in range(data.ndim))
    return _scatter(data.copy(), key, np.asarray(updates, dtype=data.dtype),
                    attrs.get("reduction", "none"))


# ----- normalizations and activations ------------------------------------------------------------
def _hardmax(operands, attrs):
    (x,) = operands
    if attrs.get("coerced", 0):  # before opset 13: the input as a 2-D (outer, inner) matrix
        axis = _axis(attrs, x.ndim, default=1)
        flat = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
        return _hardmax([flat], {"axis": 1}).reshape(x.shape)
    axis = _axis(attrs, x.ndim, default=-1)
    first = np.expand_dims(np.argmax(x, axis=axis), axis)
    positions = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    return (positions == first).astype(x.dtype)


def _lp_normalization(operands, attrs):
    (x,) = operands
    axis = _axis(attrs, x.ndim, default=-1)
    p = int(attrs.get("p", 2))
    norm = np.sum(np.abs(x), axis=axis, keepdims=True) if p == 1 else \
        np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm == 0, 0, x / norm).astype(x.dtype)  # a zero vector stays zero


def _mean_variance_normalization(operands, attrs):
    (x,) = operands
    axes = tuple(int(axis) % x.ndim for axis in attrs.get("axes", [0, 2, 3]))
    mean = np.mean(x, axis=axes, keepdims=True)
    variance = np.mean(x * x, axis=axes, keepdims=True) - mean * mean
    return ((x - mean) / (np.sqrt(variance) + np.asarray(1e-9, x.dtype))).astype(x.dtype)


def _shrink(operands, attrs):
    (x,) = operands
    lambd, bias = float(attrs.get("lambd", 0.5)), float(attrs.get("bias", 0.0))
    y = np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0))
    return y.astype(x.dtype)


def _mish(operands, attrs):
    return _mish_kernel(operands[0]).astype(operands[0].dtype)


# ----- scans, sequences, creation ----------------------------------------------------------------
def _cumulative(function):
    def compute(operands, attrs):
        x, axis = operands
        axis = _axis({"axis": int(np.asarray(axis).reshape(-1)[0])}, x.ndim)
        if attrs.get("reverse", 0):
            x = np.flip(x, axis)
        result = function(x, axis=axis, dtype=x.dtype)
        if attrs.get("exclusive", 0):
            start = [slice(None)] * x.ndim
            start[axis] = slice(0, 1)
            identity = np.zeros_like if function is np.cumsum else np.ones_like
            head = identity(result[tuple(start)])
            start[axis] = slice(0, -1)
            result = np.concatenate([head, result[tuple(start)]], axis=axis)
        return np.flip(result, axis) if attrs.get("reverse", 0) else result
    return compute


def _reverse_sequence(operands, attrs):
    x, lengths = operands
    time, batch = int(attrs.get("time_axis", 0)), int(attrs.get("batch_axis", 1))
    shape = [1] * x.ndim
    shape[time] = x.shape[time]
    steps = np.arange(x.shape[time]).reshape(shape)
    shape = [1] * x.ndim
    shape[batch] = x.shape[batch]
    lengths = np.asarray(lengths, dtype=np.int64).reshape(shape)
    if np.any(lengths < 0) or np.any(lengths > x.shape[time]):
        raise ValueError(f"a sequence length is outside [0, {x.shape[time]}]")
    source = np.where(steps < lengths, lengths - 1 - steps, steps)
    return np.take_along_axis(x, np.broadcast_to(source, x.shape), axis=time)


def _one_hot(operands, attrs):
    indices, depth, values = operands
    depth = int(np.asarray(depth).reshape(-1)[0])
    axis = int(attrs.get("axis", -1)) % (indices.ndim + 1)
    index = np.asarray(indices).astype(np.int64)
    index = np.where(index < 0, index + depth, index)
    classes = np.arange(depth).reshape((depth,) + (1,) * (indices.ndim - axis))
    values = np.asarray(values).reshape(-1)
    return np.where(np.expand_dims(index, axis) == classes, values[1], values[0])


def _one_hot_shape(shapes, attrs):
    indices = tuple(shapes[0])
    axis = int(attrs.get("axis", -1)) % (len(indices) + 1)
    return indices[:axis] + (attrs["depth"],) + indices[axis:]


def _eye_like(operands, attrs):
    (x,) = operands
    dtype = attrs.get("dtype_name") or x.dtype
    return np.eye(x.shape[0], x.shape[1], k=int(attrs.get("k", 0)), dtype=dtype)


def _depth_to_space_crd(operands, attrs):
    (x,) = operands
    b = int(attrs["blocksize"])
    n, c, h, w = x.shape
    y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _space_to_depth_crd(operands, attrs):
    (x,) = operands
    b = int(attrs["blocksize"])
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def _space_to_depth_shape(shapes, attrs):
    n, c, h, w = shapes[0]
    b = int(attrs["blocksize"])
    return (n, None if c is None else c * b * b, None if h is None else h // b,
            None if w is None else w // b)


def _depth_to_space_shape(shapes, attrs):
    n, c, h, w = shapes[0]
    b = int(attrs["blocksize"])
    return (n, None if c is None else c // (b * b), None if h is None else h * b,
            None if w is None else w * b)


# ----- LpPool ------------------------------------------------------------------------------------
def _lp_pool(operands, attrs):
    (x,) = operands
    kernel, strides = attrs["kernel_shape"], attrs["strides"]
    dilations, pads, p = attrs["dilations"], attrs["pads"], float(attrs.get("p", 2))
    spatial = len(kernel)
    padded = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + spatial]) for i in range(spatial)])
    extents = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    windows = np.lib.stride_tricks.sliding_window_view(padded, extents,
                                                       axis=tuple(range(2, 2 + spatial)))
    index = tuple(slice(None, None, s) for s in strides)
    windows = windows[(slice(None), slice(None)) + index]
    windows = windows[(Ellipsis,) + tuple(slice(None, None, d) for d in dilations)]
    sizes = _lp_pool_shape([x.shape], attrs)[2:]
    windows = windows[(slice(None), slice(None)) + tuple(slice(0, size) for size in sizes)]
    total = np.sum(np.abs(windows) ** p, axis=tuple(range(-spatial, 0)))
    return np.power(total, 1.0 / p).astype(x.dtype)


def _lp_pool_shape(shapes, attrs):
    shape = tuple(shapes[0])
    kernel, strides = attrs["kernel_shape"], attrs["strides"]
    dilations, pads = attrs["dilations"], attrs["pads"]
    spatial = len(kernel)
    sizes = []
    for i, size in enumerate(shape[2:]):
        if size is None:
            sizes.append(None)
            continue
        extent = (kernel[i] - 1) * dilations[i] + 1
        span = size + pads[i] + pads[i + spatial] - extent
        count = (-(-span // strides[i]) if attrs.get("ceil_mode", 0) else span // strides[i]) + 1
        if attrs.get("ceil_mode", 0) and (count - 1) * strides[i] >= size + pads[i]:
            count -= 1
        sizes.append(count)
    return shape[:2] + tuple(sizes)


KERNELS = {
    "GatherND": (_gather_nd, _gather_nd_shape),
    "ScatterND": (_scatter_nd, _same),
    "ScatterElements": (_scatter_elements, _same),
    "Hardmax": (_hardmax, _same),
    "LpNormalization": (_lp_normalization, _same),
    "MeanVarianceNormalization": (_mean_variance_normalization, _same),
    "Shrink": (_shrink, _same),
    "Mish": (_mish, _same),
    "CumSum": (_cumulative(np.cumsum), _same),
    "CumProd": (_cumulative(np.cumprod), _same),
    "ReverseSequence": (_reverse_sequence, _same),
    "OneHot": (_one_hot, _one_hot_shape),
    "EyeLike": (_eye_like, _same),
    "DepthToSpace": (_depth_to_space_crd, _depth_to_space_shape),
    "SpaceToDepth": (_space_to_depth_crd, _space_to_depth_shape),
    "LpPool": (_lp_pool, _lp_pool_shape),
}
