"""LSTM: Long Short-Term Memory, with Keras's gate order and weights.
"""

import numpy as np

from ...graph import register_layer
from ...kernels import recurrent as kernels
from ..arguments import check_bool
from ..initializers import get_initializer
from .rnn import _GatedRNN

__all__ = ["LSTM"]


@register_layer()
class LSTM(_GatedRNN):
    """Long Short-Term Memory (Keras gate order i, f, c, o). States: [h, c]; the output is h."""

    _cell_name = "lstm_cell"
    _gates = 4
    _state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, use_cudnn, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful,
                         unroll=unroll, **kwargs)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", type(self),
                                           self.name)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return super()._bias_initializer()
        initializer, units = get_initializer(self.bias_initializer), self.units

        def unit_forget(shape, dtype):
            return np.concatenate([initializer((units,), dtype), np.ones((units,), dtype),
                                   initializer((2 * units,), dtype)])
        return unit_forget

    def _run(self, sequences, states, mask):
        return kernels.lstm(sequences, *self._cell_weights(), states[0], states[1],
                            *self._step_activations(), **self._kernel_options(mask))

    def get_config(self) -> dict:
        return {**self._gated_config(), "unit_forget_bias": self.unit_forget_bias,
                **self._regularizer_config(self.activity_regularizer), "seed": self.seed}
