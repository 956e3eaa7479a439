"""Both ONNX directions for the recurrent family (modelio/layers/recurrent/), module for module:
`rnn` (SimpleRNN/LSTM/GRU and RNN with its cells as ONNX's fused ops, or as a Scan when
masked), `conv_lstm` (ConvLSTM1D/2D/3D: a Conv over all frames, then a Scan), `wrappers`
(Bidirectional, TimeDistributed) and `onnx_recurrent` (OnnxRecurrent and the ONNX LSTM/GRU/RNN
converter)."""

from . import conv_lstm, onnx_recurrent, rnn, wrappers

__all__ = ["conv_lstm", "onnx_recurrent", "rnn", "wrappers"]
