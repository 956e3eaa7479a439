"""Numpy kernels for recurrent layers: SimpleRNN, LSTM and GRU over a whole sequence.

Weights come in Keras's layout (`kernel` (features, gates * units), `recurrent_kernel`
(units, gates * units), gate blocks side by side). The kernels rearrange them gate-major,
`(gates, rows, units)`, so that every per-gate array in the loop is contiguous (numpy's
elementwise loops run 2-3 times faster on contiguous data than on column slices).

The input projection of all time steps is one stacked matmul, `(time * batch, features) @
(gates, features, units)`, input bias included; only the recurrence loops over time, with one
small matmul and a few elementwise operations per step.

Masks follow Keras 3's `backend.rnn`: at a masked step the states keep their previous values and
the output repeats the previous step's output (zeros before the first step), or is zero when
`zero_output_for_mask` is set. With `go_backwards` the steps run from the last to the first and
the output sequence is in processing order (reversed), as Keras returns it.
"""

from collections.abc import Callable

import numpy as np

from .convolution import conv

# A sigmoid gate's weights are pre-scaled by this, so that `sigmoid(z) = 0.5 * tanh(z / 2) + 0.5`
# needs no multiplication inside the loop (halving is exact in binary floating point).
_SIGMOID_PRESCALE = 0.5


def _sigmoid_prescaled(x: np.ndarray) -> np.ndarray:
    """`sigmoid(2 x)` in place, for weights pre-scaled by 1/2: one transcendental, no overflow."""
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _tanh_inplace(x: np.ndarray) -> np.ndarray:
    return np.tanh(x, out=x)


def _relu_inplace(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def _linear(x: np.ndarray) -> np.ndarray:
    return x


_INPLACE = {"tanh": _tanh_inplace, "relu": _relu_inplace, "linear": _linear}


class StepActivation:
    """An activation for the loop: `apply(x)` may overwrite `x` (a scratch buffer); `scale` is
    what the weights feeding it must be multiplied by beforehand (1/2 for sigmoid)."""

    __slots__ = ("apply", "scale")

    def __init__(self, name: str, function: Callable):
        self.scale = 1.0
        if name == "sigmoid":
            self.apply, self.scale = _sigmoid_prescaled, _SIGMOID_PRESCALE
        elif name in _INPLACE:
            self.apply = _INPLACE[name]
        else:
            self.apply = lambda x: np.asarray(function(x), dtype=x.dtype)


def _gate_major(matrix: np.ndarray, order: list, scales: list) -> np.ndarray:
    """(rows, gates * units) in Keras's gate order -> a new (gates, rows, units) array in
    `order`, each gate block multiplied by its scale."""
    gates = len(order)
    rows, width = matrix.shape
    blocks = matrix.reshape(rows, gates, width // gates).transpose(1, 0, 2)[order]
    result = np.array(blocks, copy=True, order="C")
    for index, scale in enumerate(scales):
        if scale != 1.0:
            result[index] *= scale
    return result


def _gate_bias(bias: np.ndarray | None, order: list, scales: list) -> np.ndarray | None:
    if bias is None:
        return None
    return _gate_major(bias[None, :], order, scales)  # (gates, 1, units)


def _project(sequences: np.ndarray, kernel: np.ndarray, bias) -> np.ndarray:
    """Every step's input projection in one stacked matmul: (gates, time, batch, units)."""
    batch, time_steps, features = sequences.shape
    time_major = np.ascontiguousarray(sequences.transpose(1, 0, 2)).reshape(-1, features)
    projected = np.matmul(time_major, kernel)  # (gates, time * batch, units)
    if bias is not None:
        projected += bias
    return projected.reshape(kernel.shape[0], time_steps, batch, kernel.shape[2])


def _scan(step, projected: np.ndarray, states: list, mask, go_backwards: bool,
          return_sequences: bool, zero_output_for_mask: bool, time_axis: int = 1):
    """Run `step(projection_t, states) -> (output, new_states)` over time (`projected`'s axis
    `time_axis`); apply the mask rules. Outputs have the first state's shape.

    Returns `(last_output, outputs or None, final_states)`; `outputs` is (batch, time, ...).
    """
    time_steps = projected.shape[time_axis]
    state_shape = states[0].shape
    dtype = projected.dtype
    outputs = np.empty((time_steps, *state_shape), dtype) if return_sequences else None
    previous_output = np.zeros(state_shape, dtype)
    if mask is not None:
        mask = np.asarray(mask).astype(bool, copy=False)
        all_kept = mask.all(axis=0)
    order = range(time_steps - 1, -1, -1) if go_backwards else range(time_steps)
    at = (slice(None),) * time_axis
    for index, t in enumerate(order):
        output, new_states = step(projected[(*at, t)], states)
        if mask is not None and not all_kept[t]:
            keep = mask[:, t].reshape((-1,) + (1,) * (len(state_shape) - 1))
            fallback = np.zeros_like(output) if zero_output_for_mask else previous_output
            output = np.where(keep, output, fallback)
            new_states = [np.where(keep, new, old) for new, old in zip(new_states, states)]
        states = new_states
        previous_output = output
        if outputs is not None:
            outputs[index] = output
    if outputs is not None:
        outputs = np.ascontiguousarray(np.swapaxes(outputs, 0, 1))
    return previous_output, outputs, states


def simple_rnn(sequences, kernel, recurrent_kernel, bias, h0, activation: StepActivation,
               mask=None, go_backwards=False, return_sequences=False,
               zero_output_for_mask=False):
    """`h_t = activation(x_t W + b + h_{t-1} U)`. Returns (last_output, outputs, [h])."""
    scales = [activation.scale]
    projected = _project(sequences, _gate_major(kernel, [0], scales),
                         _gate_bias(bias, [0], scales))
    recurrent = _gate_major(recurrent_kernel, [0], scales)[0]
    apply = activation.apply

    def step(x_t, states):
        h = states[0] @ recurrent
        h += x_t[0]
        h = apply(h)
        return h, [h]

    return _scan(step, projected, [h0], mask, go_backwards, return_sequences,
                 zero_output_for_mask)


# Keras stores LSTM gates i, f, c, o; the loop wants the three recurrent-activation gates first.
_LSTM_ORDER = [0, 1, 3, 2]  # -> i, f, o, c


def lstm(sequences, kernel, recurrent_kernel, bias, h0, c0, activation: StepActivation,
         recurrent_activation: StepActivation, mask=None, go_backwards=False,
         return_sequences=False, zero_output_for_mask=False):
    """LSTM with Keras's weights (gates i, f, c, o). Returns (last_output, outputs, [h, c])."""
    gate_scale = recurrent_activation.scale
    scales = [gate_scale, gate_scale, gate_scale, activation.scale]
    projected = _project(sequences, _gate_major(kernel, _LSTM_ORDER, scales),
                         _gate_bias(bias, _LSTM_ORDER, scales))
    recurrent = _gate_major(recurrent_kernel, _LSTM_ORDER, scales)
    gate_activation, apply = recurrent_activation.apply, activation.apply
    # The cell output `activation(c)` takes c itself, which no weight scaled.
    output_activation = activation.apply if activation.scale == 1.0 else _sigmoid_unscaled

    def step(x_t, states):
        h_prev, c_prev = states
        z = np.matmul(h_prev, recurrent)  # (4, batch, units)
        z += x_t
        gates = gate_activation(z[:3])
        candidate = apply(z[3])
        c = gates[1] * c_prev
        c += gates[0] * candidate
        h = output_activation(c.copy())
        h *= gates[2]
        return h, [h, c]

    return _scan(step, projected, [h0, c0], mask, go_backwards, return_sequences,
                 zero_output_for_mask)


def _sigmoid_unscaled(x: np.ndarray) -> np.ndarray:
    x *= _SIGMOID_PRESCALE
    return _sigmoid_prescaled(x)


def gru(sequences, kernel, recurrent_kernel, bias, h0, activation: StepActivation,
        recurrent_activation: StepActivation, reset_after=True, mask=None, go_backwards=False,
        return_sequences=False, zero_output_for_mask=False):
    """GRU with Keras's weights (gates z, r, h) and `h = z * h_prev + (1 - z) * hh`.

    `reset_after=True`: `hh = act(x_h + r * (h_prev U_h + b_rh))`, bias (2, 3 * units) holding
    the input and recurrent rows; `reset_after=False`: `hh = act(x_h + (r * h_prev) U_h)`,
    bias (3 * units,). Returns (last_output, outputs, [h]).
    """
    gate_scale = recurrent_activation.scale
    scales = [gate_scale, gate_scale, activation.scale]
    order = [0, 1, 2]
    input_bias = recurrent_bias = None
    if bias is not None:
        input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    projected = _project(sequences, _gate_major(kernel, order, scales),
                         _gate_bias(input_bias, order, scales))
    recurrent = _gate_major(recurrent_kernel, order, scales)
    recurrent_zr, recurrent_h = recurrent[:2], recurrent[2]
    inner_bias = _gate_bias(recurrent_bias, order, scales)
    gate_activation, apply = recurrent_activation.apply, activation.apply

    def step(x_t, states):
        h_prev = states[0]
        if reset_after:
            inner = np.matmul(h_prev, recurrent)  # (3, batch, units)
            if inner_bias is not None:
                inner += inner_bias
            gates = inner[:2]
            gates += x_t[:2]
            gates = gate_activation(gates)
            candidate = gates[1] * inner[2]
        else:
            gates = np.matmul(h_prev, recurrent_zr)  # (2, batch, units)
            gates += x_t[:2]
            gates = gate_activation(gates)
            candidate = (gates[1] * h_prev) @ recurrent_h
        candidate += x_t[2]
        candidate = apply(candidate)
        # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
        h = h_prev - candidate
        h *= gates[0]
        h += candidate
        return h, [h]

    return _scan(step, projected, [h0], mask, go_backwards, return_sequences,
                 zero_output_for_mask)


def conv_lstm(sequences, kernel, recurrent_kernel, bias, h0, c0, activation: Callable,
              recurrent_activation: Callable, strides, pads, dilation, recurrent_pads, mask=None,
              go_backwards=False, return_sequences=False, zero_output_for_mask=False):
    """ConvLSTM over channels-last `sequences` (batch, time, *spatial, channels) with Keras's
    weights (`kernel` (*window, channels, 4 * filters), gates i, f, c, o). The input
    convolution of every step is one `conv` over (batch * time) frames, bias included; each step
    adds one stride-1 convolution of h with `recurrent_kernel` (`recurrent_pads`, no dilation).
    States h, c: (batch, *out_spatial, filters). Returns (last_output, outputs, [h, c])."""
    batch, time_steps = sequences.shape[:2]
    rank = sequences.ndim - 3
    frames = sequences.reshape(batch * time_steps, *sequences.shape[2:])
    projected = conv(frames, kernel, strides, pads, dilation, bias=bias)
    projected = np.swapaxes(projected.reshape(batch, time_steps, *projected.shape[1:]), 0, 1)
    ones = (1,) * rank
    filters = h0.shape[-1]

    def step(x_t, states):
        h_prev, c_prev = states
        z = conv(h_prev, recurrent_kernel, ones, recurrent_pads, ones)
        z += x_t
        i = recurrent_activation(z[..., :filters])
        f = recurrent_activation(z[..., filters:2 * filters])
        o = recurrent_activation(z[..., 3 * filters:])
        c = f * c_prev + i * activation(z[..., 2 * filters:3 * filters])
        h = (o * activation(c)).astype(z.dtype, copy=False)
        return h, [h, c.astype(z.dtype, copy=False)]

    return _scan(step, projected, [h0, c0], mask, go_backwards, return_sequences,
                 zero_output_for_mask, time_axis=0)
