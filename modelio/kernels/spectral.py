"""Short-time Fourier transforms and mel filterbanks, as Keras 3 computes them for
MelSpectrogram (`keras.ops.stft`, PyTorch's `torch.stft` semantics) and STFTSpectrogram (a
strided convolution with DFT kernels, `keras.initializers.STFT`)."""

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
         window_name: str | None, center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(real, imag) of shape (..., frames, fft_length // 2 + 1), as `keras.ops.stft` on the
    PyTorch backend: a periodic window of `sequence_length` centred in `fft_length`, and with
    `center` the signal reflect-padded by fft_length // 2 on both sides."""
    signal = signal.astype(np.float64)
    if center:
        half = fft_length // 2
        if signal.shape[-1] <= half:
            raise ValueError(f"a centred STFT with fft_length {fft_length} needs more than {half} "
                             f"samples, got {signal.shape[-1]}")
        widths = [(0, 0)] * (signal.ndim - 1) + [(half, half)]
        signal = np.pad(signal, widths, mode="reflect")
    taper = np.zeros(fft_length)
    left = (fft_length - sequence_length) // 2
    taper[left:left + sequence_length] = window(window_name, sequence_length, periodic=True)
    spectrum = np.fft.rfft(frames(signal, fft_length, sequence_stride) * taper, axis=-1)
    return spectrum.real, spectrum.imag


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
