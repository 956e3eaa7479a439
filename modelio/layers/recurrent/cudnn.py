"""tf-keras's CuDNNLSTM and CuDNNGRU (Keras 2's GPU-only layers), loaded as the LSTM / GRU they
equal, and their weights as legacy `.h5` files store them.

A CuDNNLSTM is an LSTM with activation tanh, recurrent_activation sigmoid, use_bias and
`unit_forget_bias` as configured; a CuDNNGRU a GRU with tanh, sigmoid, use_bias and
`reset_after=True` (tf-keras's own documentation of when LSTM/GRU take the cuDNN kernel). Their
configs have no activation, use_bias, dropout or reset_after keys; these classes fill them in,
and write themselves as `LSTM` / `GRU` (Keras 3 has no CuDNN classes), so a file modelio writes
back loads in Keras 3.

Their weights are in cuDNN's layout (what tf-keras's `hdf5_format._convert_rnn_weights` undoes
when it loads them into LSTM/GRU, and what `cudnn_to_keras` here does the same way): per gate,
the input kernel block (features, units) holds the (units, features) matrix written row by row,
the recurrent kernel block is transposed, and the bias holds separate input and recurrent halves:
(8 * units,) for LSTM (summed into (4 * units,)), (6 * units,) for GRU (reshaped to
(2, 3 * units), reset_after's layout). LSTM and GRU accept such weights from a legacy `.h5` file
(`legacy_weight_conversion`, with cudnn_weights.py), whichever class the file's config names.
"""

from ...graph import register_layer
from ...graph.layer import Layer
from .gru import GRU
from .lstm import LSTM

__all__ = ["CuDNNLSTM", "CuDNNGRU"]


class _CuDNN:
    """The fixed settings of a CuDNN layer, applied whatever the config or caller says about
    them (a CuDNN layer has no such arguments)."""

    _settings: dict = {}

    def __init__(self, units, **kwargs):
        super().__init__(units, **{**kwargs, **self._settings})

    @classmethod
    def from_config(cls, config: dict):
        # Not BuiltinRNN.from_config: Keras 2.2's LSTM/GRU defaults do not apply to CuDNN layers.
        return Layer.from_config.__func__(cls, config)


@register_layer()
class CuDNNLSTM(_CuDNN, LSTM):
    """tf-keras's CuDNNLSTM as the LSTM it equals (tanh, sigmoid, use_bias); written as LSTM."""

    _keras_class_name = "LSTM"
    _settings = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}


@register_layer()
class CuDNNGRU(_CuDNN, GRU):
    """tf-keras's CuDNNGRU as the GRU it equals (tanh, sigmoid, use_bias, reset_after=True);
    written as GRU."""

    _keras_class_name = "GRU"
    _settings = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                 "reset_after": True}
