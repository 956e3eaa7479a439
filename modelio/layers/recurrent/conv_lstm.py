"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: an LSTM whose matmuls are convolutions (Keras 3's
`ConvLSTM`, holding a `conv_lstm_cell`; tf-keras's ConvLSTM2D configs load too).

The input convolution (`kernel`, `(*kernel_size, channels, 4 * filters)`, with `strides`,
`padding` and `dilation_rate`) of every time step runs as one convolution over
`(batch * time, ...)` frames; each step then runs one convolution of the previous output `h` with
`recurrent_kernel` (`(*kernel_size, filters, 4 * filters)`, stride 1, "same" padding, no dilation,
as Keras), both with the im2col + matmul kernels of modelio/kernels/convolution.py. Gates in
Keras's order i, f, c, o; states [h, c] of the output's shape.
"""

import numpy as np

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.layer import is_shape
from ...kernels import convolution
from ...kernels import recurrent as kernels
from ..activations import serialize_activation
from ..arguments import check_bool, layer_label, standardize_data_format
from ..conv.base import MAX_KERNEL_EXTENT, standardize_tuple
from ..initializers import get_initializer
from .cells import GatedCell
from .rnn import _RNN, cell_errors

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]


class ConvLSTMCell(GatedCell):
    """One ConvLSTM step (Keras's `ConvLSTMCell`, which keras.layers does not export: it only
    lives inside ConvLSTM1D/2D/3D, as `conv_lstm_cell`)."""

    _gates = 4

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, **kwargs):
        super().__init__(filters, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.rank = rank
        self.kernel_size = standardize_tuple(self, kernel_size, "kernel_size", rank)
        self.strides = standardize_tuple(self, strides, "strides", rank)
        self.dilation_rate = standardize_tuple(self, dilation_rate, "dilation_rate", rank)
        extent = max((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
        if extent > MAX_KERNEL_EXTENT:
            raise ConfigError(f"{self._label}: kernel_size {list(self.kernel_size)} dilated by "
                              f"{list(self.dilation_rate)} is too large")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"{self._label}: strides > 1 are not compatible with "
                              f"dilation_rate > 1, got strides={list(self.strides)} and "
                              f"dilation_rate={list(self.dilation_rate)}")
        normalized = padding.lower() if isinstance(padding, str) else padding
        if normalized not in ("valid", "same"):
            raise ConfigError(f"{self._label}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = normalized
        self.data_format = standardize_data_format(data_format, type(self), self.name)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", type(self),
                                           self.name)

    @property
    def _label(self) -> str:
        return layer_label(self)

    @property
    def filters(self) -> int:
        return self.units

    @property
    def channels_first(self) -> bool:
        return self.data_format == "channels_first"

    # ----- shapes ---------------------------------------------------------------------------------
    def split_step_shape(self, shape) -> tuple:
        """(batch, spatial dims, channels) of one step's input shape."""
        shape = tuple(shape)
        if self.channels_first:
            return shape[0], shape[2:], shape[1]
        return shape[0], shape[1:-1], shape[-1]

    def output_spatial(self, spatial) -> tuple:
        sizes = tuple(convolution.conv_output_length(size, k, s, d, self.padding)
                      for size, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                               self.dilation_rate))
        if any(size is not None and size <= 0 for size in sizes):
            raise ConfigError(f"{self._label}: inputs of spatial size {tuple(spatial)} are smaller "
                              f"than the dilated kernel {list(self.kernel_size)}")
        return sizes

    def state_shape(self, step_shape) -> tuple:
        """The shape of h (and c, and each output step) for one step's input shape."""
        batch, spatial, _ = self.split_step_shape(step_shape)
        out = self.output_spatial(spatial)
        return (batch, self.filters, *out) if self.channels_first else (batch, *out, self.filters)

    @property
    def input_dim(self) -> int:
        return int(self.kernel.shape[-2])

    def build(self, input_shape):
        _, spatial, channels = self.split_step_shape(input_shape)
        if channels is None:
            raise ConfigError(f"{self._label} needs a known channel dimension, got {input_shape}")
        if None in spatial:
            raise ConfigError(f"{self._label} needs known spatial dimensions (as Keras), got "
                              f"{input_shape}")
        self.output_spatial(spatial)
        width = 4 * self.filters
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, width),
                                      get_initializer(self.kernel_initializer))
        self.recurrent_kernel = self.add_weight("recurrent_kernel",
                                                (*self.kernel_size, self.filters, width),
                                                get_initializer(self.recurrent_initializer))
        self.bias = (self.add_weight("bias", (width,), self._bias_initializer())
                     if self.use_bias else None)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return super()._bias_initializer()
        initializer, filters = get_initializer(self.bias_initializer), self.filters

        def unit_forget(shape, dtype):
            return np.concatenate([initializer((filters,), dtype), np.ones((filters,), dtype),
                                   initializer((2 * filters,), dtype)])
        return unit_forget

    def input_pads(self, spatial) -> list:
        return [convolution.padding_amounts(size, k, s, d, self.padding)
                for size, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                         self.dilation_rate)]

    def recurrent_pads(self, out_spatial) -> list:
        return [convolution.padding_amounts(size, k, 1, 1, "same")
                for size, k in zip(out_spatial, self.kernel_size)]

    def run(self, sequences, states, mask=None, go_backwards=False, return_sequences=False,
            zero_output_for_mask=False):
        kernel, recurrent_kernel, bias = self.cell_weights()
        if self.channels_first:  # compute channels-last, give back channels-first
            sequences = np.moveaxis(sequences, 2, -1)
            states = [np.moveaxis(state, 1, -1) for state in states]
        spatial = sequences.shape[2:-1]
        out_spatial = states[0].shape[1:-1]
        last, outputs, final = kernels.conv_lstm(
            sequences, kernel, recurrent_kernel, bias, states[0], states[1],
            self.activation, self.recurrent_activation, strides=self.strides,
            pads=self.input_pads(spatial), dilation=self.dilation_rate,
            recurrent_pads=self.recurrent_pads(out_spatial), mask=mask,
            go_backwards=go_backwards, return_sequences=return_sequences,
            zero_output_for_mask=zero_output_for_mask)
        if self.channels_first:
            last = np.ascontiguousarray(np.moveaxis(last, -1, 1))
            final = [np.ascontiguousarray(np.moveaxis(state, -1, 1)) for state in final]
            if outputs is not None:
                outputs = np.ascontiguousarray(np.moveaxis(outputs, -1, 2))
        return last, outputs, final

    def window_config(self) -> dict:
        return {"filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": list(self.dilation_rate)}


class ConvLSTM(_RNN):
    """What ConvLSTM1D/2D/3D share: inputs (batch, time, *spatial, channels) (or channels
    first), states and outputs (batch, *out_spatial, filters)."""

    rank = 0

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = {"filters": filters, "kernel_size": kernel_size, "strides": strides,
                "padding": padding, "data_format": data_format, "dilation_rate": dilation_rate,
                "activation": activation, "recurrent_activation": recurrent_activation,
                "use_bias": use_bias, "kernel_initializer": kernel_initializer,
                "recurrent_initializer": recurrent_initializer,
                "bias_initializer": bias_initializer, "unit_forget_bias": unit_forget_bias,
                "kernel_regularizer": kernel_regularizer,
                "recurrent_regularizer": recurrent_regularizer,
                "bias_regularizer": bias_regularizer, "kernel_constraint": kernel_constraint,
                "recurrent_constraint": recurrent_constraint, "bias_constraint": bias_constraint,
                "dropout": dropout, "recurrent_dropout": recurrent_dropout, "seed": seed}
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)

    def _make_cell(self, cell):
        return ConvLSTMCell(self.rank, **cell, name="conv_lstm_cell", dtype=self.dtype_policy,
                            trainable=self.trainable)

    @property
    def state_sizes(self) -> list[int]:
        return [self.cell.filters, self.cell.filters]

    # ----- shapes ---------------------------------------------------------------------------------
    def _sequence_shape(self, shape):
        if not is_shape(shape) and isinstance(shape, (list, tuple)) and shape:
            shape = shape[0]
        if not is_shape(shape) or len(shape) != self.rank + 3:
            raise ConfigError(f"{layer_label(self)} expects inputs of rank {self.rank + 3} (batch, "
                              f"time, {self.rank} spatial, channels), got {shape}")
        return tuple(shape)

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._sequence_shape(sequences_shape)
        with cell_errors(self):
            self.cell._maybe_build((sequences_shape[0], *sequences_shape[2:]))
        self._weights = list(self.cell._weights)
        for weight in self._weights:
            if not weight.layer_name.startswith(f"{self.name}/"):
                weight.layer_name = f"{self.name}/{weight.layer_name}"

    def _state_shape(self, sequences_shape) -> tuple:
        with cell_errors(self):
            return self.cell.state_shape((sequences_shape[0], *sequences_shape[2:]))

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._sequence_shape(sequences_shape)
        _, _, channels = self.cell.split_step_shape((None, *sequences_shape[2:]))
        if self.built and channels not in (None, self.input_dim):
            raise ConfigError(f"{layer_label(self)} was built for {self.input_dim} input "
                              f"channels, got inputs of shape {sequences_shape}")
        state = self._state_shape(sequences_shape)
        output = (state[0], sequences_shape[1], *state[1:]) if self.return_sequences else state
        if self.return_state:
            return [output, state, state]
        return output

    def _state_shapes(self, sequences_shape) -> list:
        return [self._state_shape(sequences_shape)] * 2

    def _check_states(self, states, shape_of, sequences_shape=None):
        if len(states) != 2:
            raise ConfigError(f"{layer_label(self)} takes 2 initial state tensors, got "
                              f"{len(states)}")
        sequences_shape = sequences_shape or self._build_input_shape
        if sequences_shape is None:
            return
        expected = self._state_shape(self._sequence_shape(sequences_shape))
        for state in states:
            shape = tuple(shape_of(state))
            if len(shape) != len(expected) or any(
                    size is not None and want is not None and size != want
                    for size, want in zip(shape[1:], expected[1:])):
                raise ConfigError(f"{layer_label(self)}: an initial state must have shape "
                                  f"{expected}, got {shape}")

    # ----- config ---------------------------------------------------------------------------------
    def get_config(self) -> dict:
        cell = self.cell
        return {**self._rnn_config(), **cell.window_config(),
                "activation": serialize_activation(cell.activation_name),
                "recurrent_activation": serialize_activation(cell.recurrent_activation_name),
                "use_bias": cell.use_bias, **cell.initializer_config(),
                "unit_forget_bias": cell.unit_forget_bias, **cell.regularizer_config(),
                "activity_regularizer": self.activity_regularizer, **cell.constraint_config(),
                "seed": cell.seed}


@register_layer()
class ConvLSTM1D(ConvLSTM):
    """ConvLSTM over (batch, time, steps, channels)."""

    rank = 1


@register_layer()
class ConvLSTM2D(ConvLSTM):
    """ConvLSTM over (batch, time, rows, cols, channels)."""

    rank = 2


@register_layer()
class ConvLSTM3D(ConvLSTM):
    """ConvLSTM over (batch, time, depth, rows, cols, channels)."""

    rank = 3
