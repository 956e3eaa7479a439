"""The recurrent cells: SimpleRNNCell, LSTMCell and GRUCell, as Keras 3 defines and serializes them.

A cell holds one step's arguments and weights (`kernel`, `recurrent_kernel`, `bias`, in Keras's
gate order and names). The RNN layers (`RNN`, and SimpleRNN/LSTM/GRU, which build their own cell
named `simple_rnn_cell`/`lstm_cell`/`gru_cell`) hold a cell and ask it to run a whole sequence
with `run(...)`: the vectorized kernels of modelio/kernels/recurrent.py, one stacked input
projection and a small matmul per step. Inference only: dropout and recurrent_dropout do nothing.
"""

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer, register_layer
from ...graph.dialect import keras2_semantics_active
from ...kernels import recurrent as kernels
from ..activations import resolve_activation, serialize_activation
from ..arguments import check_bool, check_float, check_int, layer_label
from ..initializers import get_initializer, set_weight_arguments

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell"]


class RecurrentCell(Layer):
    """What the three cells share: units, activation, initializers, regularizers, constraints,
    dropout (kept in the config, no effect at inference), their weights and their config."""

    # Keras 2's `implementation` picks a kernel variant; the numbers are the same.
    _legacy_keys = {"implementation": None}
    _gates = 1
    # Keras <= 2.2.4's defaults, for Keras 2 configs written without these keys.
    _keras2_defaults: dict = {}

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.units = check_int(units, "units", cls, self.name, minimum=1)
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        self.use_bias = check_bool(use_bias, "use_bias", cls, self.name)
        set_weight_arguments(
            self, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.dropout = float(check_float(dropout, "dropout", cls, self.name, 0.0, 1.0))
        self.recurrent_dropout = float(check_float(recurrent_dropout, "recurrent_dropout", cls,
                                                   self.name, 0.0, 1.0))
        if seed is not None:
            check_int(seed, "seed", cls, self.name)
        self.seed = seed
        self.kernel = self.recurrent_kernel = self.bias = None

    @classmethod
    def from_config(cls, config: dict):
        if isinstance(config, dict) and keras2_semantics_active():
            config = {**cls._keras2_defaults, **config}
        return super().from_config(config)

    # ----- what an RNN asks of its cell -------------------------------------------------------------
    @property
    def state_size(self) -> list[int]:
        """The sizes of the cell's state tensors (h; for LSTM h and c)."""
        return [self.units]

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape):
        input_dim = input_shape[-1] if input_shape else None
        if input_dim is None:
            raise ConfigError(f"{layer_label(self)} needs a known last input dimension, got "
                              f"{input_shape}")
        width = self._gates * self.units
        self.kernel = self.add_weight("kernel", (input_dim, width),
                                      get_initializer(self.kernel_initializer))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                get_initializer(self.recurrent_initializer))
        self.bias = (self.add_weight("bias", self._bias_shape(), self._bias_initializer())
                     if self.use_bias else None)

    @property
    def input_dim(self) -> int:
        return int(self.kernel.shape[0])

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return get_initializer(self.bias_initializer)

    def cell_weights(self) -> tuple:
        """(kernel, recurrent kernel, bias or None) in the compute dtype, Keras's layout."""
        bias = self.value_of(self.bias) if self.bias is not None else None
        return self.value_of(self.kernel), self.value_of(self.recurrent_kernel), bias

    def run(self, sequences, states, mask=None, go_backwards=False, return_sequences=False,
            zero_output_for_mask=False):
        """The cell over a (batch, time, features) sequence from `states` (a list of
        (batch, size) arrays): `(last output, outputs (batch, time, units) or None, states)`."""
        raise NotImplementedError

    def call(self, inputs, states, training=None):
        """One step, as Keras's `cell(inputs, states)`: `(output, new states)`."""
        states = states if isinstance(states, (list, tuple)) else [states]
        last, _, new_states = self.run(np.asarray(inputs)[:, None], list(states))
        return last, new_states

    def compute_output_spec(self, *args, **kwargs):
        raise UnsupportedError(f"{layer_label(self)}: a recurrent cell runs inside an RNN layer "
                               f"(keras.layers.RNN(cell)); calling it on its own in a model is not "
                               f"supported")

    def _step_activation(self):
        return kernels.StepActivation(self.activation_name, self.activation)

    # ----- config ---------------------------------------------------------------------------------
    def _head_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"units": self.units,
                       "activation": serialize_activation(self.activation_name)})
        return config

    def initializer_config(self) -> dict:
        return {"kernel_initializer": self.kernel_initializer,
                "recurrent_initializer": self.recurrent_initializer,
                "bias_initializer": self.bias_initializer}

    def regularizer_config(self) -> dict:
        return {"kernel_regularizer": self.kernel_regularizer,
                "recurrent_regularizer": self.recurrent_regularizer,
                "bias_regularizer": self.bias_regularizer}

    def constraint_config(self) -> dict:
        return {"kernel_constraint": self.kernel_constraint,
                "recurrent_constraint": self.recurrent_constraint,
                "bias_constraint": self.bias_constraint,
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout}


class GatedCell(RecurrentCell):
    """LSTMCell and GRUCell: a `recurrent_activation` for the gates."""

    _keras2_defaults = {"recurrent_activation": "hard_sigmoid"}

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation_name, self.recurrent_activation = resolve_activation(
            recurrent_activation, self.name)

    def step_activations(self) -> tuple:
        """The kernels' (activation, recurrent activation) pair."""
        return (self._step_activation(),
                kernels.StepActivation(self.recurrent_activation_name, self.recurrent_activation))

    def _head_config(self) -> dict:
        return {**super()._head_config(),
                "recurrent_activation": serialize_activation(self.recurrent_activation_name)}


@register_layer()
class SimpleRNNCell(RecurrentCell):
    """`h_t = activation(x_t W + h_{t-1} U + b)`; the output is h."""

    def run(self, sequences, states, mask=None, go_backwards=False, return_sequences=False,
            zero_output_for_mask=False):
        return kernels.simple_rnn(sequences, *self.cell_weights(), states[0],
                                  self._step_activation(), mask=mask, go_backwards=go_backwards,
                                  return_sequences=return_sequences,
                                  zero_output_for_mask=zero_output_for_mask)

    def get_config(self) -> dict:
        return {**self._head_config(), "use_bias": self.use_bias, **self.initializer_config(),
                **self.regularizer_config(), **self.constraint_config(), "seed": self.seed}


@register_layer()
class LSTMCell(GatedCell):
    """One LSTM step (Keras gate order i, f, c, o). States: [h, c]; the output is h."""

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", type(self),
                                           self.name)

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return super()._bias_initializer()
        initializer, units = get_initializer(self.bias_initializer), self.units

        def unit_forget(shape, dtype):
            return np.concatenate([initializer((units,), dtype), np.ones((units,), dtype),
                                   initializer((2 * units,), dtype)])
        return unit_forget

    def run(self, sequences, states, mask=None, go_backwards=False, return_sequences=False,
            zero_output_for_mask=False):
        return kernels.lstm(sequences, *self.cell_weights(), states[0], states[1],
                            *self.step_activations(), mask=mask, go_backwards=go_backwards,
                            return_sequences=return_sequences,
                            zero_output_for_mask=zero_output_for_mask)

    def get_config(self) -> dict:
        return {**self._head_config(), "use_bias": self.use_bias,
                "unit_forget_bias": self.unit_forget_bias, **self.initializer_config(),
                **self.regularizer_config(), **self.constraint_config(), "seed": self.seed}


@register_layer()
class GRUCell(GatedCell):
    """One GRU step (Keras gate order z, r, h; `h = z * h_prev + (1 - z) * hh`).

    `reset_after=True` (Keras 3's default) applies the reset gate after the recurrent matmul and
    has a (2, 3 * units) bias (input and recurrent rows); `reset_after=False` a (3 * units,) one.
    """

    _gates = 3
    _keras2_defaults = {"recurrent_activation": "hard_sigmoid", "reset_after": False}

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = check_bool(reset_after, "reset_after", type(self), self.name)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def run(self, sequences, states, mask=None, go_backwards=False, return_sequences=False,
            zero_output_for_mask=False):
        return kernels.gru(sequences, *self.cell_weights(), states[0], *self.step_activations(),
                           reset_after=self.reset_after, mask=mask, go_backwards=go_backwards,
                           return_sequences=return_sequences,
                           zero_output_for_mask=zero_output_for_mask)

    def get_config(self) -> dict:
        return {**self._head_config(), "use_bias": self.use_bias, **self.initializer_config(),
                **self.regularizer_config(), **self.constraint_config(),
                "reset_after": self.reset_after, "seed": self.seed}
