"""SimpleRNN: the fully-connected recurrent layer.
"""

from ...graph import register_layer
from ...kernels import recurrent as kernels
from ..arguments import check_serialized
from .rnn import _RNN

__all__ = ["SimpleRNN"]


@register_layer()
class SimpleRNN(_RNN):
    """Fully-connected RNN: `h_t = activation(x_t W + h_{t-1} U + b)`; the output is h."""

    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        # Keras 3 keeps SimpleRNN's activity_regularizer off the layer (its config writes null).
        check_serialized(activity_regularizer, "activity_regularizer", type(self), self.name)
        self._init_cell_arguments(activation, use_bias, kernel_initializer,
                                  recurrent_initializer, bias_initializer, kernel_regularizer,
                                  recurrent_regularizer, bias_regularizer, kernel_constraint,
                                  recurrent_constraint, bias_constraint, dropout,
                                  recurrent_dropout, seed)

    def _run(self, sequences, states, mask):
        activation = kernels.StepActivation(self.activation_name, self.activation)
        return kernels.simple_rnn(sequences, *self._cell_weights(), states[0], activation,
                                  **self._kernel_options(mask))

    def get_config(self) -> dict:
        return {**self._rnn_config(), "use_bias": self.use_bias, **self._initializer_config(),
                **self._regularizer_config(None)}
