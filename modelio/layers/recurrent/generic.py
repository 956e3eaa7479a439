"""RNN (the generic recurrent layer around a cell) and StackedRNNCells (cells run one after the
other at each step), as Keras 3 serializes them: `RNN.config.cell` and
`StackedRNNCells.config.cells` hold nested layer entries of modelio's cells.

A stack of cells runs as its cells one after the other over the whole sequence (each cell's
output sequence is the next one's input), which is what running them one after the other at every
step computes: a masked step keeps every cell's states, so what an inner cell outputs there is
never used. The output sequence and the final states are the last cell's (states: every cell's,
flat, in order).
"""

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer, register_layer
from ...graph.naming import keras3_snake_case
from ...graph.serialization import deserialize_layer, serialize_layer
from ..arguments import layer_label
from .cells import RecurrentCell
from .rnn import _RNN, cell_groups, cell_variables, flat_states

__all__ = ["RNN", "StackedRNNCells"]

_CELL_CLASSES = "SimpleRNNCell, LSTMCell, GRUCell or StackedRNNCells"


def _deserialize_cell(owner: str, entry, key: str):
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, dict):
        raise ConfigError(f"{owner}: '{key}' must be a cell config mapping, got "
                          f"{type(entry).__name__}")
    return deserialize_layer(entry, f"{owner}: {key}: ")


def _check_cell(owner: str, cell):
    if not isinstance(cell, (RecurrentCell, StackedRNNCells)):
        raise UnsupportedError(f"{owner}: the cell must be a {_CELL_CLASSES}, got "
                               f"{type(cell).__name__}")
    return cell


@register_layer()
class StackedRNNCells(Layer):
    """Cells run in turn at each step: cell k's output is cell k+1's input. Weights: each cell's,
    in order (`rnn/stacked_rnn_cells/lstm_cell/kernel`)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ConfigError(f"{layer_label(self)}: cells must be a non-empty list of cells")
        label = layer_label(self)
        self.cells = [_check_cell(label, _deserialize_cell(label, cell, "cells"))
                      for cell in cells]

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        config = dict(config)
        if "cells" not in config:
            raise ConfigError(f"layer '{config.get('name', '?')}' ({cls.__name__}): config has no "
                              f"'cells'")
        return cls(**cls.normalize_legacy_config(config))

    @property
    def state_size(self) -> list[int]:
        """Every cell's state sizes, flat, in order."""
        return [size for cell in self.cells for size in cell.state_size]

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    @property
    def input_dim(self) -> int:
        return self.cells[0].input_dim

    def build(self, input_shape):
        batch, width = input_shape[0], input_shape[-1]
        for cell in self.cells:
            cell._maybe_build((batch, width))
            width = cell.output_size
        for weight in cell_variables(self):
            weight.layer_name = f"{self.name}/{weight.layer_name}"

    @property
    def weights(self):
        """Every cell's weights, in order."""
        return cell_variables(self)

    def run(self, sequences, states, mask=None, go_backwards=False, return_sequences=False,
            zero_output_for_mask=False):
        """See RecurrentCell.run; the cells run in turn over the whole sequence (module doc)."""
        if go_backwards:
            sequences = sequences[:, ::-1]
            mask = None if mask is None else np.asarray(mask)[:, ::-1]
        final, offset, last, outputs = [], 0, None, sequences
        for index, cell in enumerate(self.cells):
            count = len(cell.state_size)
            is_last = index == len(self.cells) - 1
            last, outputs, cell_states = cell.run(
                outputs, states[offset:offset + count], mask=mask,
                return_sequences=return_sequences or not is_last,
                zero_output_for_mask=zero_output_for_mask and is_last)
            final.extend(cell_states)
            offset += count
        return last, outputs, final

    def call(self, inputs, states, training=None):
        last, _, new_states = self.run(np.asarray(inputs)[:, None], flat_states(states))
        return last, new_states

    def compute_output_spec(self, *args, **kwargs):
        raise UnsupportedError(f"{layer_label(self)}: a stack of cells runs inside an RNN layer "
                               f"(keras.layers.RNN(cells)); calling it on its own in a model is "
                               f"not supported")

    def keras3_weight_groups(self) -> list:
        """Keras 3's groups: `cells/<snake_case class>[_n]/vars` for each cell."""
        groups, used = [("", [], self.name)], {}
        for cell in self.cells:
            key = keras3_snake_case(type(cell).__name__)
            used[key] = used.get(key, -1) + 1
            key = key if used[key] == 0 else f"{key}_{used[key]}"
            groups += [(f"cells/{key}/{path}".rstrip("/"), weights, name)
                       for path, weights, name in cell_groups(cell)]
        return groups

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "cells": [serialize_layer(cell) for cell in self.cells]}


@register_layer()
class RNN(_RNN):
    """The generic recurrent layer: runs `cell` (a SimpleRNNCell, LSTMCell, GRUCell,
    StackedRNNCells, or a list of cells, which becomes a StackedRNNCells) over the time axis."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)

    def _make_cell(self, cell):
        label = layer_label(self)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        return _check_cell(label, _deserialize_cell(label, cell, "cell"))

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        if "cell" not in config:
            raise ConfigError(f"layer '{config.get('name', '?')}' ({cls.__name__}): config has no "
                              f"'cell'")
        return super().from_config(config)

    def get_config(self) -> dict:
        return {**self._rnn_config(), "cell": serialize_layer(self.cell)}
