"""ONNX lowerings of the audio family (modelio/layers/audio.py): both spectrograms become a Conv
with DFT kernels (the STFT as a strided convolution), then Mul/Add/Sqrt/Log/Pow, a MatMul with
the mel filterbank and ReduceMax for MelSpectrogram's decibel floor; STFTSpectrogram's "angle"
builds atan2 from Atan (ONNX has no atan2)."""

import numpy as np

from ..errors import UnsupportedError
from ..kernels import spectral
from ..kernels.normalization import BACKEND_EPSILON
from ..layers import audio
from .export_support import cast_to, reduce
from .registry import lowers_float32


def _refuse(layer, why: str):
    raise UnsupportedError(f"layer '{layer.name}' ({type(layer).__name__}): cannot be exported to "
                           f"ONNX: {why}")


def _const(graph, value, hint):
    return graph.constant(np.asarray(value, np.float32), hint)


@lowers_float32(audio.MelSpectrogram)
def mel_spectrogram(graph, node, args, kwargs):
    layer = node.layer
    hint = layer.name
    if len(node.input_tensors[0].shape) != 2:
        _refuse(layer, "export takes batched signals of shape (batch, samples)")
    x = cast_to(graph, args[0], node.input_tensors[0].dtype, "float32", hint)
    x = graph.node("Unsqueeze", [x, graph.ints([1], f"{hint}/channel")], hint)
    half = layer.fft_length // 2
    x = graph.node("Pad", [x, graph.ints([0, 0, half, 0, 0, half], f"{hint}/pads")], hint,
                   mode="reflect")
    # rfft of each windowed frame as a strided convolution: kernels (bins, 1, fft_length)
    taper = np.zeros(layer.fft_length)
    left = (layer.fft_length - layer.sequence_length) // 2
    taper[left:left + layer.sequence_length] = spectral.window(layer.window,
                                                               layer.sequence_length, True)
    bins = layer.fft_length // 2 + 1
    phase = 2.0 * np.pi * np.outer(np.arange(bins), np.arange(layer.fft_length)) / layer.fft_length
    parts = []
    for name, kernel in (("cos", np.cos(phase)), ("sin", np.sin(phase))):
        weights = _const(graph, (kernel * taper)[:, None, :], f"{hint}/{name}_kernel")
        parts.append(graph.node("Conv", [x, weights], hint, strides=[layer.sequence_stride]))
    power = graph.node("Add", [graph.node("Mul", [parts[0], parts[0]], hint),
                               graph.node("Mul", [parts[1], parts[1]], hint)], hint)
    spec = graph.node("Pow", [power, _const(graph, layer.mag_exp / 2.0, f"{hint}/exponent")], hint)
    frames_first = graph.node("Transpose", [spec], hint, perm=[0, 2, 1])
    mel = graph.node("MatMul", [frames_first, _const(graph, layer.mel_matrix(),
                                                      f"{hint}/mel_matrix")], hint)
    if layer.power_to_db:
        scale = 10.0 / np.log(10.0)
        floor = graph.node("Max", [mel, _const(graph, layer.min_power, f"{hint}/min_power")], hint)
        log_spec = graph.node("Mul", [graph.node("Log", [floor], hint),
                                      _const(graph, scale, f"{hint}/db")], hint)
        reference = 10.0 * np.log10(max(abs(layer.ref_power), layer.min_power))
        log_spec = graph.node("Sub", [log_spec, _const(graph, reference, f"{hint}/reference")],
                              hint)
        peak = reduce(graph, "ReduceMax", log_spec, None, False, hint)
        lowest = graph.node("Sub", [peak, _const(graph, layer.top_db, f"{hint}/top_db")], hint)
        mel = graph.node("Max", [log_spec, lowest], hint)
    return graph.node("Transpose", [mel], hint, perm=[0, 2, 1])


@lowers_float32(audio.STFTSpectrogram)
def stft_spectrogram(graph, node, args, kwargs):
    layer = node.layer
    hint = layer.name
    shape = node.input_tensors[0].shape
    channels_last = layer.data_format == "channels_last"
    time, channels = (shape[1], shape[2]) if channels_last else (shape[2], shape[1])
    if time is None or channels is None:
        _refuse(layer, f"export needs known time and channel sizes, got shape {tuple(shape)}")
    x = cast_to(graph, args[0], node.input_tensors[0].dtype, "float32", hint)
    if channels_last:
        x = graph.node("Transpose", [x], hint, perm=[0, 2, 1])
    x = graph.node("Reshape", [x, graph.ints([-1, 1, time], f"{hint}/signals")], hint)
    pads = [0, 0]
    if layer.padding == "same":
        pads = list(spectral.same_padding(time, layer.frame_length, layer.step))
    outputs = {}
    for name, weight in (("real", layer.real_kernel), ("imag", layer.imag_kernel)):
        if weight is not None:
            kernel = np.transpose(weight.value, (2, 1, 0)).astype(np.float32)
            outputs[name] = graph.node("Conv", [x, graph.constant(kernel, weight.path)], hint,
                                       strides=[layer.step], pads=pads)
    if layer.mode in ("real", "imag"):
        out = outputs[layer.mode]
    elif layer.mode == "angle":
        out = _atan2(graph, outputs["imag"], outputs["real"], hint)
    elif layer.mode == "stft":
        out = graph.node("Concat", [outputs["real"], outputs["imag"]], hint, axis=1)
    else:
        power = graph.node("Add", [graph.node("Mul", [outputs["real"], outputs["real"]], hint),
                                   graph.node("Mul", [outputs["imag"], outputs["imag"]], hint)],
                           hint)
        if layer.mode == "psd":
            factor = np.full((layer.bins, 1), 2.0)
            factor[0] = factor[-1] = 1.0
            out = graph.node("Mul", [power, _const(graph, factor, f"{hint}/psd")], hint)
        else:
            epsilon = _const(graph, BACKEND_EPSILON, f"{hint}/epsilon")
            out = graph.node("Sqrt", [graph.node("Max", [power, epsilon], hint)], hint)
            if layer.mode == "log":
                out = graph.node("Log", [graph.node("Max", [out, epsilon], hint)], hint)
    count = (time - layer.frame_length) // layer.step + 1 if layer.padding == "valid" else \
        (time + layer.step - 1) // layer.step
    return _arranged(graph, layer, out, channels, count, hint)


def _atan2(graph, y: str, x: str, hint: str) -> str:
    """atan2(y, x) from Atan (ONNX has no atan2), by the half-angle identity
    tan(angle / 2) = y / (|z| + x) = (|z| - x) / y: the first form where x >= 0, the second
    where x < 0 (no cancellation either way; y = +-0 there gives +-pi as atan2 does), and 0 at
    the origin."""
    radius = graph.node("Sqrt", [graph.node("Add", [graph.node("Mul", [x, x], hint),
                                                    graph.node("Mul", [y, y], hint)], hint)], hint)
    zero = _const(graph, 0.0, f"{hint}/zero")
    right = graph.node("Div", [y, graph.node("Add", [radius, x], hint)], hint)
    left = graph.node("Div", [graph.node("Sub", [radius, x], hint), y], hint)
    half = graph.node("Where", [graph.node("Less", [x, zero], hint), left, right], hint)
    angle = graph.node("Mul", [graph.node("Atan", [half], hint),
                               _const(graph, 2.0, f"{hint}/two")], hint)
    origin = graph.node("Equal", [radius, zero], hint)
    return graph.node("Where", [origin, zero, angle], hint)


def _arranged(graph, layer, out: str, channels: int, count: int, hint: str) -> str:
    """(batch * channels, freq, frames) in the layer's output layout."""
    freq = layer.bins * (2 if layer.mode == "stft" else 1)
    out = graph.node("Reshape", [out, graph.ints([-1, channels, freq, count], f"{hint}/split")],
                     hint)
    if layer.expand_dims:
        perm = [0, 3, 2, 1] if layer.data_format == "channels_last" else [0, 1, 3, 2]
        return graph.node("Transpose", [out], hint, perm=perm)
    merged = graph.node("Reshape", [out, graph.ints([-1, channels * freq, count],
                                                    f"{hint}/merge")], hint)
    if layer.data_format == "channels_last":
        return graph.node("Transpose", [merged], hint, perm=[0, 2, 1])
    return merged
