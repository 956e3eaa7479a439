"""SimpleRNN: the fully-connected recurrent layer (a SimpleRNNCell named `simple_rnn_cell`).
"""

from ...graph import register_layer
from ..arguments import check_serialized
from .cells import SimpleRNNCell
from .rnn import BuiltinRNN

__all__ = ["SimpleRNN"]


@register_layer()
class SimpleRNN(BuiltinRNN):
    """Fully-connected RNN: `h_t = activation(x_t W + h_{t-1} U + b)`; the output is h."""

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell = {"units": units, "activation": activation, "use_bias": use_bias,
                "kernel_initializer": kernel_initializer,
                "recurrent_initializer": recurrent_initializer,
                "bias_initializer": bias_initializer, "kernel_regularizer": kernel_regularizer,
                "recurrent_regularizer": recurrent_regularizer,
                "bias_regularizer": bias_regularizer, "kernel_constraint": kernel_constraint,
                "recurrent_constraint": recurrent_constraint, "bias_constraint": bias_constraint,
                "dropout": dropout, "recurrent_dropout": recurrent_dropout, "seed": seed}
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        # Keras 3 keeps SimpleRNN's activity_regularizer off the layer (its config writes null).
        check_serialized(activity_regularizer, "activity_regularizer", type(self), self.name)

    def get_config(self) -> dict:
        return {**self._head_config(), **self._tail_config(None)}
