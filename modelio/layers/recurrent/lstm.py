"""LSTM: Long Short-Term Memory (an LSTMCell named `lstm_cell`, Keras's gate order and weights).
"""

from ...graph import register_layer
from .cells import LSTMCell
from .rnn import BuiltinRNN, check_use_cudnn

__all__ = ["LSTM"]


@register_layer()
class LSTM(BuiltinRNN):
    """Long Short-Term Memory (Keras gate order i, f, c, o). States: [h, c]; the output is h."""

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        cell = {"units": units, "activation": activation,
                "recurrent_activation": recurrent_activation, "use_bias": use_bias,
                "kernel_initializer": kernel_initializer,
                "recurrent_initializer": recurrent_initializer,
                "bias_initializer": bias_initializer, "unit_forget_bias": unit_forget_bias,
                "kernel_regularizer": kernel_regularizer,
                "recurrent_regularizer": recurrent_regularizer,
                "bias_regularizer": bias_regularizer, "kernel_constraint": kernel_constraint,
                "recurrent_constraint": recurrent_constraint, "bias_constraint": bias_constraint,
                "dropout": dropout, "recurrent_dropout": recurrent_dropout, "seed": seed}
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = check_use_cudnn(self, use_cudnn)

    recurrent_activation_name = property(lambda self: self.cell.recurrent_activation_name)
    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)

    def get_config(self) -> dict:
        return {**self._head_config(), "unit_forget_bias": self.cell.unit_forget_bias,
                **self._tail_config(self.activity_regularizer), "seed": self.cell.seed}
