"""What MultiHeadAttention and GroupQueryAttention share: their common constructor arguments,
checked once (`set_attention_options`), and the base class of layers called as
`(query, value, key=None, ...)` that build from those three shapes (`QueryValueKeyAttention`)."""

import inspect

from ...errors import ConfigError
from ...graph import Layer
from ...graph.layer import shape_to_list
from ...graph.tensor import SymbolicTensor
from ..arguments import check_bool, check_float, check_int, layer_label
from ..initializers import set_weight_arguments


def set_attention_options(layer, *, dropout, use_bias, use_gate, sliding_window,
                          flash_attention, seed, **weight_arguments) -> None:
    """Check and set `dropout`, `use_bias`, `use_gate`, `sliding_window`, `flash_attention`
    (Keras refuses it together with dropout), `seed` and the kernel/bias initializers,
    regularizers and constraints on `layer`; a ConfigError naming the layer otherwise."""
    cls = type(layer)
    layer.dropout = check_float(dropout, "dropout", cls, layer.name, 0.0, 1.0)
    layer.use_bias = check_bool(use_bias, "use_bias", cls, layer.name)
    layer.use_gate = check_bool(use_gate, "use_gate", cls, layer.name)
    if sliding_window is not None:
        check_int(sliding_window, "sliding_window", cls, layer.name, minimum=1)
    layer.sliding_window = sliding_window
    if flash_attention is not None:
        check_bool(flash_attention, "flash_attention", cls, layer.name)
    layer.flash_attention = flash_attention
    if flash_attention and layer.dropout > 0.0:
        raise ConfigError(f"{layer_label(layer)}: flash_attention=True does not allow dropout > 0 "
                          f"(Keras refuses it), got dropout={dropout}")
    set_weight_arguments(layer, **weight_arguments)
    if seed is not None:
        check_int(seed, "seed", cls, layer.name)
    layer.seed = seed


class QueryValueKeyAttention(Layer):
    """Base of the attention layers called `(query, value, key=None, ...)`: binding the call's
    arguments, building from the three tensors' shapes (a subclass's `_build_for`), Keras's
    `shapes_dict` build config, the flag checks and the one-matmul head projection."""

    _build_shapes = None

    def get_build_config(self) -> dict | None:
        if self._build_shapes is None:
            return None
        query_shape, value_shape, key_shape = self._build_shapes
        shapes = {"query_shape": shape_to_list(query_shape),
                  "value_shape": shape_to_list(value_shape)}
        if key_shape is not None:
            shapes["key_shape"] = shape_to_list(key_shape)
        return {"shapes_dict": shapes}

    def _bind(self, args: tuple, kwargs: dict) -> dict:
        try:
            return dict(inspect.signature(self.call).bind(*args, **kwargs).arguments)
        except TypeError as exc:
            raise ConfigError(f"{layer_label(self)} cannot be called this way: {exc}") from exc

    def _symbolic_call(self, args: tuple, kwargs: dict):
        arguments = self._bind(args, self._call_kwargs(kwargs))
        shapes = []
        for name in ("query", "value", "key"):
            tensor = arguments.get(name)
            if tensor is not None and not isinstance(tensor, SymbolicTensor):
                raise ConfigError(f"{layer_label(self)}: {name} must be a tensor, got {tensor!r}")
            shapes.append(None if tensor is None else tensor.shape)
        self._build_for(*shapes)
        return super()._symbolic_call(args, kwargs)

    def _eager_call(self, args: tuple, kwargs: dict):
        arguments = self._bind(args, self._call_kwargs(kwargs))
        for name in ("query", "value", "key"):
            if arguments.get(name) is not None:
                arguments[name] = self._to_array(arguments[name])
        self._build_for(arguments["query"].shape, arguments["value"].shape,
                        None if arguments.get("key") is None else arguments["key"].shape)
        return self.call(**arguments)

    def _check_flags(self, return_attention_scores, use_causal_mask) -> None:
        check_bool(return_attention_scores, "return_attention_scores", type(self), self.name)
        check_bool(use_causal_mask, "use_causal_mask", type(self), self.name)
        if return_attention_scores and self.flash_attention:
            raise ConfigError(f"{layer_label(self)}: return_attention_scores=True is not supported "
                              f"with flash_attention=True (Keras refuses it)")

    def _project(self, inputs, kernel, bias):
        """inputs (..., d) x kernel (d, H, c) -> (..., H, c), as one 2-D matmul."""
        weight = self.value_of(kernel)
        flat = inputs.reshape(-1, weight.shape[0]) @ weight.reshape(weight.shape[0], -1)
        if bias is not None:
            flat += self.value_of(bias).reshape(-1)
        return flat.reshape(*inputs.shape[:-1], *weight.shape[1:])
