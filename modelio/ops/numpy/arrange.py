"""Operations that rearrange tensors, as `keras.ops.numpy` records them beyond shape.py's:
`reshape`, `transpose`, `split`, `array_split`, `tile`, `repeat`, `flip`, `roll`, `moveaxis`,
`swapaxes`, `broadcast_to`, `pad`, `ravel`, `hstack`, `vstack`, `tril`, `triu`, `diagonal`, and
`keras.ops.core.unstack`. Each is its own registered class with Keras's config; shapes and axes
include the batch axis, as in Keras."""

import math

import numpy as np

from ...graph.operation import broadcast_shapes
from ...graph.registry import register_operation
from ..base import REQUIRED, KerasOp, axis_list, normalize_axis, spec_of

__all__ = ["ArraySplit", "BroadcastTo", "Diagonal", "Flip", "Hstack", "Moveaxis", "Pad",
           "PAD_MODES", "Ravel", "Repeat", "Reshape", "Roll", "Split", "Swapaxes", "Tile",
           "Transpose", "Tril", "Triu", "Unstack", "Vstack", "split_sizes"]


def _ints(op, key, allow_int=True):
    value = op.arguments[key]
    items = value if isinstance(value, list) else [value] if allow_int else None
    if items is None or not all(isinstance(item, int) and not isinstance(item, bool)
                                for item in items):
        op.fail(f"{key} must be {'an integer or ' if allow_int else ''}a list of integers, "
                f"got {value!r}")
    return items


@register_operation
class Reshape(KerasOp):
    """`x` reshaped to `newshape` (every axis, the batch included; one -1)."""

    ARGUMENTS = {"newshape": REQUIRED}

    def check(self):
        shape = _ints(self, "newshape")
        if sum(dim == -1 for dim in shape) > 1 or any(dim < -1 for dim in shape):
            self.fail(f"newshape may hold one -1 and no other negative size, got {shape}")

    def target(self, shape):
        newshape = self.arguments["newshape"]
        dims = list(newshape) if isinstance(newshape, list) else [newshape]
        if -1 in dims:
            known = math.prod(dim for dim in dims if dim != -1)
            total = None if None in shape else math.prod(shape)
            if total is None or known == 0:
                dims[dims.index(-1)] = None
            elif total % known:
                self.fail(f"cannot reshape {tuple(shape)} to {newshape}")
            else:
                dims[dims.index(-1)] = total // known
        elif None not in shape and math.prod(shape) != math.prod(dims):
            self.fail(f"cannot reshape {tuple(shape)} to {newshape}")
        return tuple(dims)

    def call(self, x):
        return np.reshape(x, self.target(x.shape))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return self.target(shape), dtype


@register_operation
class Transpose(KerasOp):
    """`x` with its axes permuted by `axes` (None: reversed)."""

    ARGUMENTS = {"axes": None}

    def check(self):
        if self.arguments["axes"] is not None:
            _ints(self, "axes", allow_int=False)

    def perm(self, rank: int) -> list[int]:
        axes = self.arguments["axes"]
        if axes is None:
            return list(reversed(range(rank)))
        perm = [normalize_axis(self, axis, rank) for axis in axes]
        if sorted(perm) != list(range(rank)):
            self.fail(f"axes {axes} is not a permutation of {rank} axes")
        return perm

    def call(self, x):
        return np.transpose(x, self.perm(x.ndim))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return tuple(shape[axis] for axis in self.perm(len(shape))), dtype


def split_sizes(op, size, sections, even: bool) -> list:
    """The part sizes of an axis of `size` split by `sections` (a count or split points)."""
    if isinstance(sections, list):
        if size is None:
            op.fail("splitting at indices needs the axis size to be known")
        points = [0, *[min(max(point if point >= 0 else point + size, 0), size)
                       for point in sections], size]
        return [max(end - start, 0) for start, end in zip(points, points[1:])]
    if sections < 1:
        op.fail(f"indices_or_sections must be >= 1, got {sections}")
    if size is None:
        return [None] * sections
    if even and size % sections:
        op.fail(f"an axis of {size} does not split into {sections} equal parts")
    base, extra = divmod(size, sections)
    return [base + 1 if index < extra else base for index in range(sections)]


class _Splitting(KerasOp):
    ARGUMENTS = {"indices_or_sections": REQUIRED, "axis": 0}
    even = True

    def check(self):
        _ints(self, "indices_or_sections")
        self.check_int("axis")

    def sizes(self, shape) -> list:
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        return split_sizes(self, shape[axis], self.arguments["indices_or_sections"], self.even)

    def call(self, x):
        axis = normalize_axis(self, self.arguments["axis"], x.ndim)
        offsets = np.cumsum([0, *self.sizes(x.shape)])
        return [np.take(x, np.arange(start, end), axis=axis)
                for start, end in zip(offsets, offsets[1:])]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        return [(shape[:axis] + (size,) + shape[axis + 1:], dtype) for size in self.sizes(shape)]


@register_operation
class Split(_Splitting):
    """`x` split along `axis` into equal parts (a count) or at indices (a list)."""


@register_operation
class ArraySplit(_Splitting):
    """`x` split along `axis` into parts whose sizes differ by at most one."""

    even = False


@register_operation
class Unstack(KerasOp):
    """The slices of `x` along `axis`, as a list."""

    _keras_module = "keras.src.ops.core"
    ARGUMENTS = {"num": None, "axis": 0}

    def check(self):
        self.check_int("num", allow_none=True)
        self.check_int("axis")

    def call(self, x):
        axis = normalize_axis(self, self.arguments["axis"], x.ndim)
        return [np.take(x, index, axis=axis) for index in range(x.shape[axis])]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        count = shape[axis] if shape[axis] is not None else self.arguments["num"]
        if count is None:
            self.fail("unstacking an axis of unknown size needs num")
        return [(shape[:axis] + shape[axis + 1:], dtype)] * count


@register_operation
class Tile(KerasOp):
    """`x` repeated `repeats` times along each axis (numpy's tile)."""

    ARGUMENTS = {"repeats": REQUIRED}

    def check(self):
        if any(count < 0 for count in _ints(self, "repeats")):
            self.fail("repeats must not be negative")

    def reps(self, rank: int) -> list[int]:
        repeats = self.arguments["repeats"]
        repeats = repeats if isinstance(repeats, list) else [repeats]
        return [1] * (rank - len(repeats)) + list(repeats)

    def call(self, x):
        return np.tile(x, self.arguments["repeats"])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        reps = self.reps(len(shape))
        shape = (1,) * (len(reps) - len(shape)) + tuple(shape)
        return tuple(None if dim is None else dim * count for dim, count in zip(shape, reps)), \
            dtype


@register_operation
class Repeat(KerasOp):
    """Each element of `x` repeated `repeats` times along `axis` (None: of the flattened x)."""

    ARGUMENTS = {"repeats": REQUIRED, "axis": None}

    def check(self):
        if any(count < 0 for count in _ints(self, "repeats")):
            self.fail("repeats must not be negative")
        self.check_int("axis", allow_none=True)

    def call(self, x):
        return np.repeat(x, self.arguments["repeats"], axis=self.arguments["axis"])

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        repeats, axis = self.arguments["repeats"], self.arguments["axis"]
        if axis is None:
            shape, axis = ((None if None in shape else math.prod(shape)),), 0
        axis = normalize_axis(self, axis, len(shape))
        size = shape[axis]
        if isinstance(repeats, list):
            if size is not None and len(repeats) not in (1, size):
                self.fail(f"{len(repeats)} repeats for an axis of {size}")
            total = sum(repeats) if len(repeats) > 1 else (
                None if size is None else size * repeats[0])
        else:
            total = None if size is None else size * repeats
        return shape[:axis] + (total,) + shape[axis + 1:], dtype


class _SameShape(KerasOp):
    def output_spec(self, x):
        return spec_of(x)


@register_operation
class Flip(_SameShape):
    """`x` reversed along `axis` (None: every axis)."""

    ARGUMENTS = {"axis": None}

    def check(self):
        self.check_axes("axis")

    def call(self, x):
        return np.flip(x, axis=tuple(axis_list(self, self.arguments["axis"], x.ndim)))


@register_operation
class Roll(_SameShape):
    """`x` shifted by `shift` along `axis` (None: of the flattened tensor), wrapping around."""

    ARGUMENTS = {"shift": REQUIRED, "axis": None}

    def check(self):
        _ints(self, "shift")
        self.check_axes("axis")

    def call(self, x):
        axis = self.arguments["axis"]
        return np.roll(x, self.arguments["shift"], axis=tuple(axis) if isinstance(axis, list)
                       else axis)


@register_operation
class Moveaxis(KerasOp):
    """`x` with axes `source` moved to positions `destination`."""

    ARGUMENTS = {"source": REQUIRED, "destination": REQUIRED}

    def check(self):
        if len(_ints(self, "source")) != len(_ints(self, "destination")):
            self.fail("source and destination must have as many axes")

    def perm(self, rank):
        source = axis_list(self, self.arguments["source"], rank) if not isinstance(
            self.arguments["source"], list) else [normalize_axis(self, a, rank)
                                                  for a in self.arguments["source"]]
        destination = self.arguments["destination"]
        destination = [normalize_axis(self, a, rank) for a in (
            destination if isinstance(destination, list) else [destination])]
        order = [axis for axis in range(rank) if axis not in source]
        for dest, src in sorted(zip(destination, source)):
            order.insert(dest, src)
        return order

    def call(self, x):
        return np.transpose(x, self.perm(x.ndim))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return tuple(shape[axis] for axis in self.perm(len(shape))), dtype


@register_operation
class Swapaxes(Moveaxis):
    """`x` with axes `axis1` and `axis2` exchanged."""

    ARGUMENTS = {"axis1": REQUIRED, "axis2": REQUIRED}

    def check(self):
        self.check_int("axis1")
        self.check_int("axis2")

    def perm(self, rank):
        first = normalize_axis(self, self.arguments["axis1"], rank)
        second = normalize_axis(self, self.arguments["axis2"], rank)
        order = list(range(rank))
        order[first], order[second] = second, first
        return order


@register_operation
class BroadcastTo(KerasOp):
    """`x` broadcast to `shape` (every axis, the batch included)."""

    ARGUMENTS = {"shape": REQUIRED}

    def check(self):
        if any(dim < 0 for dim in _ints(self, "shape")):
            self.fail("shape must not hold negative sizes")

    def call(self, x):
        return np.array(np.broadcast_to(x, self.arguments["shape"]))

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        target = tuple(self.arguments["shape"])
        broadcast_shapes(shape, target, where=f"{self.label}: ")
        return target, dtype


PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap", "maximum", "minimum", "mean",
             "median")


@register_operation
class Pad(KerasOp):
    """`x` padded by `pad_width` ((before, after) per axis, or one pair for all) in `mode`;
    `constant_values` (a call argument) fills constant padding."""

    ARGUMENTS = {"pad_width": REQUIRED, "mode": "constant"}

    def check(self):
        width = self.arguments["pad_width"]
        pairs = width if isinstance(width, list) and width and isinstance(width[0], list) \
            else [width]
        if not all(isinstance(pair, list) and len(pair) == 2 and all(
                isinstance(item, int) and not isinstance(item, bool) and item >= 0
                for item in pair) for pair in pairs):
            self.fail(f"pad_width must be [before, after] pairs of sizes >= 0, got {width!r}")
        self.check_choice("mode", PAD_MODES)

    def pairs(self, rank: int) -> list:
        width = self.arguments["pad_width"]
        pairs = width if isinstance(width[0], list) else [width]
        if len(pairs) == 1:
            pairs = pairs * rank
        if len(pairs) != rank:
            self.fail(f"pad_width has {len(pairs)} pairs for a rank-{rank} tensor")
        return pairs

    def call(self, x, constant_values=None):
        pairs = self.pairs(x.ndim)
        if self.arguments["mode"] == "constant":
            return np.pad(x, pairs, constant_values=0 if constant_values is None
                          else constant_values)
        if constant_values is not None:
            self.fail("constant_values needs mode 'constant'")
        return np.pad(x, pairs, mode=self.arguments["mode"])

    def output_spec(self, x, constant_values=None):
        shape, dtype = spec_of(x)
        return tuple(None if dim is None else dim + before + after
                     for dim, (before, after) in zip(shape, self.pairs(len(shape)))), dtype


@register_operation
class Ravel(KerasOp):
    """`x` flattened to one axis (the batch included)."""

    def call(self, x):
        return np.ravel(x)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        return (None if None in shape else math.prod(shape),), dtype


class _Stacking(KerasOp):
    def _eager_call(self, args, kwargs):
        return self.call([np.asarray(value) for value in args[0]])

    def axis(self, rank):
        return 0

    def call(self, xs):
        return np.concatenate([np.atleast_1d(x) for x in xs], axis=self.axis(np.ndim(xs[0])))

    def output_spec(self, xs):
        specs = [spec_of(x) for x in xs]
        shape = list(specs[0][0])
        axis = self.axis(len(shape))
        sizes = [spec[0][axis] for spec in specs]
        shape[axis] = None if None in sizes else sum(sizes)
        return tuple(shape), np.result_type(*[spec[1] for spec in specs]).name


@register_operation
class Hstack(_Stacking):
    """Tensors joined along axis 1 (axis 0 for vectors)."""

    def axis(self, rank):
        return 0 if rank == 1 else 1


@register_operation
class Vstack(_Stacking):
    """Tensors joined along axis 0 (the batch axis, as numpy's vstack)."""

    def call(self, xs):
        return np.vstack(xs)


class _Triangle(_SameShape):
    ARGUMENTS = {"k": 0}
    lower = True

    def check(self):
        self.check_int("k")

    def call(self, x):
        function = np.tril if self.lower else np.triu
        return function(x, self.arguments["k"])


@register_operation
class Tril(_Triangle):
    """`x` with the elements above diagonal `k` of its last two axes set to zero."""


@register_operation
class Triu(_Triangle):
    """`x` with the elements below diagonal `k` of its last two axes set to zero."""

    lower = False


class DiagonalPlane(KerasOp):
    """Base of the ops that read diagonal `offset` of the plane (`axis1`, `axis2`)."""

    ARGUMENTS = {"offset": 0, "axis1": 0, "axis2": 1}

    def check(self):
        for key in self.ARGUMENTS:
            self.check_int(key)

    def plane(self, rank):
        first = normalize_axis(self, self.arguments["axis1"], rank)
        second = normalize_axis(self, self.arguments["axis2"], rank)
        if first == second:
            self.fail("axis1 and axis2 must differ")
        return first, second


@register_operation
class Diagonal(DiagonalPlane):
    """The diagonal `offset` of the plane (`axis1`, `axis2`), appended as the last axis."""

    def length(self, rows, columns):
        offset = self.arguments["offset"]
        if rows is None or columns is None:
            return None
        return max(0, min(rows + min(offset, 0), columns - max(offset, 0)))

    def call(self, x):
        first, second = self.plane(x.ndim)
        return np.diagonal(x, self.arguments["offset"], first, second).copy()

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        first, second = self.plane(len(shape))
        rest = tuple(dim for axis, dim in enumerate(shape) if axis not in (first, second))
        return rest + (self.length(shape[first], shape[second]),), dtype
