"""Both ONNX directions for the recurrent family (modelio/layers/recurrent/), module for module:
`rnn` (SimpleRNN/LSTM/GRU as ONNX's fused ops, or as a Scan when masked), `wrappers`
(Bidirectional, TimeDistributed) and `onnx_recurrent` (OnnxRecurrent and the ONNX LSTM/GRU/RNN
converter)."""

from . import onnx_recurrent, rnn, wrappers

__all__ = ["onnx_recurrent", "rnn", "wrappers"]
