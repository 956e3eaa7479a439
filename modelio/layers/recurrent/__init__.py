"""Recurrent layers: SimpleRNN, LSTM, GRU (their shared base in rnn.py), the cells SimpleRNNCell,
LSTMCell, GRUCell and StackedRNNCells with the generic RNN, ConvLSTM1D/2D/3D, tf-keras's
CuDNNLSTM/CuDNNGRU (as LSTM/GRU), the wrappers Bidirectional and TimeDistributed, and
OnnxRecurrent (ONNX's LSTM / GRU / RNN ops as they are)."""

from . import cells, conv_lstm, cudnn, generic, gru, lstm, onnx_recurrent, simple_rnn, wrappers
from .cells import *
from .conv_lstm import *
from .cudnn import *
from .generic import *
from .gru import *
from .lstm import *
from .onnx_recurrent import *
from .simple_rnn import *
from .wrappers import *

# Each module lists its public classes in its own __all__; the family exports them all.
__all__ = [name for module in (cells, conv_lstm, cudnn, generic, gru, lstm, onnx_recurrent,
                               simple_rnn, wrappers)
           for name in module.__all__]

# The classes' public home is this package (`modelio.layers.recurrent.X`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
