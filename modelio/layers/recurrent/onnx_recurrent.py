"""OnnxRecurrent: ONNX's LSTM, GRU and RNN ops as one modelio layer, time-major as ONNX defines
them (gate orders, linear_before_reset, peepholes, clip, the ONNX activation names, both layouts),
for imported graphs; Keras's recurrent layers are batch-major and cannot hold these semantics."""

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import register_layer
from ...ops.onnx_layer import OnnxLayer

__all__ = ["OnnxRecurrent"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                        "RNN": ["Tanh"]}


def _step_activation(name: str, alpha, beta):
    functions = {
        "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
        "Tanh": np.tanh,
        "Relu": lambda x: np.maximum(x, 0),
        "Affine": lambda x: alpha * x + beta,
        "LeakyRelu": lambda x: np.where(x >= 0, x, alpha * x),
        "ThresholdedRelu": lambda x: np.where(x > alpha, x, 0),
        "ScaledTanh": lambda x: alpha * np.tanh(beta * x),
        "HardSigmoid": lambda x: np.clip(alpha * x + beta, 0, 1),
        "Elu": lambda x: np.where(x >= 0, x, alpha * (np.exp(x) - 1)),
        "Softsign": lambda x: x / (1 + np.abs(x)),
        "Softplus": lambda x: np.log1p(np.exp(x)),
    }
    return functions[name]


_ACTIVATION_DEFAULTS = {"Affine": (1.0, 0.0), "LeakyRelu": (0.01, None),
                        "ThresholdedRelu": (1.0, None), "ScaledTanh": (1.0, 1.0),
                        "HardSigmoid": (0.2, 0.5), "Elu": (1.0, None)}


@register_layer()
class OnnxRecurrent(OnnxLayer):
    """ONNX LSTM / GRU / RNN with ONNX's layout: inputs `X` (seq, batch, input) (time-major), and
    optionally `initial_h` (and for LSTM `initial_c`) (directions, batch, hidden) as more
    tensors in a list; outputs `[Y (seq, directions, batch, hidden), Y_h (directions, batch,
    hidden)]` plus `Y_c` for LSTM. Weights keep ONNX's gate orders (iofc, zrh): `W`
    (directions, gates * hidden, input), `R` (directions, gates * hidden, hidden), `B`
    (directions, 2 * gates * hidden) and for LSTM `P` (directions, 3 * hidden) peepholes.
    `layout=1` is ONNX's batch-major form: X (batch, seq, input), Y (batch, seq, directions,
    hidden), states (batch, directions, hidden). `input_size` fixes the size of X's last axis
    when the graph leaves it unknown."""

    _keras_module = "modelio.layers"
    keeps_dtypes = False

    def __init__(self, cell, hidden_size, direction="forward", activations=None,
                 activation_alpha=None, activation_beta=None, clip=None, linear_before_reset=False,
                 input_forget=False, initial_states=0, layout=0, input_size=None, **kwargs):
        super().__init__(**kwargs)
        label = f"layer '{self.name}' (OnnxRecurrent)"
        if cell not in _GATES:
            raise ConfigError(f"{label}: cell must be one of {sorted(_GATES)}, got {cell!r}")
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ConfigError(f"{label}: direction must be forward, reverse or bidirectional, "
                              f"got {direction!r}")
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise ConfigError(f"{label}: hidden_size must be a positive integer, got "
                              f"{hidden_size!r}")
        directions = 2 if direction == "bidirectional" else 1
        per_direction = len(_DEFAULT_ACTIVATIONS[cell])
        activations = list(activations or _DEFAULT_ACTIVATIONS[cell] * directions)
        if len(activations) != per_direction * directions:
            raise ConfigError(f"{label}: {cell} takes {per_direction * directions} activations "
                              f"for direction {direction}, got {activations}")
        unknown = [name for name in activations if name not in (
            "Sigmoid", "Tanh", "Relu", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
            "HardSigmoid", "Elu", "Softsign", "Softplus")]
        if unknown:
            raise UnsupportedError(f"{label}: activation(s) {unknown} are not supported")
        if input_forget:
            raise UnsupportedError(f"{label}: input_forget=1 is not supported")
        if initial_states not in (0, 1, 2) or (initial_states == 2 and cell != "LSTM"):
            raise ConfigError(f"{label}: initial_states must be 0, 1 or (LSTM) 2, got "
                              f"{initial_states!r}")
        self.cell, self.hidden_size, self.direction = cell, hidden_size, direction
        self.activations = activations
        self.activation_alpha = None if activation_alpha is None else [
            float(value) for value in activation_alpha]
        self.activation_beta = None if activation_beta is None else [
            float(value) for value in activation_beta]
        self.clip = None if clip is None else float(clip)
        self.linear_before_reset = bool(linear_before_reset)
        self.input_forget = False
        self.initial_states = initial_states
        if layout not in (0, 1):
            raise ConfigError(f"{label}: layout must be 0 (time-major) or 1 (batch-major), got "
                              f"{layout!r}")
        self.layout = layout
        if input_size is not None and (not isinstance(input_size, int) or input_size < 1):
            raise ConfigError(f"{label}: input_size must be a positive integer or null, got "
                              f"{input_size!r}")
        self.input_size = input_size

    @property
    def _directions(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    def _x_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if len(shapes) != 1 + self.initial_states:
            raise ConfigError(f"layer '{self.name}' (OnnxRecurrent) takes X and "
                              f"{self.initial_states} initial state(s), got {len(shapes)} inputs")
        self._check_rank(shapes[0], 3)
        return shapes[0]

    def build(self, input_shape):
        x_shape = self._x_shape(input_shape)
        input_size = x_shape[2] if x_shape[2] is not None else self.input_size
        if input_size is None or (self.input_size is not None and input_size != self.input_size):
            raise ConfigError(f"layer '{self.name}' (OnnxRecurrent) needs inputs of known size "
                              f"{self.input_size or ''}, got shape {tuple(x_shape)}")
        gates, hidden, dirs = _GATES[self.cell], self.hidden_size, self._directions
        self.W = self.add_weight("W", (dirs, gates * hidden, input_size))
        self.R = self.add_weight("R", (dirs, gates * hidden, hidden))
        self.B = self.add_weight("B", (dirs, 2 * gates * hidden))
        self.P = self.add_weight("P", (dirs, 3 * hidden)) if self.cell == "LSTM" else None

    def compute_output_shape(self, input_shape):
        seq, batch, features = self._x_shape(input_shape)
        if self.built and features is not None and features != self.W.shape[-1]:
            raise ConfigError(f"layer '{self.name}' (OnnxRecurrent): its weights W take "
                              f"{self.W.shape[-1]} input features, got shape "
                              f"{tuple(self._x_shape(input_shape))}")
        state = (self._directions, batch, self.hidden_size)
        y = (seq, self._directions, batch, self.hidden_size)
        if self.layout:
            batch, seq = seq, batch
            state = (batch, self._directions, self.hidden_size)
            y = (batch, seq, self._directions, self.hidden_size)
        return [y, state, state] if self.cell == "LSTM" else [y, state]

    def _functions(self, direction: int) -> list:
        per_direction = len(_DEFAULT_ACTIVATIONS[self.cell])
        functions = []
        for index in range(direction * per_direction, (direction + 1) * per_direction):
            name = self.activations[index]
            alpha, beta = _ACTIVATION_DEFAULTS.get(name, (None, None))
            # activation_alpha/beta list one value per activation that takes one, in order.
            position = sum(1 for earlier in self.activations[:index]
                           if earlier in _ACTIVATION_DEFAULTS)
            if name in _ACTIVATION_DEFAULTS:
                if self.activation_alpha is not None and position < len(self.activation_alpha):
                    alpha = self.activation_alpha[position]
                if self.activation_beta is not None and position < len(self.activation_beta):
                    beta = self.activation_beta[position]
            functions.append(_step_activation(name, alpha, beta))
        return functions

    def call(self, inputs):
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if self.layout:  # batch-major: compute time-major, then swap back
            tensors = [np.swapaxes(tensor, 0, 1) for tensor in tensors]
            outputs = self._time_major(tensors)
            return [np.transpose(outputs[0], (2, 0, 1, 3))] + [
                        np.swapaxes(state, 0, 1) for state in outputs[1:]]
        return self._time_major(tensors)

    def _time_major(self, tensors):
        x = self._float(np.asarray(tensors[0]))
        seq, batch, _ = x.shape
        hidden, dtype = self.hidden_size, x.dtype
        ys, last_h, last_c = [], [], []
        for direction in range(self._directions):
            h = (np.asarray(tensors[1][direction], dtype) if self.initial_states >= 1
                 else np.zeros((batch, hidden), dtype))
            c = (np.asarray(tensors[2][direction], dtype) if self.initial_states == 2
                 else np.zeros((batch, hidden), dtype))
            backwards = self.direction == "reverse" or direction == 1
            steps = range(seq - 1, -1, -1) if backwards else range(seq)
            y = np.zeros((seq, batch, hidden), dtype)
            for step in steps:
                h, c = self._step(direction, x[step], h, c)
                y[step] = h
            ys.append(y)
            last_h.append(h)
            last_c.append(c)
        outputs = [np.stack(ys, axis=1), np.stack(last_h)]
        return outputs + [np.stack(last_c)] if self.cell == "LSTM" else outputs

    def _clipped(self, value):
        return value if self.clip is None else np.clip(value, -self.clip, self.clip)

    def _step(self, direction: int, x, h, c):
        w, r = self.value_of(self.W)[direction], self.value_of(self.R)[direction]
        bias = self.value_of(self.B)[direction]
        gates = _GATES[self.cell] * self.hidden_size
        wb, rb = bias[:gates], bias[gates:]
        functions = self._functions(direction)
        if self.cell == "RNN":
            return functions[0](self._clipped(x @ w.T + h @ r.T + wb + rb)), c
        if self.cell == "LSTM":
            f, g, activation_h = functions
            p = self.value_of(self.P)[direction]
            p_i, p_o, p_f = np.split(p, 3)
            z_i, z_o, z_f, z_c = np.split(x @ w.T + h @ r.T + wb + rb, 4, axis=-1)
            i = f(self._clipped(z_i + p_i * c))
            forget = f(self._clipped(z_f + p_f * c))
            candidate = g(self._clipped(z_c))
            c = forget * c + i * candidate
            o = f(self._clipped(z_o + p_o * c))
            return o * activation_h(c), c
        f, g = functions
        x_z, x_r, x_h = np.split(x @ w.T + wb, 3, axis=-1)
        r_z, r_r, r_h = np.split(r, 3, axis=0)
        rb_z, rb_r, rb_h = np.split(rb, 3)
        z = f(self._clipped(x_z + h @ r_z.T + rb_z))
        reset = f(self._clipped(x_r + h @ r_r.T + rb_r))
        if self.linear_before_reset:
            candidate = g(self._clipped(x_h + reset * (h @ r_h.T + rb_h)))
        else:
            candidate = g(self._clipped(x_h + (reset * h) @ r_h.T + rb_h))
        return (1 - z) * candidate + z * h, c

    def get_config(self) -> dict:
        return {**super().get_config(), "cell": self.cell, "hidden_size": self.hidden_size,
                "direction": self.direction, "activations": self.activations,
                "activation_alpha": self.activation_alpha,
                "activation_beta": self.activation_beta, "clip": self.clip,
                "linear_before_reset": self.linear_before_reset,
                "input_forget": self.input_forget, "initial_states": self.initial_states,
                "layout": self.layout, "input_size": self.input_size}
