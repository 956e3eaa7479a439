"""Recurrent layers (SimpleRNN, LSTM, GRU) and the wrappers Bidirectional and TimeDistributed.

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

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from ..graph.dialect import keras2_semantics_active
from ..graph.layer import call_parameters, is_shape
from ..graph.serialization import deserialize_layer, serialize_layer
from ..graph.tensor import SymbolicTensor
from ..kernels import recurrent as kernels
from .activations import resolve_activation, serialize_activation
from .arguments import check_bool, check_float, check_int, check_serialized
from .initializers import get_initializer, serialize_initializer

__all__ = ["GRU", "LSTM", "Bidirectional", "SimpleRNN", "TimeDistributed"]

_USE_CUDNN_CHOICES = ("auto", True, False)


def _label(layer) -> str:
    return f"layer '{layer.name}' ({type(layer).__name__})"


class _RNN(Layer):
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
            raise UnsupportedError(f"{_label(self)}: stateful=True is not supported (modelio "
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
            raise ConfigError(f"{_label(self)} needs a known last input dimension, got "
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
            raise ConfigError(f"{_label(self)} expects inputs of shape (batch, time, features), "
                              f"got {shape}")
        return shape

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self._sequence_shape(sequences_shape)
        if self.built and sequences_shape[-1] not in (None, self.kernel.shape[0]):
            raise ConfigError(f"{_label(self)} was built for {self.kernel.shape[0]} input "
                              f"features, got inputs of shape {sequences_shape}")
        batch, length = sequences_shape[0], sequences_shape[1]
        output = ((batch, length, self.units) if self.return_sequences else (batch, self.units))
        if self.return_state:
            return [output] + [(batch, self.units)] * self._state_count
        return output

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None,
                            constants=None):
        _refuse_constants(self, constants)
        sequences, states = _split_sequence_and_states(self, sequences, initial_state)
        if states is not None:
            self._check_states(states, lambda state: state.shape)
        shapes = self._checked_output_shape(sequences.shape)
        dtype = self.compute_dtype
        if is_shape(shapes):
            return SymbolicTensor(shapes, dtype)
        return [SymbolicTensor(shape, dtype) for shape in shapes]

    def _check_states(self, states, shape_of):
        if len(states) != self._state_count:
            raise ConfigError(f"{_label(self)} takes {self._state_count} initial state tensor(s), "
                              f"got {len(states)}")
        for state in states:
            shape = tuple(shape_of(state))
            if len(shape) != 2 or shape[1] not in (None, self.units):
                raise ConfigError(f"{_label(self)}: an initial state must have shape (batch, "
                                  f"{self.units}), got {shape}")

    def compute_mask(self, inputs, previous_mask):
        output_mask = _first_mask(previous_mask) if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self._state_count
        return output_mask

    def __call__(self, *args, **kwargs):
        _record_state_shapes(self, kwargs)
        return super().__call__(*args, **kwargs)

    def get_build_config(self) -> dict | None:
        return _build_config_with_states(self, super().get_build_config())

    # ----- computing ------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None, constants=None):
        _refuse_constants(self, constants)
        sequences, states = _split_sequence_and_states(self, sequences, initial_state)
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
        mask = _first_mask(mask)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != sequences.shape[:2]:
                raise ConfigError(f"{_label(self)}: the mask's shape {mask.shape} does not match "
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


def _record_state_shapes(layer, kwargs: dict) -> None:
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


def _build_config_with_states(layer, base: dict | None) -> dict | None:
    states = getattr(layer, "_build_state_shapes", None)
    if base is None or states is None:
        return base
    return {"shapes_dict": {"sequences_shape": base["input_shape"],
                            "initial_state_shape": states}}


def _split_sequence_and_states(layer, sequences, initial_state):
    """(sequence, list of states or None) from `sequences` (maybe Keras 2's [x, *states])."""
    if isinstance(sequences, (list, tuple)):
        if not sequences:
            raise ConfigError(f"{_label(layer)} was called on an empty list")
        if len(sequences) > 1:
            if initial_state is not None:
                raise ConfigError(f"{_label(layer)}: initial states were given both as inputs "
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


def _refuse_constants(layer, constants) -> None:
    """tf-keras records `constants: null` in node kwargs; real constants need custom cells."""
    if constants is not None:
        raise UnsupportedError(f"{_label(layer)}: constants are not supported (no built-in "
                               f"recurrent cell takes them)")


def _first_mask(mask):
    while isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    return mask


def _check_use_cudnn(layer, use_cudnn):
    if use_cudnn not in _USE_CUDNN_CHOICES or (use_cudnn != "auto"
                                               and not isinstance(use_cudnn, bool)):
        raise ConfigError(f"{_label(layer)}: use_cudnn must be 'auto', true or false, "
                          f"got {use_cudnn!r}")
    return use_cudnn


@register_layer()
class SimpleRNN(_RNN):
    """Fully-connected RNN: `h_t = activation(x_t W + h_{t-1} U + b)`; the output is h."""

    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs)
        # Keras 3 keeps SimpleRNN's activity_regularizer off the layer (its config writes null).
        check_serialized(activity_regularizer, "activity_regularizer", type(self), self.name)
        self._init_cell_arguments(activation, use_bias, kernel_initializer,
                                  recurrent_initializer, bias_initializer, kernel_regularizer,
                                  recurrent_regularizer, bias_regularizer, kernel_constraint,
                                  recurrent_constraint, bias_constraint, dropout,
                                  recurrent_dropout, seed)

    def _run(self, sequences, states, mask):
        activation = kernels.StepActivation(self.activation_name, self.activation)
        return kernels.simple_rnn(sequences, *self._cell_weights(), states[0], activation,
                                  **self._kernel_options(mask))

    def get_config(self) -> dict:
        return {**self._rnn_config(), "use_bias": self.use_bias, **self._initializer_config(),
                **self._regularizer_config(None)}


@register_layer()
class LSTM(_RNN):
    """Long Short-Term Memory (Keras gate order i, f, c, o). States: [h, c]; the output is h."""

    _cell_name = "lstm_cell"
    _gates = 4
    _state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self._init_cell_arguments(activation, use_bias, kernel_initializer,
                                  recurrent_initializer, bias_initializer, kernel_regularizer,
                                  recurrent_regularizer, bias_regularizer, kernel_constraint,
                                  recurrent_constraint, bias_constraint, dropout,
                                  recurrent_dropout, seed)
        self.recurrent_activation_name, self.recurrent_activation = resolve_activation(
            recurrent_activation, self.name)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", type(self),
                                           self.name)
        self.use_cudnn = _check_use_cudnn(self, use_cudnn)

    @classmethod
    def from_config(cls, config: dict):
        if isinstance(config, dict) and keras2_semantics_active():
            config = {"recurrent_activation": "hard_sigmoid", **config}  # Keras <= 2.2.4 default
        return super().from_config(config)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return super()._bias_initializer()
        initializer, units = get_initializer(self.bias_initializer), self.units

        def unit_forget(shape, dtype):
            return np.concatenate([initializer((units,), dtype), np.ones((units,), dtype),
                                   initializer((2 * units,), dtype)])
        return unit_forget

    def _run(self, sequences, states, mask):
        return kernels.lstm(
            sequences, *self._cell_weights(), states[0], states[1],
            kernels.StepActivation(self.activation_name, self.activation),
            kernels.StepActivation(self.recurrent_activation_name, self.recurrent_activation),
            **self._kernel_options(mask))

    def get_config(self) -> dict:
        regularizers = self._regularizer_config(self.activity_regularizer)
        return {**self._rnn_config(),
                "recurrent_activation": serialize_activation(self.recurrent_activation_name),
                "use_bias": self.use_bias, **self._initializer_config(),
                "unit_forget_bias": self.unit_forget_bias, **regularizers, "seed": self.seed}


@register_layer()
class GRU(_RNN):
    """Gated Recurrent Unit (Keras gate order z, r, h; `h = z * h_prev + (1 - z) * hh`).

    `reset_after=True` (Keras 3's default) applies the reset gate after the recurrent matmul and
    has a (2, 3 * units) bias (input and recurrent rows); `reset_after=False` a (3 * units,) one.
    """

    _cell_name = "gru_cell"
    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(units, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self._init_cell_arguments(activation, use_bias, kernel_initializer,
                                  recurrent_initializer, bias_initializer, kernel_regularizer,
                                  recurrent_regularizer, bias_regularizer, kernel_constraint,
                                  recurrent_constraint, bias_constraint, dropout,
                                  recurrent_dropout, seed)
        self.recurrent_activation_name, self.recurrent_activation = resolve_activation(
            recurrent_activation, self.name)
        self.reset_after = check_bool(reset_after, "reset_after", type(self), self.name)
        self.use_cudnn = _check_use_cudnn(self, use_cudnn)

    @classmethod
    def from_config(cls, config: dict):
        if isinstance(config, dict) and keras2_semantics_active():
            # Keras <= 2.2.4 defaults; tf.keras always writes both keys.
            config = {"recurrent_activation": "hard_sigmoid", "reset_after": False, **config}
        return super().from_config(config)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, sequences, states, mask):
        return kernels.gru(
            sequences, *self._cell_weights(), states[0],
            kernels.StepActivation(self.activation_name, self.activation),
            kernels.StepActivation(self.recurrent_activation_name, self.recurrent_activation),
            reset_after=self.reset_after, **self._kernel_options(mask))

    def get_config(self) -> dict:
        regularizers = self._regularizer_config(self.activity_regularizer)
        return {**self._rnn_config(),
                "recurrent_activation": serialize_activation(self.recurrent_activation_name),
                "use_bias": self.use_bias, **self._initializer_config(), **regularizers,
                "reset_after": self.reset_after, "seed": self.seed}


# ----- wrappers ------------------------------------------------------------------------------------

class _Wrapper(Layer):
    """A layer holding other layers: their weights are its weights, in Keras's order."""

    supports_masking = True

    def _sublayers(self) -> list:
        raise NotImplementedError

    @property
    def weights(self):
        return [weight for layer in self._sublayers() for weight in layer.weights]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [weight for layer in self._sublayers() for weight in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [weight for layer in self._sublayers() for weight in layer.non_trainable_weights]

    def _prefix_weight_paths(self) -> None:
        """Keras's variable paths: `bidirectional/forward_lstm/lstm_cell/kernel`."""
        for weight in self.weights:
            if not weight.layer_name.startswith(f"{self.name}/"):
                weight.layer_name = f"{self.name}/{weight.layer_name}"

    @classmethod
    def _nested_layer(cls, config: dict, key: str, required: bool = True):
        entry = config.pop(key, None)
        name = config.get("name", "?")
        if entry is None:
            if required:
                raise ConfigError(f"layer '{name}' ({cls.__name__}): config has no '{key}'")
            return None
        if not isinstance(entry, dict):
            raise ConfigError(f"layer '{name}' ({cls.__name__}): '{key}' must be a layer config "
                              f"mapping, got {type(entry).__name__}")
        return deserialize_layer(entry, f"layer '{name}' ({cls.__name__}): {key}: ")

    def _check_wrapped(self, layer, argument: str):
        if not isinstance(layer, Layer):
            raise ConfigError(f"{_label(self)}: {argument} must be a layer, got "
                              f"{type(layer).__name__}")
        return layer


def _copy_layer(layer, **changes):
    """A new, unbuilt layer with `layer`'s config updated by `changes` (as Keras copies it)."""
    entry = serialize_layer(layer)
    entry["config"] = {**entry["config"], **changes}
    entry.pop("build_config", None)
    return deserialize_layer(entry)


def _remove_prefix(text: str, prefix: str) -> str:
    return text[len(prefix):] if text.startswith(prefix) else text


_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@register_layer()
class Bidirectional(_Wrapper):
    """Runs a recurrent layer forwards and a copy (or `backward_layer`) backwards, and merges
    the two outputs by `merge_mode`: "concat", "sum", "mul", "ave", or None (both returned)."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        self._check_wrapped(layer, "layer")
        if not isinstance(layer, _RNN):
            raise UnsupportedError(f"{_label(self)}: layer must be a SimpleRNN, LSTM or GRU, got "
                                   f"{type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, _RNN):
            raise UnsupportedError(f"{_label(self)}: backward_layer must be a SimpleRNN, LSTM or "
                                   f"GRU, got {type(backward_layer).__name__}")
        if merge_mode not in _MERGE_MODES:
            raise ConfigError(f"{_label(self)}: merge_mode must be one of "
                              f"{', '.join(map(repr, _MERGE_MODES))}, got {merge_mode!r}")
        self.merge_mode = merge_mode
        keras2 = keras2_semantics_active()
        self.forward_layer = _copy_layer(
            layer, name=f"forward_{_remove_prefix(layer.name, 'forward_')}")
        if backward_layer is None:
            # Keras 3 always sets go_backwards=True on the copy; tf-keras flips the flag.
            self.backward_layer = _copy_layer(
                layer, name=f"backward_{_remove_prefix(layer.name, 'backward_')}",
                go_backwards=(not layer.go_backwards) if keras2 else True)
        else:
            self.backward_layer = backward_layer
        self._verify_layer_config()
        for sublayer in (self.forward_layer, self.backward_layer):
            sublayer.zero_output_for_mask = sublayer.return_sequences
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    def _verify_layer_config(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ConfigError(f"{_label(self)}: the forward and backward layers must have "
                              f"different go_backwards, both have {forward.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ConfigError(f"{_label(self)}: the forward and backward layers must have the "
                                  f"same {attribute}")

    def _sublayers(self) -> list:
        return [self.forward_layer, self.backward_layer]

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        """Keras 3 groups: `backward_layer/cell/vars`, `forward_layer/cell/vars` (and their
        empty `vars`), in Keras's (alphabetical) visiting order."""
        groups = [("", [], self.name)]
        for attribute, layer in (("backward_layer", self.backward_layer),
                                 ("forward_layer", self.forward_layer)):
            groups += [(f"{attribute}/{path}".rstrip("/"), weights, name)
                       for path, weights, name in layer.keras3_weight_groups()]
        return groups

    def __call__(self, *args, **kwargs):
        _record_state_shapes(self, kwargs)
        return super().__call__(*args, **kwargs)

    def get_build_config(self) -> dict | None:
        return _build_config_with_states(self, super().get_build_config())

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        config = cls.normalize_legacy_config(dict(config))
        config["layer"] = cls._nested_layer(config, "layer")
        config["backward_layer"] = cls._nested_layer(config, "backward_layer", required=False)
        return cls(**config)

    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = self.forward_layer._sequence_shape(sequences_shape)
        self.forward_layer._maybe_build(sequences_shape)
        self.backward_layer._maybe_build(sequences_shape)
        self._prefix_weight_paths()
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(list(weights))

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward_layer.compute_output_shape(sequences_shape)
        backward = self.backward_layer.compute_output_shape(sequences_shape)
        if self.return_state:
            forward, forward_states = forward[0], forward[1:]
            backward, backward_states = backward[0], backward[1:]
        if self.merge_mode == "concat":
            last = None if None in (forward[-1], backward[-1]) else forward[-1] + backward[-1]
            output = [(*forward[:-1], last)]
        elif self.merge_mode is None:
            output = [forward, backward]
        else:
            if forward != backward:
                raise ConfigError(f"{_label(self)}: merge_mode {self.merge_mode!r} needs equal "
                                  f"forward and backward outputs, got {forward} and {backward}")
            output = [forward]
        if self.return_state:
            return output + list(forward_states) + list(backward_states)
        return output[0] if len(output) == 1 else output

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None,
                            constants=None):
        _refuse_constants(self, constants)
        sequences, states = _split_sequence_and_states(self, sequences, initial_state)
        if states is not None:
            forward_states, backward_states = self._split_states(states)
            self.forward_layer._check_states(forward_states, lambda state: state.shape)
            self.backward_layer._check_states(backward_states, lambda state: state.shape)
        shapes = self._checked_output_shape(sequences.shape)
        if is_shape(shapes):
            return SymbolicTensor(shapes, self.compute_dtype)
        return [SymbolicTensor(shape, self.compute_dtype) for shape in shapes]

    def _split_states(self, states):
        forward_count = self.forward_layer._state_count
        backward_count = self.backward_layer._state_count
        if len(states) != forward_count + backward_count:
            raise ConfigError(f"{_label(self)} takes {forward_count + backward_count} initial "
                              f"state tensors (forward then backward), got {len(states)}")
        return states[:forward_count], states[forward_count:]

    def compute_mask(self, inputs, previous_mask):
        mask = _first_mask(previous_mask)
        if self.return_sequences:
            return [mask, mask] if self.merge_mode is None else mask
        return [None, None] if self.merge_mode is None else None

    def call(self, sequences, initial_state=None, mask=None, training=None, constants=None):
        _refuse_constants(self, constants)
        sequences, states = _split_sequence_and_states(self, sequences, initial_state)
        forward_states = backward_states = None
        if states is not None:
            forward_states, backward_states = self._split_states(states)
        mask = _first_mask(mask)
        forward = self.forward_layer.call(sequences, initial_state=forward_states, mask=mask)
        backward = self.backward_layer.call(sequences, initial_state=backward_states, mask=mask)
        if self.return_state:
            states = list(forward[1:]) + list(backward[1:])
            forward, backward = forward[0], backward[0]
        dtype = self.compute_dtype
        forward, backward = forward.astype(dtype, copy=False), backward.astype(dtype, copy=False)
        if self.return_sequences:
            backward = backward[:, ::-1]
        if self.merge_mode == "concat":
            outputs = [np.concatenate([forward, backward], axis=-1)]
        elif self.merge_mode == "sum":
            outputs = [forward + backward]
        elif self.merge_mode == "ave":
            outputs = [(forward + backward) / np.asarray(2, dtype)]
        elif self.merge_mode == "mul":
            outputs = [forward * backward]
        else:
            outputs = [forward, np.ascontiguousarray(backward)]
        if self.return_state:
            return outputs + states
        return outputs[0] if len(outputs) == 1 else outputs

    def get_config(self) -> dict:
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_layer(self.forward_layer),
                "backward_layer": serialize_layer(self.backward_layer)}


@register_layer()
class TimeDistributed(_Wrapper):
    """Applies `layer` to every time step: (batch, time, ...) -> (batch * time, ...) -> layer ->
    (batch, time, ...). The input mask passes through unchanged (as Keras 3 does)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = self._check_wrapped(layer, "layer")

    def _sublayers(self) -> list:
        return [self.layer]

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        """Keras 3 groups: the wrapped layer's under `layer/` (`time_distributed/layer/vars`)."""
        if hasattr(self.layer, "layers"):
            raise UnsupportedError(f"{_label(self)}: the Keras 3 weights layout of a model inside "
                                   f"TimeDistributed is not supported")
        inner = getattr(self.layer, "keras3_weight_groups", None)
        own = self.layer.weights
        groups = inner() if callable(inner) else [
            ("", [w for w in own if w.trainable] + [w for w in own if not w.trainable],
             self.layer.name)]
        return [("", [], self.name)] + [(f"layer/{path}".rstrip("/"), weights, *rest)
                                        for path, weights, *rest in groups]

    @classmethod
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        config = cls.normalize_legacy_config(dict(config))
        layer = cls._nested_layer(config, "layer")
        return cls(layer, **config)

    def _child_shape(self, input_shape):
        if not is_shape(input_shape) or len(input_shape) < 3:
            raise ConfigError(f"{_label(self)} expects inputs with at least 3 dimensions "
                              f"(batch, time, ...), got {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._child_shape(input_shape))
        self._prefix_weight_paths()

    def compute_output_shape(self, input_shape):
        child = self.layer._checked_output_shape(self._child_shape(input_shape))
        if not is_shape(child):
            raise UnsupportedError(f"{_label(self)}: the wrapped layer '{self.layer.name}' has "
                                   f"several outputs, which TimeDistributed cannot stack")
        return (child[0], input_shape[1], *child[1:])

    def compute_output_spec(self, inputs, training=None, mask=None):
        if not isinstance(inputs, SymbolicTensor):
            raise UnsupportedError(f"{_label(self)} takes a single tensor")
        child = SymbolicTensor(self._child_shape(inputs.shape), inputs.dtype)
        spec = self.layer.compute_output_spec(child)
        if not isinstance(spec, SymbolicTensor):
            raise UnsupportedError(f"{_label(self)}: the wrapped layer '{self.layer.name}' has "
                                   f"several outputs, which TimeDistributed cannot stack")
        return SymbolicTensor((spec.shape[0], inputs.shape[1], *spec.shape[1:]), spec.dtype)

    def call(self, inputs, training=None, mask=None):
        inputs = np.asarray(inputs)
        batch, time_steps = inputs.shape[0], inputs.shape[1]
        flat = inputs.reshape(batch * time_steps, *inputs.shape[2:])
        kwargs = {}
        accepted = call_parameters(type(self.layer))
        if mask is not None and "mask" in accepted:
            mask = np.asarray(mask)
            if mask.ndim < 2 or mask.shape[:2] != (batch, time_steps):
                raise ConfigError(f"{_label(self)}: the mask's shape {mask.shape} does not start "
                                  f"with the inputs' (batch, time) {(batch, time_steps)}")
            kwargs["mask"] = mask.reshape(batch * time_steps, *mask.shape[2:])
        if "training" in accepted:
            kwargs["training"] = training
        output = self.layer(flat, **kwargs)
        if not isinstance(output, np.ndarray):
            raise UnsupportedError(f"{_label(self)}: the wrapped layer '{self.layer.name}' has "
                                   f"several outputs, which TimeDistributed cannot stack")
        return output.reshape(batch, time_steps, *output.shape[1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize_layer(self.layer)}
