"""`keras.ops.math`'s Fourier transforms: FFT, FFT2, IFFT2, RFFT, IRFFT, STFT and ISTFT, as
Keras's backends compute them; where its TensorFlow and PyTorch backends disagree (STFT and
ISTFT windows of odd length, ISTFT's edges where the torch backend calls torch.istft), as the
TensorFlow backend does.

Keras passes complex values as a (real, imag) pair of float tensors, so these operations take
and give real tensors of fixed shapes: FFT-like ones take `[real, imag]` and give
`[real, imag]`; RFFT and STFT take a real signal, IRFFT and ISTFT give one. Keras's torch
backend only transforms float32 and float64 tensors; modelio refuses others by name."""

import numpy as np

from ..graph.registry import register_operation
from ..kernels import spectral
from .base import REQUIRED, KerasOp, spec_of

__all__ = ["FFT", "FFT2", "IFFT2", "IRFFT", "ISTFT", "RFFT", "STFT"]

FFT_DTYPES = ("float32", "float64")
MAX_FFT_LENGTH = 2**24  # longer transforms are mistakes, not signals: refused before allocating
STFT_WINDOWS = ("hann", "hamming")


class _Spectral(KerasOp):
    _keras_module = "keras.src.ops.math"

    def check_dtype(self, dtype: str) -> None:
        if dtype not in FFT_DTYPES:
            self.fail(f"Keras's PyTorch backend transforms float32 and float64 tensors only, got "
                      f"{dtype}")

    def pair_spec(self, x, rank: int) -> tuple[tuple, str]:
        """(shape, dtype) of the (real, imag) pair `x`, checked."""
        if not isinstance(x, (list, tuple)) or len(x) != 2:
            self.fail("expects a pair [real, imag] of tensors")
        (shape, dtype), (imag_shape, imag_dtype) = spec_of(x[0]), spec_of(x[1])
        if tuple(shape) != tuple(imag_shape) or dtype != imag_dtype:
            self.fail(f"the real and imaginary parts must have one shape and dtype, got "
                      f"{tuple(shape)} {dtype} and {tuple(imag_shape)} {imag_dtype}")
        self.check_dtype(dtype)
        if len(shape) < rank:
            self.fail(f"expects tensors of rank >= {rank}, got shape {tuple(shape)}")
        if None in tuple(shape)[-rank:]:
            self.fail(f"the transformed axes need known sizes, got shape {tuple(shape)}")
        return tuple(shape), dtype


class _ComplexTransform(_Spectral):
    AXES: tuple = (-1,)
    INVERSE = False

    def call(self, x):
        self.pair_spec(x, len(self.AXES))
        spectrum = np.asarray(x[0], np.float64) + 1j * np.asarray(x[1], np.float64)
        transform = np.fft.ifftn if self.INVERSE else np.fft.fftn
        out = transform(spectrum, axes=self.AXES)
        dtype = np.asarray(x[0]).dtype
        return [out.real.astype(dtype), out.imag.astype(dtype)]

    def output_spec(self, x):
        shape, dtype = self.pair_spec(x, len(self.AXES))
        return [(shape, dtype), (shape, dtype)]


@register_operation
class FFT(_ComplexTransform):
    """The discrete Fourier transform of the last axis of `[real, imag]`, as `[real, imag]`."""


@register_operation
class FFT2(_ComplexTransform):
    """The 2-D discrete Fourier transform of the last two axes of `[real, imag]`."""

    AXES = (-2, -1)


@register_operation
class IFFT2(_ComplexTransform):
    """The 2-D inverse discrete Fourier transform (divided by the size) of the last two axes
    of `[real, imag]`."""

    AXES = (-2, -1)
    INVERSE = True


def _check_length(op, key: str, allow_none: bool = True) -> None:
    op.check_int(key, allow_none=allow_none, minimum=1)
    if op.arguments[key] is not None and op.arguments[key] > MAX_FFT_LENGTH:
        op.fail(f"{key} {op.arguments[key]} exceeds {MAX_FFT_LENGTH}")


@register_operation
class RFFT(_Spectral):
    """The non-negative frequencies (fft_length // 2 + 1) of the Fourier transform of the
    real last axis, cropped or zero-padded to `fft_length` samples first (default: its size),
    as `[real, imag]`."""

    ARGUMENTS = {"fft_length": None}

    def check(self):
        _check_length(self, "fft_length")

    def call(self, x):
        self.check_dtype(x.dtype.name)
        out = np.fft.rfft(x.astype(np.float64), n=self.arguments["fft_length"], axis=-1)
        return [out.real.astype(x.dtype), out.imag.astype(x.dtype)]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        self.check_dtype(dtype)
        if len(shape) < 1:
            self.fail("expects a tensor of rank >= 1")
        length = self.arguments["fft_length"] or shape[-1]
        if length is None:
            self.fail(f"needs a known last axis or fft_length, got shape {tuple(shape)}")
        out = tuple(shape[:-1]) + (length // 2 + 1,)
        return [(out, dtype), (out, dtype)]


@register_operation
class IRFFT(_Spectral):
    """The real signal of `fft_length` samples (default 2 * (bins - 1)) whose non-negative
    frequencies are `[real, imag]` (extra bins dropped, missing ones zero)."""

    ARGUMENTS = {"fft_length": None}

    def check(self):
        _check_length(self, "fft_length")

    def length(self, bins: int) -> int:
        length = self.arguments["fft_length"] or 2 * (bins - 1)
        if length < 1:
            self.fail(f"{bins} frequency bin(s) give no signal; pass fft_length")
        return length

    def call(self, x):
        shape, _ = self.pair_spec(x, 1)
        spectrum = np.asarray(x[0], np.float64) + 1j * np.asarray(x[1], np.float64)
        out = np.fft.irfft(spectrum, n=self.length(shape[-1]), axis=-1)
        return out.astype(np.asarray(x[0]).dtype)

    def output_spec(self, x):
        shape, dtype = self.pair_spec(x, 1)
        return shape[:-1] + (self.length(shape[-1]),), dtype


class _ShortTime(_Spectral):
    """Shared argument checks of STFT and ISTFT."""

    def check(self):
        for key in ("sequence_length", "sequence_stride", "fft_length"):
            _check_length(self, key, allow_none=False)
        if self.arguments["fft_length"] < self.arguments["sequence_length"]:
            self.fail(f"fft_length ({self.arguments['fft_length']}) must be >= sequence_length "
                      f"({self.arguments['sequence_length']})")
        window = self.arguments["window"]
        if isinstance(window, list):
            if len(window) != self.arguments["sequence_length"] or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in window):
                self.fail(f"a window given as values must hold sequence_length "
                          f"({self.arguments['sequence_length']}) numbers, got {window!r}")
        elif window is not None and window not in STFT_WINDOWS:
            self.fail(f"window must be one of {list(STFT_WINDOWS)}, a list of values or null, "
                      f"got {window!r}")
        if not isinstance(self.arguments["center"], bool):
            self.fail(f"center must be true or false, got {self.arguments['center']!r}")

    def settings(self) -> tuple:
        a = self.arguments
        return a["sequence_length"], a["sequence_stride"], a["fft_length"]


@register_operation
class STFT(_ShortTime):
    """The short-time Fourier transform of the last axis: frames of `fft_length` samples,
    `sequence_stride` apart (with `center`, of the signal reflect-padded by fft_length // 2 on
    both sides), times a window of `sequence_length` centred in the frame, as `[real, imag]`
    of shape (..., frames, fft_length // 2 + 1). A named window is tf.signal's "periodic" one
    (as Keras's TensorFlow backend; for an odd sequence_length it is the symmetric window,
    where the torch backend's is periodic)."""

    ARGUMENTS = {"sequence_length": REQUIRED, "sequence_stride": REQUIRED,
                 "fft_length": REQUIRED, "window": "hann", "center": True}

    def frame_count(self, samples: int) -> int:
        _, stride, fft_length = self.settings()
        if self.arguments["center"]:
            if samples <= fft_length // 2:
                self.fail(f"a centred STFT reflect-pads by {fft_length // 2} samples, which "
                          f"needs more than that many samples, got {samples}")
            samples += fft_length // 2 * 2
        if samples < fft_length:
            self.fail(f"a signal of {samples} samples holds no frame of fft_length {fft_length}")
        return 1 + (samples - fft_length) // stride

    def call(self, x):
        self.check_dtype(x.dtype.name)
        self.frame_count(x.shape[-1])
        real, imag = spectral.stft(x, *self.settings(), self.arguments["window"],
                                   self.arguments["center"], tensorflow=True)
        return [real.astype(x.dtype), imag.astype(x.dtype)]

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        self.check_dtype(dtype)
        if len(shape) < 1 or shape[-1] is None:
            self.fail(f"needs a known last axis, got shape {tuple(shape)}")
        out = tuple(shape[:-1]) + (self.frame_count(shape[-1]),
                                   self.arguments["fft_length"] // 2 + 1)
        return [(out, dtype), (out, dtype)]


@register_operation
class ISTFT(_ShortTime):
    """The signal whose short-time Fourier transform (same arguments as STFT) is `[real,
    imag]` of shape (..., frames, bins), as Keras's TensorFlow backend computes it
    (tf.signal.inverse_stft): each frame's irfft times the window divided by the squared
    window summed over one hop's overlaps, overlap-added, trimmed by fft_length // 2 on both
    sides with `center`, and cut to `length`. (Keras's torch backend divides by the exact
    overlapped squared window where it calls torch.istft, which differs at the edges, and
    fails on some arguments TensorFlow computes: extra bins, vanishing window overlaps,
    sequence_stride past fft_length or frames too few to cover one fft_length.) A
    `length` past the samples the frames give is refused: TensorFlow returns fewer samples
    than Keras declares."""

    ARGUMENTS = {"sequence_length": REQUIRED, "sequence_stride": REQUIRED,
                 "fft_length": REQUIRED, "length": None, "window": "hann", "center": True}

    def check(self):
        super().check()
        self.check_int("length", allow_none=True, minimum=0)

    def plan(self, count: int) -> spectral.InverseSTFTPlan:
        try:
            return spectral.istft_plan(count, *self.settings(), self.arguments["length"],
                                       self.arguments["window"], self.arguments["center"])
        except ValueError as error:
            self.fail(str(error))

    def call(self, x):
        shape, _ = self.pair_spec(x, 2)
        self.plan(shape[-2])
        out = spectral.istft(np.asarray(x[0]), np.asarray(x[1]), *self.settings(),
                             self.arguments["length"], self.arguments["window"],
                             self.arguments["center"])
        return out.astype(np.asarray(x[0]).dtype)

    def output_spec(self, x):
        shape, dtype = self.pair_spec(x, 2)
        plan = self.plan(shape[-2])
        return shape[:-2] + (plan.stop - plan.start,), dtype
