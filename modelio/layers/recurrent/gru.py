"""GRU: the Gated Recurrent Unit, in both Keras bias layouts (`reset_after`).
"""

from ...graph import register_layer
from ...kernels import recurrent as kernels
from ..arguments import check_bool
from .rnn import _GatedRNN

__all__ = ["GRU"]


@register_layer()
class GRU(_GatedRNN):
    """Gated Recurrent Unit (Keras gate order z, r, h; `h = z * h_prev + (1 - z) * hh`).

    `reset_after=True` (Keras 3's default) applies the reset gate after the recurrent matmul and
    has a (2, 3 * units) bias (input and recurrent rows); `reset_after=False` a (3 * units,) one.
    """

    _cell_name = "gru_cell"
    _gates = 3
    # Keras <= 2.2.4's defaults; tf.keras always writes both keys.
    _keras2_defaults = {"recurrent_activation": "hard_sigmoid", "reset_after": False}

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, use_cudnn, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful,
                         unroll=unroll, **kwargs)
        self.reset_after = check_bool(reset_after, "reset_after", type(self), self.name)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, sequences, states, mask):
        return kernels.gru(sequences, *self._cell_weights(), states[0], *self._step_activations(),
                           reset_after=self.reset_after, **self._kernel_options(mask))

    def get_config(self) -> dict:
        return {**self._gated_config(), **self._regularizer_config(self.activity_regularizer),
                "reset_after": self.reset_after, "seed": self.seed}
