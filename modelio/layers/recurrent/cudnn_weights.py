"""Weights in cuDNN's layout (tf-keras's CuDNNLSTM / CuDNNGRU) turned into LSTM's / GRU's, as
tf-keras's `hdf5_format._convert_rnn_weights` does when it loads them (see cudnn.py)."""

import numpy as np

from .cells import GRUCell, LSTMCell

__all__ = ["cudnn_conversion", "cudnn_to_keras"]


def _input_kernel_from_cudnn(block: np.ndarray) -> np.ndarray:
    rows, units = block.shape
    return np.ascontiguousarray(block.reshape(units, rows).T)


def cudnn_to_keras(arrays: list, gates: int, reset_after_bias: bool) -> list:
    """[kernel, recurrent_kernel, bias] in cuDNN's layout -> Keras's (see the module doc)."""
    kernel, recurrent_kernel, bias = (np.asarray(array) for array in arrays)
    kernel = np.hstack([_input_kernel_from_cudnn(block) for block in np.hsplit(kernel, gates)])
    recurrent_kernel = np.hstack([np.ascontiguousarray(block.T)
                                  for block in np.hsplit(recurrent_kernel, gates)])
    if reset_after_bias:
        bias = bias.reshape(2, -1)
    else:
        first, second = np.split(bias, 2)
        bias = first + second
    return [kernel, recurrent_kernel, bias]


def cudnn_conversion(layer, shapes: list):
    """For an LSTM or GRU and the shapes of the weights a legacy `.h5` file stores for it: a
    function turning those arrays into the layer's weights when they are in cuDNN's layout, or
    None (tf-keras's rule: three weights and a bias of 2 * gates * units)."""
    cell = getattr(layer, "cell", None)
    if not isinstance(cell, (LSTMCell, GRUCell)) or len(shapes) != 3 or cell.bias is None:
        return None
    gates, units = (4 if isinstance(cell, LSTMCell) else 3), cell.units
    expected = [tuple(cell.kernel.shape), tuple(cell.recurrent_kernel.shape),
                (2 * gates * units,)]
    if [tuple(shape) for shape in shapes] != expected:
        return None
    if isinstance(cell, GRUCell) and not cell.reset_after:
        return None  # tf-keras: CuDNNGRU weights only fit GRU(reset_after=True)
    return lambda arrays: cudnn_to_keras(arrays, gates, reset_after_bias=gates == 3)
