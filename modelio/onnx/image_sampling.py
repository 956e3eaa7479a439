"""ONNX lowerings of modelio/ops/image_sampling.py, computed exactly as the numpy kernels do
(modelio/kernels/image_sampling.py) rather than with GridSample, whose rounding of halves and
border modes differ from Keras's: the sample positions are computed in the graph, moved into
the image per fill mode, and the neighbours read with GatherND / Gather.

AffineTransform and PerspectiveTransform need batched float32 images of known height and width;
PerspectiveTransform needs constant points (ONNX has no linear solver for the homography);
ScaleAndTranslate needs constant scale and translation (its weights become MatMul constants)."""

import numpy as np

from .. import ops
from ..graph.tensor import SymbolicTensor
from ..kernels import image_sampling
from .op_support import known_size, operand, refuse
from .registry import lowers

_INT64 = 7  # onnx.TensorProto.INT64


class _Ops:
    """Terse node building for one lowering."""

    def __init__(self, graph, hint):
        self.graph, self.hint = graph, hint

    def __call__(self, name, *inputs, **attributes):
        return self.graph.node(name, list(inputs), self.hint, **attributes)

    def f(self, value):
        return self.graph.constant(np.asarray(value, np.float32), f"{self.hint}/c")

    def i(self, value):
        return self.graph.constant(np.asarray(value, np.int64), f"{self.hint}/i")

    def to_int(self, x):
        return self("Cast", x, to=_INT64)

    def trunc(self, x):
        return self("Where", self("Less", x, self.f(0.0)), self("Ceil", x), self("Floor", x))


def _map_position(o, c, length: int, fill_mode: str):
    """TensorFlow's mapping of a sample position into [0, length - 1] per fill mode."""
    if fill_mode == "constant":
        return c
    if fill_mode != "nearest" and length <= 1:
        return o("Mul", c, o.f(0.0))
    if fill_mode == "reflect":
        sz2 = o.f(2 * length)
        below = o("Add", o("Mul", sz2, o.trunc(o("Div", o("Neg", c), sz2))), c)
        below = o("Where", o("Less", below, o.f(-length)), o("Add", below, sz2),
                  o("Sub", o("Neg", below), o.f(1.0)))
        above = o("Sub", c, o("Mul", sz2, o.trunc(o("Div", c, sz2))))
        above = o("Where", o("Less", above, o.f(length)), above,
                  o("Sub", o("Sub", sz2, above), o.f(1.0)))
        c = o("Where", o("Less", c, o.f(0.0)), below,
              o("Where", o("Greater", c, o.f(length - 1)), above, c))
    elif fill_mode == "wrap":
        sz, size = o.f(length - 1), o.f(length)
        below = o("Add", c, o("Mul", size, o("Add", o.trunc(o("Div", o("Neg", c), sz)),
                                                o.f(1.0))))
        above = o("Sub", c, o("Mul", size, o.trunc(o("Div", c, sz))))
        c = o("Where", o("Less", c, o.f(0.0)), below,
              o("Where", o("Greater", c, o.f(length - 1)), above, c))
    return o("Clip", c, o.f(0.0), o.f(length - 1))


def _mirror(o, index, size):
    """|(i + s) mod 2s - s|, s = size - 1 (int64 names; `size` an int64 name)."""
    period = o("Sub", size, o.i(1))
    double = o("Max", o("Add", period, period), o.i(1))
    return o("Abs", o("Sub", o("Mod", o("Add", index, period), double), period))


def _transforms(graph, node, args, o):
    layer = node.layer
    if isinstance(layer, ops.AffineTransform):
        transform = operand(graph, node, 1, args[1], np.float32)
        rank = len(node.call_args[1].shape) if isinstance(node.call_args[1], SymbolicTensor) \
            else np.ndim(node.call_args[1])
        return transform if rank == 2 else o("Unsqueeze", transform, o.i([0]))
    points = node.call_args[1:3]
    if any(isinstance(value, SymbolicTensor) for value in points):
        refuse(node, "start_points and end_points computed in the graph (the homography needs "
                     "a linear solver ONNX lacks; constant points work)")
    start, end = (np.asarray(value, np.float32) for value in points)
    start = start if start.ndim == 3 else start[None]
    end = end if end.ndim == 3 else end[None]
    return graph.constant(image_sampling.homography(start, end), f"{layer.name}/homography")


@lowers(ops.AffineTransform, ops.PerspectiveTransform)
def warp(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = node.call_args[0].shape
    if np.dtype(node.call_args[0].dtype) != np.float32:
        refuse(node, f"{node.call_args[0].dtype} images (float32 only)")
    if len(shape) != 4:
        refuse(node, "unbatched images")
    first = layer.arguments["data_format"] == "channels_first"
    height = known_size(node, shape[2 if first else 1], "the image height")
    width = known_size(node, shape[3 if first else 2], "the image width")
    fill_mode = layer.arguments.get("fill_mode", "constant")
    o = _Ops(graph, hint)
    x = o("Transpose", args[0], perm=[0, 2, 3, 1]) if first else args[0]
    data = o("Reshape", x, o.i([0, height * width, -1]))
    fill = o.f(layer.arguments["fill_value"])
    t = _transforms(graph, node, args, o)
    count = o("Slice", o("Shape", x), o.i([0]), o.i([1]))
    points = height * width
    grid_y, grid_x = np.meshgrid(np.arange(height, dtype=np.float32),
                                 np.arange(width, dtype=np.float32), indexing="ij")
    out_x, out_y = o.f(grid_x.reshape(1, -1)), o.f(grid_y.reshape(1, -1))
    coefficient = [o("Slice", t, o.i([index]), o.i([index + 1]), o.i([1])) for index in range(8)]

    def line(a, b, shift):
        return o("Add", o("Add", o("Mul", a, out_x), o("Mul", b, out_y)), shift)

    k = line(coefficient[6], coefficient[7], o.f(1.0))
    defined = o("Not", o("Equal", k, o.f(0.0)))
    k = o("Where", defined, k, o.f(1.0))
    full = o("Concat", count, o.i([points]), axis=0)
    in_x = o("Expand", o("Div", line(*coefficient[0:3]), k), full)
    in_y = o("Expand", o("Div", line(*coefficient[3:6]), k), full)

    def gather(rows, cols, check=True):
        flat = o("Add", o("Mul", o("Clip", rows, o.i(0), o.i(height - 1)), o.i(width)),
                 o("Clip", cols, o.i(0), o.i(width - 1)))
        values = o("GatherND", data, o("Unsqueeze", flat, o.i([-1])), batch_dims=1)
        if not check:
            return values
        inside = o("And", o("And", o("GreaterOrEqual", rows, o.i(0)),
                            o("Less", rows, o.i(height))),
                   o("And", o("GreaterOrEqual", cols, o.i(0)), o("Less", cols, o.i(width))))
        return o("Where", o("Unsqueeze", inside, o.i([-1])), values, fill)

    def weight(w):
        return o("Unsqueeze", w, o.i([-1]))

    if fill_mode == "mirror":
        sizes_y, sizes_x = o.i(height), o.i(width)
        if layer.arguments["interpolation"] == "nearest":
            out = gather(_mirror(o, o.to_int(o("Round", in_y)), sizes_y),
                         _mirror(o, o.to_int(o("Round", in_x)), sizes_x), check=False)
        else:
            y0, x0 = o("Floor", in_y), o("Floor", in_x)
            wy1, wx1 = o("Sub", in_y, y0), o("Sub", in_x, x0)
            weights_y, weights_x = (o("Sub", o.f(1.0), wy1), wy1), (o("Sub", o.f(1.0), wx1), wx1)
            rows = [_mirror(o, o("Add", o.to_int(y0), o.i(step)), sizes_y) for step in (0, 1)]
            cols = [_mirror(o, o("Add", o.to_int(x0), o.i(step)), sizes_x) for step in (0, 1)]
            out = None
            for i in (0, 1):
                for j in (0, 1):
                    term = o("Mul", weight(o("Mul", weights_y[i], weights_x[j])),
                             gather(rows[i], cols[j], check=False))
                    out = term if out is None else o("Add", out, term)
    else:
        in_x = _map_position(o, in_x, width, fill_mode)
        in_y = _map_position(o, in_y, height, fill_mode)
        if layer.arguments["interpolation"] == "nearest":
            def half_away(v):
                return o.to_int(o("Mul", o("Sign", v),
                                  o("Floor", o("Add", o("Abs", v), o.f(0.5)))))
            out = gather(half_away(in_y), half_away(in_x))
        else:
            x0, y0 = o("Floor", in_x), o("Floor", in_y)
            x1, y1 = o("Add", x0, o.f(1.0)), o("Add", y0, o.f(1.0))
            rows0, rows1, cols0, cols1 = (o.to_int(v) for v in (y0, y1, x0, x1))
            wx0, wx1 = weight(o("Sub", x1, in_x)), weight(o("Sub", in_x, x0))
            wy0, wy1 = weight(o("Sub", y1, in_y)), weight(o("Sub", in_y, y0))
            top = o("Add", o("Mul", wx0, gather(rows0, cols0)), o("Mul", wx1, gather(rows0, cols1)))
            bottom = o("Add", o("Mul", wx0, gather(rows1, cols0)),
                       o("Mul", wx1, gather(rows1, cols1)))
            out = o("Add", o("Mul", wy0, top), o("Mul", wy1, bottom))
    out = o("Where", weight(o("Expand", defined, full)), out, fill)
    out = o("Reshape", out, o.i([0, height, width, -1]))
    return o("Transpose", out, perm=[0, 3, 1, 2]) if first else out


@lowers(ops.MapCoordinates)
def map_coordinates(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    if np.dtype(node.call_args[0].dtype) != np.float32:
        refuse(node, f"{node.call_args[0].dtype} inputs (float32 only)")
    rank = len(node.call_args[0].shape)
    fill_mode, order = layer.arguments["fill_mode"], layer.arguments["order"]
    o = _Ops(graph, hint)
    data = o("Reshape", args[0], o.i([-1]))
    coordinates = operand(graph, node, 1, args[1], np.float32)
    sizes = o("Shape", args[0])
    size = [o("Slice", sizes, o.i([axis]), o.i([axis + 1])) for axis in range(rank)]
    strides = [o.i([1])]
    for axis in range(rank - 1, 0, -1):
        strides.insert(0, o("Mul", strides[0], size[axis]))
    fixers = {
        "constant": lambda i, n: o("Max", o("Min", i, o("Sub", n, o.i(1))), o.i(0)),
        "nearest": lambda i, n: o("Max", o("Min", i, o("Sub", n, o.i(1))), o.i(0)),
        "wrap": lambda i, n: o("Mod", i, n),
        "mirror": lambda i, n: _mirror(o, i, n),
        "reflect": _reflect_tf,
    }
    nodes = []
    for axis in range(rank):
        c = o("Gather", coordinates, o.i(axis), axis=0)
        if order == 0:
            pairs = [(o.to_int(o("Round", c)), None)]
        else:
            lower = o("Floor", c)
            upper_weight = o("Sub", c, lower)
            index = o.to_int(lower)
            pairs = [(index, o("Sub", o.f(1.0), upper_weight)),
                     (o("Add", index, o.i(1)), upper_weight)]
        entries = []
        for index, w in pairs:
            valid = o("And", o("GreaterOrEqual", index, o.i(0)), o("Less", index, size[axis]))
            entries.append((fixers[fill_mode](index, size[axis]) if fill_mode != "reflect"
                            else _reflect_tf(o, index, size[axis]), valid, w))
        nodes.append(entries)
    fill = o.f(layer.arguments["fill_value"])
    result = None
    for corner in np.ndindex(*(len(entries) for entries in nodes)):
        items = [nodes[axis][choice] for axis, choice in enumerate(corner)]
        flat = None
        for axis, (index, _, _) in enumerate(items):
            term = o("Mul", index, strides[axis])
            flat = term if flat is None else o("Add", flat, term)
        values = o("Gather", data, flat, axis=0)
        if fill_mode == "constant":
            valid = items[0][1]
            for _, other, _ in items[1:]:
                valid = o("And", valid, other)
            values = o("Where", valid, values, fill)
        weights = [w for _, _, w in items if w is not None]
        if weights:
            w = weights[0]
            for other in weights[1:]:
                w = o("Mul", w, other)
            values = o("Mul", w, values)
        result = values if result is None else o("Add", result, values)
    return result


def _reflect_tf(o, index, size):
    double = o("Add", size, size)
    folded = o("Mod", o("Abs", index), double)
    return o("Where", o("Less", folded, size), folded,
             o("Sub", o("Sub", double, folded), o.i(1)))


@lowers(ops.ScaleAndTranslate)
def scale_and_translate(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    if np.dtype(node.call_args[0].dtype) != np.float32:
        refuse(node, f"{node.call_args[0].dtype} images (float32 only)")
    factors = node.call_args[2:4]
    if any(isinstance(value, SymbolicTensor) for value in factors):
        refuse(node, "scale or translation computed in the graph (constants become the "
                     "resampling weights)")
    shape = node.call_args[0].shape
    rank = len(shape)
    sizes = [int(value) for value in np.asarray(node.call_args[1]).reshape(-1)]
    dims = layer.spatial_dims(rank)
    scales, translations = layer.factors(*factors, len(dims))
    o = _Ops(graph, hint)
    out = args[0]
    for axis, factor, shift in zip(dims, scales, translations):
        weights = image_sampling.scale_and_translate_weights(
            known_size(node, shape[axis], "ScaleAndTranslate"), sizes[axis], factor, shift,
            layer.arguments["method"], layer.arguments["antialias"])
        perm = [*[a for a in range(rank) if a != axis], axis]
        moved = o("Transpose", out, perm=perm)
        product = o("MatMul", moved, graph.constant(weights, f"{hint}/weights"))
        out = o("Transpose", product, perm=list(np.argsort(perm)))
    return out
