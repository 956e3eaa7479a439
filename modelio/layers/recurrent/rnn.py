"""What every recurrent layer shares: a cell, the RNN arguments, states, masks and shapes.

An RNN layer holds its cell (`layer.cell`: a SimpleRNNCell, LSTMCell, GRUCell or
StackedRNNCells, modelio/layers/recurrent/cells.py and generic.py) as Keras does; the cell owns
the weights (`kernel`, `recurrent_kernel`, `bias`) and the step math, and the layer lists the
cell's weights as its own at Keras's paths (`lstm/lstm_cell/kernel`), so
`layer.set_weights(keras_layer.get_weights())` works. SimpleRNN, LSTM and GRU build their cell
from their own (flat) arguments; `RNN` takes any of those cells. Inference only: dropout and
recurrent_dropout do nothing, `unroll` computes the same thing, `stateful=True` is refused.

Initial states come as `layer(x, initial_state=[h, c])` (Keras 3) or, as Keras 2 configs record
them, as extra inputs after the sequence (`[x, h, c]`). Masks: a masked step keeps the previous
states and repeats the previous output (zeros with `zero_output_for_mask`, which Bidirectional
forces on when it returns sequences), as Keras 3 computes them.
"""

import contextlib

import numpy as np

from ...errors import ConfigError, ModelioError, UnsupportedError
from ...graph import Layer
from ...graph.dialect import keras2_semantics_active
from ...graph.layer import is_shape
from ...graph.tensor import SymbolicTensor
from ..arguments import check_bool, check_int, layer_label
from .cudnn_weights import cudnn_conversion

_USE_CUDNN_CHOICES = ("auto", True, False)


class RecordsInitialStates:
    """Mixin for the layers a graph may call with `initial_state` (the RNNs, Bidirectional): it
    keeps the states' shapes and writes them into the build config, as Keras 3 does."""

    def __call__(self, *args, **kwargs):
        record_state_shapes(self, kwargs)
        return super().__call__(*args, **kwargs)

    def get_build_config(self) -> dict | None:
        return build_config_with_states(self, super().get_build_config())


class _RNN(RecordsInitialStates, Layer):
    """What every recurrent layer shares: a cell (`self.cell`, which holds the weights and the
    step math), the RNN arguments, initial states, masks and shapes."""

    supports_masking = True
    # Keras 2 keys: `time_major` (False dropped, True refused in normalize_legacy_config) and
    # `implementation` (the kernel variant; the math is the same).
    _legacy_keys = {"implementation": None}

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, implementation=2,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.return_sequences = check_bool(return_sequences, "return_sequences", cls, self.name)
        self.return_state = check_bool(return_state, "return_state", cls, self.name)
        self.go_backwards = check_bool(go_backwards, "go_backwards", cls, self.name)
        self.stateful = check_bool(stateful, "stateful", cls, self.name)
        if self.stateful:
            raise UnsupportedError(f"{layer_label(self)}: stateful=True is not supported (modelio "
                                   f"runs each batch from fresh or given initial states)")
        self.unroll = check_bool(unroll, "unroll", cls, self.name)
        self.zero_output_for_mask = check_bool(zero_output_for_mask, "zero_output_for_mask",
                                               cls, self.name)
        check_int(implementation, "implementation", cls, self.name, minimum=0)
        with cell_errors(self):
            self.cell = self._make_cell(cell)

    def _make_cell(self, cell):
        """The layer's cell from the constructor's `cell` argument."""
        raise NotImplementedError

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        if "time_major" in config:
            if config.pop("time_major") is not False:
                raise UnsupportedError(f"layer '{config.get('name', '?')}' ({cls.__name__}): "
                                       f"time_major=True is not supported")
        return super().normalize_legacy_config(config)

    @property
    def state_sizes(self) -> list[int]:
        """The size of each state tensor, flat (a stack of cells lists each cell's in turn)."""
        return list(self.cell.state_size)

    @property
    def _state_count(self) -> int:
        return len(self.state_sizes)

    @property
    def output_size(self) -> int:
        return int(self.cell.output_size)

    # ----- weights --------------------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._sequence_shape(sequences_shape)
        input_dim = sequences_shape[-1]
        if input_dim is None:
            raise ConfigError(f"{layer_label(self)} needs a known last input dimension, got "
                              f"{sequences_shape}")
        with cell_errors(self):
            self.cell._maybe_build((sequences_shape[0], input_dim))
        # The cell's weights are the layer's, at Keras's paths (`lstm/lstm_cell/kernel`).
        self._weights = list(cell_variables(self.cell))
        for weight in self._weights:
            if not weight.layer_name.startswith(f"{self.name}/"):
                weight.layer_name = f"{self.name}/{weight.layer_name}"

    @property
    def input_dim(self) -> int:
        return int(self.cell.input_dim)

    # ----- shapes ---------------------------------------------------------------------------------
    def _sequence_shape(self, shape):
        """The sequence's shape from a build/shape argument (Keras 2 passes [x, *states])."""
        if not is_shape(shape) and isinstance(shape, (list, tuple)) and shape:
            shape = shape[0]
        if not is_shape(shape) or len(shape) != 3:
            raise ConfigError(f"{layer_label(self)} expects inputs of shape (batch, time, features), "
                              f"got {shape}")
        return shape

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._sequence_shape(sequences_shape)
        if self.built and sequences_shape[-1] not in (None, self.input_dim):
            raise ConfigError(f"{layer_label(self)} was built for {self.input_dim} input "
                              f"features, got inputs of shape {sequences_shape}")
        batch, length, units = sequences_shape[0], sequences_shape[1], self.output_size
        output = (batch, length, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [output] + [(batch, size) for size in self.state_sizes]
        return output

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None,
                            constants=None):
        refuse_constants(self, constants)
        sequences, states = split_sequence_and_states(self, sequences, initial_state)
        if states is not None:
            self._check_states(states, lambda state: state.shape, sequences.shape)
        shapes = self._checked_output_shape(sequences.shape)
        dtype = self.compute_dtype
        if is_shape(shapes):
            return SymbolicTensor(shapes, dtype)
        return [SymbolicTensor(shape, dtype) for shape in shapes]

    def _state_shapes(self, sequences_shape) -> list:
        """The shape of each state tensor for inputs of `sequences_shape`."""
        return [(sequences_shape[0], size) for size in self.state_sizes]

    def _check_states(self, states, shape_of, sequences_shape=None):
        sizes = self.state_sizes
        if len(states) != len(sizes):
            raise ConfigError(f"{layer_label(self)} takes {len(sizes)} initial state tensor(s), "
                              f"got {len(states)}")
        for state, size in zip(states, sizes):
            shape = tuple(shape_of(state))
            if len(shape) != 2 or shape[1] not in (None, size):
                raise ConfigError(f"{layer_label(self)}: an initial state must have shape (batch, "
                                  f"{size}), got {shape}")

    def compute_mask(self, inputs, previous_mask):
        output_mask = first_mask(previous_mask) if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self._state_count
        return output_mask

    # ----- computing ------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None, constants=None):
        refuse_constants(self, constants)
        sequences, states = split_sequence_and_states(self, sequences, initial_state)
        dtype = self.compute_dtype
        sequences = np.asarray(sequences)
        if sequences.dtype != dtype:
            sequences = sequences.astype(dtype)
        shapes = self._state_shapes(sequences.shape)
        if states is None:
            states = [np.zeros(shape, dtype) for shape in shapes]
        else:
            self._check_states(states, np.shape, sequences.shape)
            states = [np.broadcast_to(np.asarray(state, dtype), shape).copy()
                      for state, shape in zip(states, shapes)]
        mask = first_mask(mask)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != sequences.shape[:2]:
                raise ConfigError(f"{layer_label(self)}: the mask's shape {mask.shape} does not match "
                                  f"the inputs' (batch, time) {sequences.shape[:2]}")
        last, outputs, final_states = self.cell.run(
            sequences, states, mask=mask, go_backwards=self.go_backwards,
            return_sequences=self.return_sequences, zero_output_for_mask=self.zero_output_for_mask)
        output = outputs if self.return_sequences else last
        if self.return_state:
            return [output, *final_states]
        return output

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        """Keras 3 keeps these weights on the layer's `cell`: `<rnn>/cell/vars/0..2` (a stack of
        cells: `<rnn>/cell/cells/<lstm_cell>/vars/...`)."""
        return [("", [], self.name)] + [(f"cell/{path}".rstrip("/"), weights, name)
                                        for path, weights, name in cell_groups(self.cell)]

    # ----- config ---------------------------------------------------------------------------------
    def _rnn_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        })
        return config


@contextlib.contextmanager
def cell_errors(layer):
    """A block in which a refusal about the layer's cell names the layer too."""
    try:
        yield
    except ModelioError as exc:
        if f"'{layer.name}'" in str(exc):
            raise
        raise type(exc)(f"{layer_label(layer)}: {exc}") from exc


def cell_variables(cell) -> list:
    """Every weight of `cell` (of each cell of a stack), in creation order."""
    inner = getattr(cell, "cells", None)
    if inner is None:
        return list(cell._weights)
    return [weight for child in inner for weight in cell_variables(child)]


def cell_groups(cell) -> list:
    """Keras 3's weight groups of a cell, relative to the cell's own group."""
    method = getattr(cell, "keras3_weight_groups", None)
    if callable(method):
        return method()
    return [("", list(cell._weights), cell.name)]


def record_state_shapes(layer, kwargs: dict) -> None:
    """Before the first build: remember initial_state's shapes, which Keras 3 writes into the
    build config (`{"shapes_dict": {"sequences_shape", "initial_state_shape"}}`)."""
    if layer.built:
        return
    state = kwargs.get("initial_state")
    if state is None:
        layer._build_state_shapes = None
    elif isinstance(state, (list, tuple)):
        layer._build_state_shapes = [_shape_list(item) for item in state]
    else:
        layer._build_state_shapes = _shape_list(state)


def _shape_list(value):
    """A state's shape as a list (a stack of cells' nested states: nested lists of them)."""
    if isinstance(value, (list, tuple)):
        return [_shape_list(item) for item in value]
    shape = value.shape if isinstance(value, SymbolicTensor) else np.shape(value)
    return list(shape)


def flat_states(states) -> list:
    """Initial states flat, in order: Keras 3 nests a stack of cells' states per cell
    (`[[h1, c1], h2]`)."""
    flat, stack = [], [states]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def build_config_with_states(layer, base: dict | None) -> dict | None:
    """The build config Keras 3 writes for `layer`: `base` (`{"input_shape": ...}`), or with the
    initial states' shapes that `record_state_shapes` kept, a `shapes_dict`."""
    states = getattr(layer, "_build_state_shapes", None)
    if base is None or states is None:
        return base
    return {"shapes_dict": {"sequences_shape": base["input_shape"],
                            "initial_state_shape": states}}


def split_sequence_and_states(layer, sequences, initial_state):
    """(sequence, list of states or None) from `sequences` (maybe Keras 2's [x, *states])."""
    if isinstance(sequences, (list, tuple)):
        if not sequences:
            raise ConfigError(f"{layer_label(layer)} was called on an empty list")
        if len(sequences) > 1:
            if initial_state is not None:
                raise ConfigError(f"{layer_label(layer)}: initial states were given both as inputs "
                                  f"and as initial_state")
            initial_state = list(sequences[1:])
        sequences = sequences[0]
    if initial_state is not None and not isinstance(initial_state, (list, tuple)):
        initial_state = [initial_state]
    if initial_state is not None:
        initial_state = flat_states(initial_state)
        if not initial_state or any(state is None for state in initial_state):
            initial_state = None
    return sequences, initial_state


def refuse_constants(layer, constants) -> None:
    """tf-keras records `constants: null` in node kwargs; real constants need custom cells."""
    if constants is not None:
        raise UnsupportedError(f"{layer_label(layer)}: constants are not supported (no built-in "
                               f"recurrent cell takes them)")


def first_mask(mask):
    """The sequence's mask out of a call's `mask` (a tensor, None, or nested lists of them)."""
    while isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    return mask


def check_use_cudnn(layer, use_cudnn):
    """`use_cudnn` ("auto", true or false) unchanged, or a ConfigError naming `layer`."""
    if use_cudnn not in _USE_CUDNN_CHOICES or (use_cudnn != "auto"
                                               and not isinstance(use_cudnn, bool)):
        raise ConfigError(f"{layer_label(layer)}: use_cudnn must be 'auto', true or false, "
                          f"got {use_cudnn!r}")
    return use_cudnn




class BuiltinRNN(_RNN):
    """SimpleRNN, LSTM and GRU: an RNN that makes its own cell (`_cell_class`, named
    `_cell_name`, as Keras names it) from the cell arguments it takes itself, and whose config
    holds them flat."""

    _cell_class: type = None
    _cell_name = "rnn_cell"

    def _make_cell(self, cell):
        return self._cell_class(**cell, name=self._cell_name, dtype=self.dtype_policy,
                                trainable=self.trainable)

    @classmethod
    def from_config(cls, config: dict):
        if isinstance(config, dict) and keras2_semantics_active():
            config = {**cls._cell_class._keras2_defaults, **config}
        return super().from_config(config)

    # What the ONNX lowerings and users read: the cell's arguments and weights.
    units = property(lambda self: self.cell.units)
    use_bias = property(lambda self: self.cell.use_bias)
    activation_name = property(lambda self: self.cell.activation_name)
    kernel = property(lambda self: self.cell.kernel)
    recurrent_kernel = property(lambda self: self.cell.recurrent_kernel)
    bias = property(lambda self: self.cell.bias)

    def legacy_weight_conversion(self, shapes: list):
        """Weights a legacy `.h5` file stores in cuDNN's layout (tf-keras's CuDNNLSTM/CuDNNGRU,
        see cudnn.py): a function converting them to this layer's, or None when the stored
        `shapes` are not that layout."""
        return cudnn_conversion(self, shapes)

    def _head_config(self) -> dict:
        """The config up to the initializers, in Keras's key order."""
        cell = self.cell.get_config()
        config = {**self._rnn_config(), "units": cell["units"], "activation": cell["activation"]}
        if "recurrent_activation" in cell:
            config["recurrent_activation"] = cell["recurrent_activation"]
        config["use_bias"] = cell["use_bias"]
        config.update(self.cell.initializer_config())
        return config

    def _tail_config(self, activity_regularizer) -> dict:
        return {**self.cell.regularizer_config(), "activity_regularizer": activity_regularizer,
                **self.cell.constraint_config()}
