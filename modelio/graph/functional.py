"""The functional Model: a graph of layer calls from Input tensors to output tensors."""

from collections import Counter

import numpy as np

from ..errors import GraphError, ModelioError, UnsupportedError, WeightMismatchError
from .functional_config import functional_from_config, functional_get_config
from .input_layer import InputLayer
from .layer import Layer
from .registry import register_layer
from .summary import summary_text
from .tensor import SymbolicTensor
from .topology import map_graph
from .tree import flatten, map_structure, pack_like


@register_layer("Model")
class Functional(Layer):
    """A model defined by `Model(inputs, outputs)`; also usable as a layer inside another model.

    `inputs` and `outputs` may each be one tensor, a list, or a dict of tensors; predictions come
    back in the structure of `outputs`.
    """

    _keras_module = "keras.src.models.functional"
    _registered_name = "Functional"
    # Keras 3 references a nested Functional one node higher in input_layers/output_layers.
    _keras3_endpoint_offset = 1

    def __init__(self, inputs, outputs, name: str | None = None, trainable: bool = True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs) -> None:
        flat_inputs, flat_outputs = flatten(inputs), flatten(outputs)
        for tensor in flat_inputs:
            history = getattr(tensor, "_keras_history", None)
            if history is None or not isinstance(history.layer, InputLayer):
                raise GraphError(f"model '{self.name}': every input must be a tensor from Input(), "
                                 f"got {tensor!r}")
        for tensor in flat_outputs:
            if not isinstance(tensor, SymbolicTensor):
                raise GraphError(f"model '{self.name}': outputs must be symbolic tensors, got {tensor!r}")
        if not flat_outputs:
            raise GraphError(f"model '{self.name}' has no outputs")
        if len({id(tensor) for tensor in flat_inputs}) != len(flat_inputs):
            raise GraphError(f"model '{self.name}': the same input tensor is listed twice")
        self._input_structure = inputs
        self._output_structure = outputs
        self.inputs = flat_inputs
        self.outputs = flat_outputs
        graph = map_graph(flat_inputs, flat_outputs)
        self._operations = graph.layers
        self._layers = [layer for layer in graph.layers
                        if not getattr(layer, "_is_operation", False)]
        self._nodes_in_order = graph.nodes_in_order
        self._network_nodes = graph.network_nodes
        self._tensor_uses = _count_tensor_uses(graph.nodes_in_order, flat_outputs)
        self.built = True
        self._build_input_shape = None

    # ----- Keras's model surface ----------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def network_nodes(self) -> frozenset:
        """The nodes of this model's own graph. A layer shared with another model also has
        nodes of that model in its `inbound_nodes`; these are the ones that belong here."""
        return frozenset(getattr(self, "_network_nodes", ()))

    @property
    def operations(self) -> list[Layer]:
        """Layers and Keras operations (such as mask computations) in graph order."""
        return list(self._operations)

    @property
    def nodes_in_order(self) -> list:
        """Every non-input node of the graph, in the order `run_graph` computes them."""
        return list(getattr(self, "_nodes_in_order", ()))

    @property
    def input_names(self) -> list[str]:
        return [tensor._keras_history.layer.name for tensor in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [tensor._keras_history.layer.name for tensor in self.outputs]

    @property
    def input_shape(self):
        return map_structure(lambda tensor: tensor.shape, self._input_structure)

    @property
    def output_shape(self):
        return map_structure(lambda tensor: tensor.shape, self._output_structure)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at position `index` of `model.layers`."""
        if index is not None:
            if not isinstance(index, int) or not -len(self._layers) <= index < len(self._layers):
                raise GraphError(f"model '{self.name}' has {len(self._layers)} layers; "
                                 f"no layer at index {index!r}")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise GraphError(f"model '{self.name}' has no layer named {name!r}; it has: "
                         f"{', '.join(layer.name for layer in self._layers)}")

    @property
    def weights(self):
        """Every weight, layer by layer in `model.layers` order (as Keras 3's `model.weights`)."""
        seen, weights = set(), []
        for layer in self._layers:
            for weight in layer.weights:
                if id(weight) not in seen:
                    seen.add(id(weight))
                    weights.append(weight)
        return weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [weight for layer in self._layers for weight in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [weight for layer in self._layers for weight in layer.non_trainable_weights]

    def set_weights(self, weights: list) -> None:
        """Assign arrays in `model.get_weights()` order; all shapes are checked first."""
        own = self.weights
        if len(weights) != len(own):
            raise ModelioError(f"model '{self.name}' has {len(own)} weights, got {len(weights)}")
        arrays = [np.asarray(value) for value in weights]
        for weight, array in zip(own, arrays):
            if array.shape != weight.shape:
                raise WeightMismatchError(f"layer '{weight.layer_name}': weight '{weight.name}' "
                                          f"expects shape {weight.shape}, got {array.shape}")
        for weight, array in zip(own, arrays):
            weight.assign(array)

    def count_params(self) -> int:
        return int(sum(weight.value.size for weight in self.weights))

    def summary(self, line_length: int | None = None, print_fn=None) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        (print_fn or print)(summary_text(self, line_length))

    # ----- running ------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        flat_inputs = [np.asarray(value) for value in self.flatten_inputs(inputs)]
        outputs = self.run_graph(flat_inputs, _eager_operation)
        return pack_like(self._output_structure, outputs)

    def _eager_call(self, args: tuple, kwargs: dict):
        return self.call(args[0], **self._call_kwargs(kwargs))

    def compute_output_spec(self, inputs, training=None, mask=None):
        if any(leaf is not None for leaf in flatten(mask)):
            raise UnsupportedError(f"model '{self.name}': a masked tensor enters this nested "
                                   f"model; masks crossing into nested models are not supported")
        flat_inputs = self.flatten_inputs(inputs)
        for tensor, value in zip(self.inputs, flat_inputs):
            if len(tensor.shape) != len(value.shape):
                raise GraphError(f"model '{self.name}' expects an input of rank {len(tensor.shape)} "
                                 f"{tensor.shape}, got {value.shape}")
        outputs = self.run_graph(flat_inputs, _symbolic_operation)
        return pack_like(self._output_structure, outputs)

    def predict(self, x, batch_size: int | None = 32, verbose=0):
        """Run the model on numpy arrays, `batch_size` samples at a time.

        `x` is an array for a one-input model, a list in input order or a dict by input name for
        several. Returns an array for one output, else the structure of the model's outputs.
        """
        flat_inputs = [np.asarray(value) for value in self.flatten_inputs(x)]
        self._check_input_arrays(flat_inputs)
        try:
            if not self._has_free_batch_axis():
                # a graph whose inputs fix their first axis (ONNX imports can) may compute
                # across it: it runs on the inputs as given, never split into batches
                return pack_like(self._output_structure,
                                 self.run_graph(flat_inputs, _eager_operation))
            return self._predict_batches(flat_inputs, batch_size)
        except MemoryError as exc:
            raise ModelioError(f"model '{self.name}': out of memory; try a smaller "
                               f"batch_size than {batch_size}") from exc

    def _predict_batches(self, flat_inputs: list, batch_size: int | None):
        count = flat_inputs[0].shape[0] if flat_inputs[0].ndim else 1
        batch_size = batch_size or 32
        if count <= batch_size:
            outputs = self.run_graph(flat_inputs, _eager_operation)
        else:
            batches = [
                self.run_graph([value[start:start + batch_size] for value in flat_inputs],
                                        _eager_operation)
                for start in range(0, count, batch_size)
            ]
            outputs = [np.concatenate(parts, axis=0) for parts in zip(*batches)]
        return pack_like(self._output_structure, outputs)

    def flatten_inputs(self, inputs) -> list:
        """Call inputs matched to `self.inputs`: `inputs` is one value, a list in input order or
        a dict by input name (or by the keys of a dict of inputs); returns a list in
        `self.inputs` order."""
        names = self.input_names
        if isinstance(inputs, dict):
            structure = self._input_structure
            if isinstance(structure, dict) and all(key in inputs for key in structure):
                return [inputs[key] for key in structure]
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ModelioError(f"model '{self.name}': missing input(s) {missing}; "
                                   f"got keys {sorted(inputs)}")
            return [inputs[name] for name in names]
        values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(self.inputs) == 1 and len(values) != 1:
            values = [inputs]
        if len(values) != len(self.inputs):
            raise ModelioError(f"model '{self.name}' expects {len(self.inputs)} input(s) "
                               f"({', '.join(names)}), got {len(values)}")
        return values

    def _has_free_batch_axis(self) -> bool:
        """True when every input is at least 1-D with an unfixed first axis, as in Keras."""
        return all(tensor.shape and tensor.shape[0] is None for tensor in self.inputs)

    def _check_input_arrays(self, arrays: list) -> None:
        batch_sizes = set()
        for tensor, array, name in zip(self.inputs, arrays, self.input_names):
            expected = tensor.shape
            if array.ndim != len(expected) or any(
                want is not None and want != got for want, got in zip(expected, array.shape)
            ):
                raise ModelioError(f"model '{self.name}': input '{name}' expects shape "
                                   f"{_shape_text(expected)}, got {array.shape}")
            if array.ndim:
                batch_sizes.add(array.shape[0])
        if len(batch_sizes) > 1 and self._has_free_batch_axis():
            raise ModelioError(f"model '{self.name}': inputs have different batch sizes {sorted(batch_sizes)}")

    def run_graph(self, flat_inputs: list, operation) -> list:
        """The model's one walk: every node in depth order, each intermediate value freed after
        its last use. `flat_inputs` are values for `self.inputs` (see `flatten_inputs`);
        `operation(node, args, kwargs)` computes one node from its call arguments with the values
        put in place of the tensors, and returns its outputs (one value or a list). Returns the
        values of `self.outputs`, in order."""
        values = {id(tensor): value for tensor, value in zip(self.inputs, flat_inputs)}
        remaining_uses = Counter(self._tensor_uses)

        def value_of(leaf):
            return values[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf

        for node in self._nodes_in_order:
            args = map_structure(value_of, node.call_args)
            kwargs = map_structure(value_of, node.call_kwargs)
            produced = flatten(operation(node, args, kwargs))
            if len(produced) != len(node.outputs):
                raise GraphError(f"layer '{node.layer.name}' returned {len(produced)} outputs, "
                                 f"expected {len(node.outputs)}")
            for tensor, value in zip(node.outputs, produced):
                values[id(tensor)] = value
            for tensor in node.input_tensors:
                key = id(tensor)
                remaining_uses[key] -= 1
                if remaining_uses[key] == 0:
                    values.pop(key, None)
        return [values[id(tensor)] for tensor in self.outputs]

    # ----- config -------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return functional_get_config(self)

    @classmethod
    def from_config(cls, config: dict) -> "Functional":
        return functional_from_config(cls, config)

    def get_build_config(self) -> dict | None:
        return {"input_shape": None}


Model = Functional


def _eager_operation(node, args, kwargs):
    return node.layer._eager_call(args, kwargs)


def _symbolic_operation(node, args, kwargs):
    layer = node.layer
    return layer.compute_output_spec(*args, **layer._call_kwargs(kwargs))


def _count_tensor_uses(nodes: list, outputs: list) -> Counter:
    uses = Counter()
    for node in nodes:
        for tensor in node.input_tensors:
            uses[id(tensor)] += 1
    for tensor in outputs:  # outputs are read at the end: never free them early
        uses[id(tensor)] += 1
    return uses


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if dim is None else str(dim) for dim in shape) + ")"

