"""What SimpleRNN, LSTM and GRU share: their arguments, states, masks and shapes.

The RNN layers hold their cell's weights themselves, named, shaped and ordered as Keras's cell
(`kernel`, `recurrent_kernel`, `bias`; paths `lstm/lstm_cell/kernel`), so
`layer.set_weights(keras_layer.get_weights())` works. Inference only: dropout and
recurrent_dropout do nothing, `unroll` computes the same thing, `stateful=True` is refused.

Initial states come as `layer(x, initial_state=[h, c])` (Keras 3) or, as Keras 2 configs record
them, as extra inputs after the sequence (`[x, h, c]`). Masks: a masked step keeps the previous
states and repeats the previous output (zeros with `zero_output_for_mask`, which Bidirectional
forces on when it returns sequences), as Keras 3 computes them.
"""

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer
from ...graph.dialect import keras2_semantics_active
from ...graph.layer import is_shape
from ...graph.tensor import SymbolicTensor
from ...kernels import recurrent as kernels
from ..activations import resolve_activation, serialize_activation
from ..arguments import check_bool, check_float, check_int, check_serialized, layer_label
from ..initializers import get_initializer, serialize_initializer

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
    """What SimpleRNN, LSTM and GRU share: the RNN arguments, masks, states and shapes."""

    supports_masking = True
    # Keras 2 keys: `time_major` (False dropped, True refused in normalize_legacy_config) and
    # `implementation` (the kernel variant; the math is the same).
    _legacy_keys = {"implementation": None}
    _cell_name = "rnn_cell"
    _gates = 1  # column blocks of `kernel`
    _state_count = 1

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, implementation=2,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self)
        self.units = check_int(units, "units", cls, self.name, minimum=1)
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

    def _init_cell_arguments(self, activation, use_bias, kernel_initializer,
                             recurrent_initializer, bias_initializer, kernel_regularizer,
                             recurrent_regularizer, bias_regularizer, kernel_constraint,
                             recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                             seed):
        cls = type(self)
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        self.use_bias = check_bool(use_bias, "use_bias", cls, self.name)
        self.kernel_initializer = serialize_initializer(kernel_initializer, "kernel_initializer",
                                                        self)
        self.recurrent_initializer = serialize_initializer(
            recurrent_initializer, "recurrent_initializer", self)
        self.bias_initializer = serialize_initializer(bias_initializer, "bias_initializer", self)
        for argument, value in (("kernel_regularizer", kernel_regularizer),
                                ("recurrent_regularizer", recurrent_regularizer),
                                ("bias_regularizer", bias_regularizer),
                                ("kernel_constraint", kernel_constraint),
                                ("recurrent_constraint", recurrent_constraint),
                                ("bias_constraint", bias_constraint)):
            setattr(self, argument, check_serialized(value, argument, cls, self.name))
        self.dropout = float(check_float(dropout, "dropout", cls, self.name, 0.0, 1.0))
        self.recurrent_dropout = float(check_float(recurrent_dropout, "recurrent_dropout", cls,
                                                   self.name, 0.0, 1.0))
        if seed is not None:
            check_int(seed, "seed", cls, self.name)
        self.seed = seed

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        if "time_major" in config:
            if config.pop("time_major") is not False:
                raise UnsupportedError(f"layer '{config.get('name', '?')}' ({cls.__name__}): "
                                       f"time_major=True is not supported")
        return super().normalize_legacy_config(config)

    # ----- weights --------------------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._sequence_shape(sequences_shape)
        input_dim = sequences_shape[-1]
        if input_dim is None:
            raise ConfigError(f"{layer_label(self)} needs a known last input dimension, got "
                              f"{sequences_shape}")
        width = self._gates * self.units
        self.kernel = self._add_cell_weight("kernel", (input_dim, width),
                                            get_initializer(self.kernel_initializer))
        self.recurrent_kernel = self._add_cell_weight(
            "recurrent_kernel", (self.units, width), get_initializer(self.recurrent_initializer))
        self.bias = (self._add_cell_weight("bias", self._bias_shape(), self._bias_initializer())
                     if self.use_bias else None)

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return get_initializer(self.bias_initializer)

    def _add_cell_weight(self, name, shape, initializer):
        weight = self.add_weight(name, shape, initializer)
        weight.layer_name = f"{self.name}/{self._cell_name}"  # Keras's path: lstm/lstm_cell/kernel
        return weight

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
        if self.built and sequences_shape[-1] not in (None, self.kernel.shape[0]):
            raise ConfigError(f"{layer_label(self)} was built for {self.kernel.shape[0]} input "
                              f"features, got inputs of shape {sequences_shape}")
        batch, length = sequences_shape[0], sequences_shape[1]
        output = ((batch, length, self.units) if self.return_sequences else (batch, self.units))
        if self.return_state:
            return [output] + [(batch, self.units)] * self._state_count
        return output

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None,
                            constants=None):
        refuse_constants(self, constants)
        sequences, states = split_sequence_and_states(self, sequences, initial_state)
        if states is not None:
            self._check_states(states, lambda state: state.shape)
        shapes = self._checked_output_shape(sequences.shape)
        dtype = self.compute_dtype
        if is_shape(shapes):
            return SymbolicTensor(shapes, dtype)
        return [SymbolicTensor(shape, dtype) for shape in shapes]

    def _check_states(self, states, shape_of):
        if len(states) != self._state_count:
            raise ConfigError(f"{layer_label(self)} takes {self._state_count} initial state tensor(s), "
                              f"got {len(states)}")
        for state in states:
            shape = tuple(shape_of(state))
            if len(shape) != 2 or shape[1] not in (None, self.units):
                raise ConfigError(f"{layer_label(self)}: an initial state must have shape (batch, "
                                  f"{self.units}), got {shape}")

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
        batch = sequences.shape[0]
        if states is None:
            states = [np.zeros((batch, self.units), dtype) for _ in range(self._state_count)]
        else:
            self._check_states(states, np.shape)
            states = [np.broadcast_to(np.asarray(state, dtype), (batch, self.units)).copy()
                      for state in states]
        mask = first_mask(mask)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != sequences.shape[:2]:
                raise ConfigError(f"{layer_label(self)}: the mask's shape {mask.shape} does not match "
                                  f"the inputs' (batch, time) {sequences.shape[:2]}")
        last, outputs, final_states = self._run(sequences, states, mask)
        output = outputs if self.return_sequences else last
        if self.return_state:
            return [output, *final_states]
        return output

    def _kernel_options(self, mask):
        return {"mask": mask, "go_backwards": self.go_backwards,
                "return_sequences": self.return_sequences,
                "zero_output_for_mask": self.zero_output_for_mask}

    def _cell_weights(self) -> tuple:
        bias = self.value_of(self.bias) if self.bias is not None else None
        return self.value_of(self.kernel), self.value_of(self.recurrent_kernel), bias

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        """Keras 3 keeps these weights on the layer's `cell`: `<rnn>/cell/vars/0..2`."""
        return [("", [], self.name), ("cell", list(self.weights), self._cell_name)]

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
            "units": self.units,
            "activation": serialize_activation(self.activation_name),
        })
        return config

    def _regularizer_config(self, activity_regularizer) -> dict:
        return {
            "kernel_regularizer": self.kernel_regularizer,
            "recurrent_regularizer": self.recurrent_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": activity_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "recurrent_constraint": self.recurrent_constraint,
            "bias_constraint": self.bias_constraint,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }

    def _initializer_config(self) -> dict:
        return {
            "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer,
        }


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
    shape = value.shape if isinstance(value, SymbolicTensor) else np.shape(value)
    return list(shape)


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
        initial_state = list(initial_state)
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


class _GatedRNN(_RNN):
    """What LSTM and GRU add to the RNN arguments: a `recurrent_activation` for the gates and
    Keras's `use_cudnn` (a choice of kernel, not of numbers)."""

    # Keras <= 2.2.4's defaults, for Keras 2 configs written without these keys.
    _keras2_defaults = {"recurrent_activation": "hard_sigmoid"}

    def __init__(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                 recurrent_initializer, bias_initializer, kernel_regularizer,
                 recurrent_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                 recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                 use_cudnn, **kwargs):
        super().__init__(units, activity_regularizer=activity_regularizer, **kwargs)
        self._init_cell_arguments(activation, use_bias, kernel_initializer,
                                  recurrent_initializer, bias_initializer, kernel_regularizer,
                                  recurrent_regularizer, bias_regularizer, kernel_constraint,
                                  recurrent_constraint, bias_constraint, dropout,
                                  recurrent_dropout, seed)
        self.recurrent_activation_name, self.recurrent_activation = resolve_activation(
            recurrent_activation, self.name)
        self.use_cudnn = check_use_cudnn(self, use_cudnn)

    @classmethod
    def from_config(cls, config: dict):
        if isinstance(config, dict) and keras2_semantics_active():
            config = {**cls._keras2_defaults, **config}
        return super().from_config(config)

    def _step_activations(self) -> tuple:
        """The kernels' (activation, recurrent activation) pair."""
        return (kernels.StepActivation(self.activation_name, self.activation),
                kernels.StepActivation(self.recurrent_activation_name, self.recurrent_activation))

    def _gated_config(self) -> dict:
        """The config up to the initializers, in Keras's key order."""
        return {**self._rnn_config(),
                "recurrent_activation": serialize_activation(self.recurrent_activation_name),
                "use_bias": self.use_bias, **self._initializer_config()}
