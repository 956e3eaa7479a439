"""Recurrent layers: SimpleRNN, LSTM, GRU (their shared base in rnn.py), the wrappers
Bidirectional and TimeDistributed, and OnnxRecurrent (ONNX's LSTM / GRU / RNN ops as they are)."""

from .gru import GRU
from .lstm import LSTM
from .onnx_recurrent import OnnxRecurrent
from .simple_rnn import SimpleRNN
from .wrappers import Bidirectional, TimeDistributed

__all__ = ["GRU", "LSTM", "Bidirectional", "OnnxRecurrent", "SimpleRNN", "TimeDistributed"]

# The classes' public home is this package (`modelio.layers.recurrent.GRU`): their `__module__` says
# so, as numpy's set_module does, whichever module of the package defines them.
for _cls in (GRU, LSTM, Bidirectional, OnnxRecurrent, SimpleRNN, TimeDistributed):
    _cls.__module__ = __name__
del _cls
