"""ONNX lowerings of `keras.ops.math`'s Fourier transforms (modelio/ops/spectral.py).

A (real, imag) pair becomes ONNX's complex layout (..., n, 2) for DFT (FFT, FFT2, IFFT2 and
RFFT, opset 17; its axis is an attribute before opset 20 and an input from 20 on) and comes
back through Gather. STFT is ONNX's STFT (opset 17) after a reflect Pad for `center`. IRFFT is
one MatMul with the irfft matrix (any opset); ISTFT folds its window into that matrix and
overlap-adds the frames with Pad/Reshape/ReduceSum and trims to Keras's length (any opset).
Windows and the inverse STFT are Keras's TensorFlow backend's (see modelio/ops/spectral.py)."""

import numpy as np

from .. import ops
from ..kernels import spectral
from .export_support import need_opset, reduce
from .op_support import refuse
from .registry import lowers


def _int(graph, value: int, hint: str) -> str:
    return graph.constant(np.asarray(value, np.int64), f"{hint}/scalar")


def _packed(graph, parts, hint: str) -> str:
    """(..., n, 1) for one real tensor, (..., n, 2) for a (real, imag) pair."""
    axis = graph.ints([-1], f"{hint}/complex_axis")
    parts = [graph.node("Unsqueeze", [part, axis], hint) for part in parts]
    return parts[0] if len(parts) == 1 else graph.node("Concat", parts, hint, axis=-1)


def _unpacked(graph, x: str, hint: str) -> list[str]:
    return [graph.node("Gather", [x, _int(graph, index, hint)], hint, axis=-1)
            for index in (0, 1)]


def _pair(graph, node, parts) -> list[str]:
    """The (real, imag) call argument as ONNX names (a constant part as an initializer)."""
    dtype = node.call_args[0][0].dtype
    return [part if isinstance(part, str) else
            graph.constant(np.asarray(part, dtype), f"{node.layer.name}/constant")
            for part in parts]


def _dft(graph, x: str, axis: int, hint: str, inverse: int = 0, onesided: int = 0) -> str:
    """ONNX's DFT along `axis` (>= 1) of a packed tensor."""
    if graph.opset >= 20:
        return graph.node("DFT", [x, "", _int(graph, axis, f"{hint}/axis")], hint,
                          inverse=inverse, onesided=onesided)
    return graph.node("DFT", [x], hint, axis=axis, inverse=inverse, onesided=onesided)


def _signal_axis(node, rank: int, count: int) -> list[int]:
    axes = list(range(rank - count, rank))
    if axes[0] < 1:
        refuse(node, "ONNX's DFT cannot transform the batch axis")
    return axes


@lowers(ops.FFT, ops.FFT2, ops.IFFT2)
def complex_transform(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    need_opset(graph, layer, 17, "ONNX's DFT")
    x = _packed(graph, _pair(graph, node, args[0]), hint)
    for axis in _signal_axis(node, len(node.call_args[0][0].shape), len(layer.AXES)):
        x = _dft(graph, x, axis, hint, inverse=int(layer.INVERSE))
    return _unpacked(graph, x, hint)


@lowers(ops.RFFT)
def rfft(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    need_opset(graph, layer, 17, "ONNX's DFT")
    shape = node.call_args[0].shape
    axis = _signal_axis(node, len(shape), 1)[0]
    x, size = args[0], shape[-1]
    length = layer.arguments["fft_length"] or size
    if size is None:
        refuse(node, "an RFFT of a last axis of unknown size")
    if length < size:
        x = graph.node("Slice", [x, graph.ints([0], f"{hint}/start"),
                                 graph.ints([length], f"{hint}/stop"),
                                 graph.ints([-1], f"{hint}/axis")], hint)
    elif length > size:
        pads = [0] * (2 * len(shape))
        pads[-1] = length - size
        x = graph.node("Pad", [x, graph.ints(pads, f"{hint}/pads")], hint)
    return _unpacked(graph, _dft(graph, _packed(graph, [x], hint), axis, hint, onesided=1),
                     hint)


MAX_MATRIX_ELEMENTS = 2**25


def _irfft_matrix(node, bins: int, fft_length: int) -> np.ndarray:
    used = min(bins, fft_length // 2 + 1)
    if 2 * used * fft_length > MAX_MATRIX_ELEMENTS:
        refuse(node, f"the irfft of fft_length {fft_length} as a MatMul needs a matrix of "
                     f"{2 * used * fft_length} elements (more than {MAX_MATRIX_ELEMENTS})")
    return spectral.irfft_matrix(bins, fft_length)


def _irfft_frames(graph, node, parts, matrix: np.ndarray, hint: str) -> str:
    """`concat(real, imag) @ matrix` over the bins the matrix uses."""
    used = matrix.shape[0] // 2
    bins = node.call_args[0][0].shape[-1]
    if bins > used:
        parts = [graph.node("Slice", [part, graph.ints([0], f"{hint}/start"),
                                      graph.ints([used], f"{hint}/stop"),
                                      graph.ints([-1], f"{hint}/axis")], hint)
                 for part in parts]
    joined = graph.node("Concat", list(parts), hint, axis=-1)
    dtype = node.call_args[0][0].dtype
    return graph.node("MatMul", [joined, graph.constant(matrix.astype(dtype),
                                                        f"{hint}/irfft_matrix")], hint)


@lowers(ops.IRFFT)
def irfft(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    bins = node.call_args[0][0].shape[-1]
    matrix = _irfft_matrix(node, bins, layer.length(bins))
    return _irfft_frames(graph, node, _pair(graph, node, args[0]), matrix, hint)


def _batched(graph, node, x: str, shape: tuple, kept: int, hint: str) -> str:
    """`x` of `shape` with its leading axes merged into one (kept: how many trailing axes
    stay)."""
    if len(shape) == kept + 1:
        return x
    if None in shape[1:]:
        refuse(node, f"export needs known sizes past the batch axis, got {tuple(shape)}")
    return graph.node("Reshape", [x, graph.ints([-1, *shape[-kept:]], f"{hint}/merge")], hint)


def _unbatched(graph, x: str, lead: tuple, tail: list[int], hint: str) -> str:
    if len(lead) == 1:
        return x
    return graph.node("Reshape", [x, graph.ints([-1, *lead[1:], *tail], f"{hint}/split")], hint)


@lowers(ops.STFT)
def stft(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    need_opset(graph, layer, 17, "ONNX's STFT")
    shape, dtype = tuple(node.call_args[0].shape), node.call_args[0].dtype
    sequence_length, stride, fft_length = layer.settings()
    x = _batched(graph, node, args[0], shape, 1, hint)
    if layer.arguments["center"]:
        half = fft_length // 2
        x = graph.node("Pad", [x, graph.ints([0, half, 0, half], f"{hint}/pads")], hint,
                       mode="reflect")
    window = spectral.padded_window(layer.arguments["window"], sequence_length, fft_length,
                                    tensorflow=True)
    y = graph.node("STFT", [_packed(graph, [x], hint), _int(graph, stride, f"{hint}/step"),
                            graph.constant(window.astype(dtype), f"{hint}/window"),
                            _int(graph, fft_length, f"{hint}/frame_length")], hint,
                   onesided=1)
    out_tail = list(node.outputs[0].shape[-2:])
    return [_unbatched(graph, part, shape[:-1], out_tail, hint)
            for part in _unpacked(graph, y, hint)]


def _overlap_add(graph, frames: str, count: int, length: int, step: int, hint: str) -> str:
    """(B, (count + segments - 1) * step) sums of the (B, count, length) frames `step` apart:
    each frame cut into `segments` pieces of `step`, piece s shifted by s rows through a
    reshape of the zero-padded (B, segments, count + segments, step) tensor, then summed."""
    segments = -(-length // step)
    if segments * step > length:
        frames = graph.node("Pad", [frames, graph.ints(
            [0, 0, 0, 0, 0, segments * step - length], f"{hint}/frame_pads")], hint)
    pieces = graph.node("Reshape", [frames, graph.ints([-1, count, segments, step],
                                                       f"{hint}/pieces")], hint)
    pieces = graph.node("Transpose", [pieces], hint, perm=[0, 2, 1, 3])
    pieces = graph.node("Pad", [pieces, graph.ints([0, 0, 0, 0, 0, 0, segments, 0],
                                                   f"{hint}/shift_pads")], hint)
    flat = graph.node("Reshape", [pieces, graph.ints([-1, segments * (count + segments) * step],
                                                     f"{hint}/flat")], hint)
    width = (count + segments - 1) * step
    flat = graph.node("Slice", [flat, graph.ints([0], f"{hint}/start"),
                                graph.ints([segments * width], f"{hint}/stop"),
                                graph.ints([1], f"{hint}/axis")], hint)
    shifted = graph.node("Reshape", [flat, graph.ints([-1, segments, width], f"{hint}/shifted")],
                         hint)
    return reduce(graph, "ReduceSum", shifted, [1], False, hint)


@lowers(ops.ISTFT)
def istft(graph, node, args, kwargs):
    layer, hint = node.layer, node.layer.name
    shape = tuple(node.call_args[0][0].shape)
    count, bins = shape[-2:]
    _, stride, fft_length = layer.settings()
    plan = layer.plan(count)
    matrix = _irfft_matrix(node, bins, fft_length) * plan.taper[None, :]
    parts = [_batched(graph, node, part, shape, 2, hint)
             for part in _pair(graph, node, args[0])]
    frames = _irfft_frames(graph, node, parts, matrix, hint)
    signal = _overlap_add(graph, frames, count, fft_length, stride, hint)
    signal = graph.node("Slice", [signal, graph.ints([plan.start], f"{hint}/start"),
                                  graph.ints([plan.stop], f"{hint}/stop"),
                                  graph.ints([1], f"{hint}/axis")], hint)
    return _unbatched(graph, signal, shape[:-2], [plan.stop - plan.start], hint)
