"""The recurrent wrappers: Bidirectional (a recurrent layer run forwards and, as a copy, backwards)
and TimeDistributed (any layer applied to every time step). Their weights are their sublayers'.
"""

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer, register_layer
from ...graph.dialect import keras2_semantics_active
from ...graph.layer import call_parameters, is_shape
from ...graph.serialization import deserialize_layer, serialize_layer
from ...graph.tensor import SymbolicTensor
from ..arguments import layer_label
from .rnn import (
    _RNN,
    RecordsInitialStates,
    first_mask,
    refuse_constants,
    split_sequence_and_states,
)

__all__ = ["Bidirectional", "TimeDistributed"]


class _Wrapper(Layer):
    """A layer holding other layers: their weights are its weights, in Keras's order."""

    supports_masking = True
    # The config keys holding the wrapped layers' configs, and whether each must be there.
    _nested_keys = (("layer", True),)

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
    def from_config(cls, config: dict):
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}: config must be a mapping, got "
                              f"{type(config).__name__}")
        config = cls.normalize_legacy_config(dict(config))
        for key, required in cls._nested_keys:
            config[key] = cls._nested_layer(config, key, required)
        return cls(**config)

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
            raise ConfigError(f"{layer_label(self)}: {argument} must be a layer, got "
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
class Bidirectional(RecordsInitialStates, _Wrapper):
    """Runs a recurrent layer forwards and a copy (or `backward_layer`) backwards, and merges
    the two outputs by `merge_mode`: "concat", "sum", "mul", "ave", or None (both returned)."""

    _nested_keys = (("layer", True), ("backward_layer", False))

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        self._check_wrapped(layer, "layer")
        if not isinstance(layer, _RNN):
            raise UnsupportedError(f"{layer_label(self)}: layer must be a SimpleRNN, LSTM or GRU, got "
                                   f"{type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, _RNN):
            raise UnsupportedError(f"{layer_label(self)}: backward_layer must be a SimpleRNN, LSTM or "
                                   f"GRU, got {type(backward_layer).__name__}")
        if merge_mode not in _MERGE_MODES:
            raise ConfigError(f"{layer_label(self)}: merge_mode must be one of "
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
            raise ConfigError(f"{layer_label(self)}: the forward and backward layers must have "
                              f"different go_backwards, both have {forward.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ConfigError(f"{layer_label(self)}: the forward and backward layers must have the "
                                  f"same {attribute}")

    def _sublayers(self) -> list:
        return [self.forward_layer, self.backward_layer]

    def legacy_weight_conversion(self, shapes: list):
        """CuDNN-layout weights of both directions (see `_RNN.legacy_weight_conversion`): a
        function converting the forward then the backward layer's, or None."""
        count = len(self.forward_layer.weights)
        forward = self.forward_layer.legacy_weight_conversion(shapes[:count])
        backward = self.backward_layer.legacy_weight_conversion(shapes[count:])
        if forward is None or backward is None:
            return None
        return lambda arrays: forward(arrays[:count]) + backward(arrays[count:])

    def keras3_weight_groups(self) -> list[tuple[str, list]]:
        """Keras 3 groups: `backward_layer/cell/vars`, `forward_layer/cell/vars` (and their
        empty `vars`), in Keras's (alphabetical) visiting order."""
        groups = [("", [], self.name)]
        for attribute, layer in (("backward_layer", self.backward_layer),
                                 ("forward_layer", self.forward_layer)):
            groups += [(f"{attribute}/{path}".rstrip("/"), weights, name)
                       for path, weights, name in layer.keras3_weight_groups()]
        return groups


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
                raise ConfigError(f"{layer_label(self)}: merge_mode {self.merge_mode!r} needs equal "
                                  f"forward and backward outputs, got {forward} and {backward}")
            output = [forward]
        if self.return_state:
            return output + list(forward_states) + list(backward_states)
        return output[0] if len(output) == 1 else output

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None,
                            constants=None):
        refuse_constants(self, constants)
        sequences, states = split_sequence_and_states(self, sequences, initial_state)
        if states is not None:
            forward_states, backward_states = self.split_states(states)
            self.forward_layer._check_states(forward_states, lambda state: state.shape)
            self.backward_layer._check_states(backward_states, lambda state: state.shape)
        shapes = self._checked_output_shape(sequences.shape)
        if is_shape(shapes):
            return SymbolicTensor(shapes, self.compute_dtype)
        return [SymbolicTensor(shape, self.compute_dtype) for shape in shapes]

    def split_states(self, states) -> tuple[list, list]:
        """(forward states, backward states) from the initial `states` given to the call
        (the forward layer's first, then the backward layer's)."""
        forward_count = self.forward_layer._state_count
        backward_count = self.backward_layer._state_count
        if len(states) != forward_count + backward_count:
            raise ConfigError(f"{layer_label(self)} takes {forward_count + backward_count} initial "
                              f"state tensors (forward then backward), got {len(states)}")
        return states[:forward_count], states[forward_count:]

    def compute_mask(self, inputs, previous_mask):
        mask = first_mask(previous_mask)
        if self.return_sequences:
            return [mask, mask] if self.merge_mode is None else mask
        return [None, None] if self.merge_mode is None else None

    def call(self, sequences, initial_state=None, mask=None, training=None, constants=None):
        refuse_constants(self, constants)
        sequences, states = split_sequence_and_states(self, sequences, initial_state)
        forward_states = backward_states = None
        if states is not None:
            forward_states, backward_states = self.split_states(states)
        mask = first_mask(mask)
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
            raise UnsupportedError(f"{layer_label(self)}: the Keras 3 weights layout of a model inside "
                                   f"TimeDistributed is not supported")
        inner = getattr(self.layer, "keras3_weight_groups", None)
        own = self.layer.weights
        groups = inner() if callable(inner) else [
            ("", [w for w in own if w.trainable] + [w for w in own if not w.trainable],
             self.layer.name)]
        return [("", [], self.name)] + [(f"layer/{path}".rstrip("/"), weights, *rest)
                                        for path, weights, *rest in groups]


    def _child_shape(self, input_shape):
        if not is_shape(input_shape) or len(input_shape) < 3:
            raise ConfigError(f"{layer_label(self)} expects inputs with at least 3 dimensions "
                              f"(batch, time, ...), got {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._child_shape(input_shape))
        self._prefix_weight_paths()

    def compute_output_shape(self, input_shape):
        child = self.layer._checked_output_shape(self._child_shape(input_shape))
        if not is_shape(child):
            raise UnsupportedError(f"{layer_label(self)}: the wrapped layer '{self.layer.name}' has "
                                   f"several outputs, which TimeDistributed cannot stack")
        return (child[0], input_shape[1], *child[1:])

    def compute_output_spec(self, inputs, training=None, mask=None):
        if not isinstance(inputs, SymbolicTensor):
            raise UnsupportedError(f"{layer_label(self)} takes a single tensor")
        child = SymbolicTensor(self._child_shape(inputs.shape), inputs.dtype)
        spec = self.layer.compute_output_spec(child)
        if not isinstance(spec, SymbolicTensor):
            raise UnsupportedError(f"{layer_label(self)}: the wrapped layer '{self.layer.name}' has "
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
                raise ConfigError(f"{layer_label(self)}: the mask's shape {mask.shape} does not start "
                                  f"with the inputs' (batch, time) {(batch, time_steps)}")
            kwargs["mask"] = mask.reshape(batch * time_steps, *mask.shape[2:])
        if "training" in accepted:
            kwargs["training"] = training
        output = self.layer(flat, **kwargs)
        if not isinstance(output, np.ndarray):
            raise UnsupportedError(f"{layer_label(self)}: the wrapped layer '{self.layer.name}' has "
                                   f"several outputs, which TimeDistributed cannot stack")
        return output.reshape(batch, time_steps, *output.shape[1:])

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize_layer(self.layer)}
