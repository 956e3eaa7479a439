"""Short-time Fourier transforms and mel filterbanks, as Keras 3 computes them for
MelSpectrogram and `keras.ops.stft` (PyTorch's `torch.stft` semantics, or the TensorFlow backend's windows) and
STFTSpectrogram (a strided convolution with DFT kernels, `keras.initializers.STFT`); the
inverse STFT of `keras.ops.istft` as the TensorFlow backend computes it (irfft, window,
overlap-add) and the irfft as a matrix."""

from typing import NamedTuple

import numpy as np

MEL_BREAK_FREQUENCY_HERTZ = 700.0
MEL_HIGH_FREQUENCY_Q = 1127.0
# Windows modelio computes (scipy's / torch's definitions), by Keras's names.
WINDOWS = ("hann", "hamming", "boxcar")


def window(name: str | None, length: int, periodic: bool) -> np.ndarray:
    """A window of `length` samples (float64): "hann", "hamming", "boxcar" or None (ones).
    A periodic window is the first `length` samples of the symmetric one of `length + 1`."""
    if name is None or name == "boxcar":
        return np.ones(length)
    if name not in WINDOWS:
        raise ValueError(f"unknown window {name!r}")
    if length == 1:
        return np.ones(1)
    span = length if periodic else length - 1
    phase = np.cos(2.0 * np.pi * np.arange(length) / span)
    if name == "hann":
        return 0.5 - 0.5 * phase
    return 0.54 - 0.46 * phase


def frames(signal: np.ndarray, frame_length: int, step: int) -> np.ndarray:
    """(..., count, frame_length) windows of the last axis, `step` apart (a strided view)."""
    count = (signal.shape[-1] - frame_length) // step + 1
    if count <= 0:
        return np.zeros(signal.shape[:-1] + (0, frame_length), signal.dtype)
    view = np.lib.stride_tricks.sliding_window_view(signal, frame_length, axis=-1)
    return view[..., ::step, :][..., :count, :]


def stft(signal: np.ndarray, sequence_length: int, sequence_stride: int, fft_length: int,
         window_name, center: bool = True,
         tensorflow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(real, imag) of shape (..., frames, fft_length // 2 + 1), as `keras.ops.stft` on the
    PyTorch backend (or with `tensorflow`, the TensorFlow backend's windows): a periodic window
    of `sequence_length` (a name, None or the window's values) centred in `fft_length`, and
    with `center` the signal reflect-padded by fft_length // 2 on both sides."""
    signal = signal.astype(np.float64)
    if center:
        half = fft_length // 2
        if signal.shape[-1] <= half:
            raise ValueError(f"a centred STFT with fft_length {fft_length} needs more than {half} "
                             f"samples, got {signal.shape[-1]}")
        widths = [(0, 0)] * (signal.ndim - 1) + [(half, half)]
        signal = np.pad(signal, widths, mode="reflect")
    taper = padded_window(window_name, sequence_length, fft_length, tensorflow)
    spectrum = np.fft.rfft(frames(signal, fft_length, sequence_stride) * taper, axis=-1)
    return spectrum.real, spectrum.imag


def padded_window(window_name, sequence_length: int, fft_length: int,
                  tensorflow: bool = False) -> np.ndarray:
    """The periodic window of `sequence_length` samples (a name, None for ones, or the values
    themselves) centred in `fft_length` zeros, as torch.stft and Keras's TensorFlow backend
    place a shorter window. With `tensorflow`, a named window is tf.signal's "periodic" one,
    which for an odd length is the symmetric window (its period is length + 1 only for even
    lengths)."""
    taper = np.zeros(fft_length)
    left = (fft_length - sequence_length) // 2
    periodic = not tensorflow or sequence_length % 2 == 0
    values = (np.asarray(window_name, dtype=np.float64)
              if isinstance(window_name, (list, tuple, np.ndarray))
              else window(window_name, sequence_length, periodic=periodic))
    taper[left:left + sequence_length] = values
    return taper


def hertz_to_mel(frequencies):
    return MEL_HIGH_FREQUENCY_Q * np.log(1.0 + np.asarray(frequencies) / MEL_BREAK_FREQUENCY_HERTZ)


def mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float,
                      lower_edge_hertz: float, upper_edge_hertz: float) -> np.ndarray:
    """(num_spectrogram_bins, num_mel_bins) triangular filters on the mel scale, the DC bin
    zeroed (Keras's `linear_to_mel_weight_matrix`), computed in float32 as Keras does."""
    f32 = np.float32
    nyquist = f32(sampling_rate) / f32(2.0)
    linear = np.linspace(f32(0.0), nyquist, num_spectrogram_bins, dtype=f32)[1:]
    bins_mel = hertz_to_mel(linear).astype(f32)[:, None]
    edges = np.linspace(hertz_to_mel(f32(lower_edge_hertz)).astype(f32),
                        hertz_to_mel(f32(upper_edge_hertz)).astype(f32), num_mel_bins + 2,
                        dtype=f32)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(f32(0.0), np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(f32)


def dft_kernels(frame_length: int, bins: int, window_name, periodic: bool, scaling,
                dtype="float32") -> tuple[np.ndarray, np.ndarray]:
    """(real, imag) kernels of shape (frame_length, 1, bins) of `keras.initializers.STFT`:
    cos / sin of -2 pi t f / (2 (bins - 1)), times the window, divided by its scaling
    ("density": the window's L2 norm, "spectrum": its sum)."""
    time = np.arange(frame_length, dtype=np.float64)[:, None, None]
    freq = np.arange(bins, dtype=np.float64)[None, None, :] / ((bins - 1) * 2)
    args = -2.0 * time * freq * np.pi
    real, imag = np.cos(args), np.sin(args)
    if window_name is not None or isinstance(window_name, (list, tuple)):
        taper = (np.asarray(window_name, dtype=np.float64) if isinstance(window_name, (list, tuple))
                 else window(window_name, frame_length, periodic)).reshape(frame_length, 1, 1)
        scale = 1.0
        if scaling == "density":
            scale = np.sqrt(np.sum(taper ** 2))
        elif scaling == "spectrum":
            scale = np.sum(np.abs(taper))
        real, imag = real * taper / scale, imag * taper / scale
    return real.astype(dtype), imag.astype(dtype)


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras's "same" padding (left, right) of one axis."""
    if stride == 1:
        total = kernel - 1
    else:
        out = (length + stride - 1) // stride
        total = max(0, (out - 1) * stride + kernel - length)
    return total // 2, total - total // 2


def irfft_matrix(bins: int, fft_length: int) -> np.ndarray:
    """The (2 * used, fft_length) matrix M with `concat(real[..., :used], imag[..., :used]) @ M`
    = irfft(real + i imag, fft_length), used = min(bins, fft_length // 2 + 1): bins past
    fft_length // 2 are dropped, missing ones are zeros, and the imaginary parts of the DC and
    Nyquist bins are ignored, as numpy's and torch's irfft do."""
    used = min(bins, fft_length // 2 + 1)
    freq = np.arange(used)[:, None]
    phase = 2.0 * np.pi * freq * np.arange(fft_length)[None, :] / fft_length
    weight = np.where((freq == 0) | (2 * freq == fft_length), 1.0, 2.0) / fft_length
    return np.concatenate([weight * np.cos(phase), -weight * np.sin(phase)], axis=0)


def overlap_add(frames: np.ndarray, step: int) -> np.ndarray:
    """(..., (count - 1) * step + length) sums of the (..., count, length) frames placed `step`
    apart (a loop over the ceil(length / step) frames that overlap any one sample)."""
    *lead, count, length = frames.shape
    segments = -(-length // step)
    widths = [(0, 0)] * (frames.ndim - 1) + [(0, segments * step - length)]
    parts = np.pad(frames, widths).reshape(*lead, count, segments, step)
    out = np.zeros((*lead, (count + segments - 1) * step), frames.dtype)
    for index in range(segments):
        out[..., index * step:(index + count) * step] += \
            parts[..., index, :].reshape(*lead, count * step)
    return out[..., :(count - 1) * step + length]


class InverseSTFTPlan(NamedTuple):
    """What `keras.ops.istft` (TensorFlow backend: tf.signal.inverse_stft) does after irfft of
    each frame: multiply it by `taper`, overlap-add and keep samples [start, stop)."""

    taper: np.ndarray
    start: int
    stop: int


def istft_plan(count: int, sequence_length: int, sequence_stride: int, fft_length: int,
               length: int | None, window_name, center: bool) -> InverseSTFTPlan:
    """The plan of an inverse STFT of `count` frames, as Keras's TensorFlow backend computes
    it: each frame's irfft times the window divided by the squared window summed over one
    hop's overlaps (tf.signal.inverse_stft_window_fn: zero where that sum is zero; no window:
    plain frames), overlap-added, then samples [fft_length // 2 if center else 0, that +
    length) (without `length`: up to fft_length // 2 before the end with `center`, else all). Keras's torch backend calls
    torch.istft when sequence_length == fft_length with `center` and a window, which divides
    by the exact overlapped squared window instead and differs at the edges (and fails where
    that vanishes or the bins are not fft_length // 2 + 1), and otherwise fails unless
    fft_length / frames <= sequence_stride <= fft_length; TensorFlow computes those. Raises
    ValueError where TensorFlow returns another shape than Keras declares."""
    total = (count - 1) * sequence_stride + fft_length
    start = fft_length // 2 if center else 0
    if length is None:
        if center and start == 0:
            raise ValueError(f"a centred inverse STFT with fft_length {fft_length} keeps "
                             f"x[..., 0:-0] on Keras's TensorFlow backend, no samples, where "
                             f"Keras declares {total}")
        stop = total - start if center else total
    else:
        if length == 0:
            raise ValueError("length 0 leaves no samples: modelio refuses an empty signal "
                             "(Keras's torch backend fails on it where it calls torch.istft, "
                             "and its ONNX graph cannot reshape an empty tensor)")
        stop = start + length
        if stop > total:
            raise ValueError(f"length {length} runs past the {total - start} samples the "
                             f"frames give: Keras's TensorFlow backend returns those only, "
                             f"where Keras declares {length}")
    taper = (padded_window(window_name, sequence_length, fft_length, tensorflow=True)
             if window_name is not None else np.ones(fft_length))
    if window_name is not None:
        overlaps = -(-fft_length // sequence_stride)
        squares = np.pad(taper ** 2, (0, overlaps * sequence_stride - fft_length))
        per_phase = squares.reshape(overlaps, sequence_stride).sum(axis=0)
        denominator = np.tile(per_phase, overlaps)[:fft_length]
        # TensorFlow zeroes the window where no overlapping window covers a sample (the
        # torch backend divides 0 by 0 there: NaN)
        taper = np.divide(taper, denominator, out=np.zeros(fft_length), where=denominator != 0)
    return InverseSTFTPlan(taper, start, stop)


def istft(real: np.ndarray, imag: np.ndarray, sequence_length: int, sequence_stride: int,
          fft_length: int, length: int | None, window_name, center: bool) -> np.ndarray:
    """The signal (float64) of the (..., frames, bins) STFT `real + i imag`, as
    `keras.ops.istft` computes it on the TensorFlow backend (see `istft_plan`); the irfft
    drops bins past fft_length // 2 and takes missing ones as zeros."""
    plan = istft_plan(real.shape[-2], sequence_length, sequence_stride, fft_length, length,
                      window_name, center)
    spectrum = real.astype(np.float64) + 1j * imag.astype(np.float64)
    frames_out = np.fft.irfft(spectrum, n=fft_length, axis=-1) * plan.taper
    return overlap_add(frames_out, sequence_stride)[..., plan.start:plan.stop]
