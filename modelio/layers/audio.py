"""Audio preprocessing layers: MelSpectrogram (a mel-scaled power spectrogram, optionally in
decibels) and STFTSpectrogram (a short-time Fourier transform as a strided convolution with
stored DFT kernels)."""

import numpy as np

from ..errors import ConfigError, ModelioError, UnsupportedError
from ..graph import Layer, register_layer
from ..kernels import spectral
from ..kernels.normalization import BACKEND_EPSILON
from .arguments import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    layer_label,
    standardize_data_format,
)

__all__ = ["MelSpectrogram", "STFTSpectrogram"]


def _check_window(layer, value, length_argument: str, allow_array: bool):
    if value is None or (isinstance(value, str) and value in spectral.WINDOWS):
        return value
    if allow_array and isinstance(value, (list, tuple)) and all(
            isinstance(item, (int, float)) and not isinstance(item, bool) for item in value):
        return list(value)
    raise UnsupportedError(f"{layer_label(layer)}: window {value!r} is not supported (modelio "
                           f"computes {', '.join(map(repr, spectral.WINDOWS))} and null"
                           f"{' or a list of ' + length_argument + ' numbers' if allow_array else ''})")


@register_layer()
class MelSpectrogram(Layer):
    """Signals (batch, samples) or (samples,) to (batch, num_mel_bins, frames) mel spectrograms:
    a centred STFT (reflect padding, periodic window), |X| ** mag_exp, the mel filterbank, and
    with power_to_db 10 log10 relative to ref_power clipped `top_db` below the maximum of the
    whole batch (Keras takes the maximum over every value it was called on)."""

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.fft_length = check_int(fft_length, "fft_length", cls, self.name, minimum=1)
        self.sequence_stride = check_int(sequence_stride, "sequence_stride", cls, self.name,
                                         minimum=1)
        self.sequence_length = check_int(sequence_length or fft_length, "sequence_length", cls,
                                         self.name, minimum=1)
        if self.fft_length < self.sequence_length:
            raise ConfigError(f"{layer_label(self)}: fft_length must be >= sequence_length")
        if window is not None and window not in ("hann", "hamming"):
            raise UnsupportedError(f"{layer_label(self)}: window {window!r} is not supported "
                                   f"(Keras's stft takes 'hann', 'hamming' or null)")
        self.window = window
        self.sampling_rate = check_int(sampling_rate, "sampling_rate", cls, self.name, minimum=1)
        self.num_mel_bins = check_int(num_mel_bins, "num_mel_bins", cls, self.name, minimum=1)
        self.min_freq = check_float(min_freq, "min_freq", cls, self.name, minimum=0.0)
        self.max_freq = check_float(max_freq or int(sampling_rate / 2), "max_freq", cls,
                                    self.name, minimum=0.0)
        self.power_to_db = check_bool(power_to_db, "power_to_db", cls, self.name)
        self.top_db = check_float(top_db, "top_db", cls, self.name)
        self.mag_exp = check_float(mag_exp, "mag_exp", cls, self.name)
        self.min_power = check_float(min_power, "min_power", cls, self.name)
        self.ref_power = check_float(ref_power, "ref_power", cls, self.name)

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (1, 2):
            raise ConfigError(f"{layer_label(self)} takes signals of shape (batch, samples) or "
                              f"(samples,), got {tuple(input_shape)}")
        samples = input_shape[-1]
        count = None if samples is None else (samples + self.sequence_stride + 1) // \
            self.sequence_stride
        if len(input_shape) == 1:
            return (self.num_mel_bins, count)
        return (input_shape[0], self.num_mel_bins, count)

    def mel_matrix(self) -> np.ndarray:
        """The (fft_length // 2 + 1, num_mel_bins) filterbank."""
        return spectral.mel_weight_matrix(self.num_mel_bins, self.fft_length // 2 + 1,
                                          self.sampling_rate, self.min_freq, self.max_freq)

    def call(self, inputs):
        if inputs.dtype.kind != "f":
            raise ConfigError(f"{layer_label(self)} expects float signals, got {inputs.dtype}")
        real, imag = spectral.stft(inputs, self.sequence_length, self.sequence_stride,
                                   self.fft_length, self.window, center=True)
        spec = np.sqrt(real ** 2 + imag ** 2) ** self.mag_exp
        mel = spec @ self.mel_matrix().astype(np.float64)
        if self.power_to_db:
            log_spec = 10.0 * np.log10(np.maximum(mel, self.min_power))
            log_spec -= 10.0 * np.log10(max(abs(self.ref_power), self.min_power))
            mel = np.maximum(log_spec, np.max(log_spec) - self.top_db)
        return np.swapaxes(mel, -1, -2).astype(self.compute_dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "fft_length": self.fft_length,
                "sequence_stride": self.sequence_stride, "sequence_length": self.sequence_length,
                "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq,
                "max_freq": self.max_freq, "power_to_db": self.power_to_db,
                "top_db": self.top_db, "mag_exp": self.mag_exp, "min_power": self.min_power,
                "ref_power": self.ref_power}


STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


@register_layer()
class STFTSpectrogram(Layer):
    """Signals (batch, time, channels) (or channels_first) to per-channel spectrograms: frames
    `frame_step` apart times the stored kernels `real_kernel` / `imag_kernel` (frame_length, 1,
    bins), then the `mode`'s quantity. Kernels of a fresh layer are Keras's STFT initializer for
    the windows modelio computes; a layer with another window needs its weights from a file."""

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.mode = check_choice(mode, "mode", STFT_MODES, cls, self.name)
        self.frame_length = check_int(frame_length, "frame_length", cls, self.name, minimum=1)
        if frame_step is not None:
            check_int(frame_step, "frame_step", cls, self.name, minimum=1)
            if frame_step > frame_length:
                raise ConfigError(f"{layer_label(self)}: frame_step must not exceed frame_length")
        self.frame_step = frame_step
        self.step = frame_step or self.frame_length // 2
        if fft_length is not None:
            check_int(fft_length, "fft_length", cls, self.name, minimum=frame_length)
        self.fft_length = fft_length
        self.fft_size = fft_length or 2 ** int(np.ceil(np.log2(frame_length)))
        if self.step < 1:
            raise ConfigError(f"{layer_label(self)}: frame_length 1 needs a frame_step")
        self.window = window if isinstance(window, str) or window is None else list(window)
        self.periodic = check_bool(periodic, "periodic", cls, self.name)
        self.scaling = check_choice(scaling, "scaling", ("density", "spectrum", None), cls,
                                    self.name)
        self.padding = check_choice(padding, "padding", ("valid", "same"), cls, self.name)
        self.expand_dims = check_bool(expand_dims, "expand_dims", cls, self.name)
        self.data_format = standardize_data_format(data_format, cls, self.name)
        self.real_kernel = self.imag_kernel = None
        self._placeholders = ()

    @property
    def bins(self) -> int:
        return self.fft_size // 2 + 1

    def build(self, input_shape):
        shape = (self.frame_length, 1, self.bins)
        try:
            _check_window(self, self.window, "frame_length", allow_array=True)
            real, imag = spectral.dft_kernels(self.frame_length, self.bins, self.window,
                                              self.periodic, self.scaling, self.variable_dtype)
            computed = True
        except (UnsupportedError, ValueError):
            real = imag = np.zeros(shape, self.variable_dtype)
            computed = False
        if self.mode != "imag":
            self.real_kernel = self.add_weight("real_kernel", shape)
            self.real_kernel.assign(real)
        if self.mode != "real":
            self.imag_kernel = self.add_weight("imag_kernel", shape)
            self.imag_kernel.assign(imag)
        if not computed:  # until weights are loaded, the placeholders refuse to compute
            self._placeholders = tuple(weight.value for weight in self.weights)

    @property
    def variable_dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ConfigError(f"{layer_label(self)} takes inputs of rank 3, got "
                              f"{tuple(input_shape)}")
        if self.data_format == "channels_last":
            batch, time, channels = input_shape
        else:
            batch, channels, time = input_shape
        freq = self.bins * (2 if self.mode == "stft" else 1)
        if time is None:
            count = None
        elif self.padding == "valid":
            count = (time - self.frame_length) // self.step + 1
        else:
            count = (time + self.step - 1) // self.step
        if self.expand_dims:
            if self.data_format == "channels_last":
                return (batch, count, freq, channels)
            return (batch, channels, count, freq)
        width = None if channels is None else freq * channels
        return (batch, count, width) if self.data_format == "channels_last" else \
            (batch, width, count)

    def framed(self, inputs: np.ndarray) -> np.ndarray:
        """(batch, channels, frames, frame_length) windows of the (padded) signals."""
        signal = inputs if self.data_format == "channels_first" else np.swapaxes(inputs, 1, 2)
        if self.padding == "same":
            left, right = spectral.same_padding(signal.shape[-1], self.frame_length, self.step)
            signal = np.pad(signal, [(0, 0), (0, 0), (left, right)])
        return spectral.frames(signal, self.frame_length, self.step)

    def _kernel(self, weight) -> np.ndarray:
        return weight.value.astype(np.float64)[:, 0, :]

    def call(self, inputs):
        if inputs.dtype.kind != "f":
            raise ConfigError(f"{layer_label(self)} expects float16/32/64 signals, got "
                              f"{inputs.dtype}")
        if self._placeholders and all(weight.value is placeholder for weight, placeholder in
                                      zip(self.weights, self._placeholders)):
            raise ModelioError(f"{layer_label(self)}: window {self.window!r} is not one modelio "
                               f"computes, so its kernels must come from a saved file")
        windows = self.framed(inputs.astype(np.float64))
        real = windows @ self._kernel(self.real_kernel) if self.real_kernel is not None else None
        imag = windows @ self._kernel(self.imag_kernel) if self.imag_kernel is not None else None
        # real / imag: (batch, channels, frames, bins)
        if self.mode == "real":
            out = real
        elif self.mode == "imag":
            out = imag
        elif self.mode == "angle":
            out = np.arctan2(imag, real)
        elif self.mode == "stft":
            out = np.concatenate([real, imag], axis=-1)
        else:
            power = real ** 2 + imag ** 2
            if self.mode == "psd":
                out = power.copy()
                out[..., 1:-1] += power[..., 1:-1]
            else:
                out = np.sqrt(np.maximum(power, BACKEND_EPSILON))
                if self.mode == "log":
                    out = np.log(np.maximum(out, BACKEND_EPSILON))
        return self._arranged(out).astype(inputs.dtype if inputs.dtype != np.float16
                                          else self.compute_dtype)

    def _arranged(self, out: np.ndarray) -> np.ndarray:
        """(batch, channels, frames, freq) in the layer's output layout."""
        batch, channels, count, freq = out.shape
        if self.expand_dims:
            return out.transpose(0, 2, 3, 1) if self.data_format == "channels_last" else out
        merged = out.transpose(0, 1, 3, 2).reshape(batch, channels * freq, count)
        return merged.transpose(0, 2, 1) if self.data_format == "channels_last" else merged

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length,
                "window": self.window, "periodic": self.periodic, "scaling": self.scaling,
                "padding": self.padding, "data_format": self.data_format,
                "expand_dims": self.expand_dims}
