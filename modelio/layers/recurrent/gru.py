"""GRU: the Gated Recurrent Unit (a GRUCell named `gru_cell`), in both Keras bias layouts
(`reset_after`).
"""

from ...graph import register_layer
from .cells import GRUCell
from .rnn import BuiltinRNN, check_use_cudnn

__all__ = ["GRU"]


@register_layer()
class GRU(BuiltinRNN):
    """Gated Recurrent Unit (Keras gate order z, r, h; `h = z * h_prev + (1 - z) * hh`).

    `reset_after=True` (Keras 3's default) applies the reset gate after the recurrent matmul and
    has a (2, 3 * units) bias (input and recurrent rows); `reset_after=False` a (3 * units,) one.
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        cell = {"units": units, "activation": activation,
                "recurrent_activation": recurrent_activation, "use_bias": use_bias,
                "kernel_initializer": kernel_initializer,
                "recurrent_initializer": recurrent_initializer,
                "bias_initializer": bias_initializer, "kernel_regularizer": kernel_regularizer,
                "recurrent_regularizer": recurrent_regularizer,
                "bias_regularizer": bias_regularizer, "kernel_constraint": kernel_constraint,
                "recurrent_constraint": recurrent_constraint, "bias_constraint": bias_constraint,
                "dropout": dropout, "recurrent_dropout": recurrent_dropout,
                "reset_after": reset_after, "seed": seed}
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = check_use_cudnn(self, use_cudnn)

    recurrent_activation_name = property(lambda self: self.cell.recurrent_activation_name)
    reset_after = property(lambda self: self.cell.reset_after)

    def get_config(self) -> dict:
        return {**self._head_config(), **self._tail_config(self.activity_regularizer),
                "reset_after": self.cell.reset_after, "seed": self.cell.seed}
