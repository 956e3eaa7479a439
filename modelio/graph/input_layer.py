"""InputLayer and Input(): where a model's symbolic tensors start."""

from ..errors import ConfigError, UnsupportedError
from .batch_shapes import as_dims
from .dtypes import standardize_dtype
from .layer import Layer
from .node import Node
from .registry import register_layer
from .tensor import SymbolicTensor

# Dimensions above this are refused: no real model has them, and they signal a corrupt config.
MAX_DIMENSION = 2**31


@register_layer()
class InputLayer(Layer):
    """The layer behind `Input()`: it holds the model input's batch shape and dtype."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None,
                 batch_shape=None, input_tensor=None, optional=False, name=None,
                 batch_input_shape=None, **kwargs):
        label = name if isinstance(name, str) else "InputLayer"
        if batch_shape is None:
            batch_shape = batch_input_shape
        if shape is not None and batch_shape is not None:
            raise ConfigError(f"input layer '{label}': give shape or batch_shape, not both")
        if batch_shape is None:
            if shape is None:
                raise ConfigError(f"input layer '{label}' needs a shape or batch_shape")
            batch_shape = [batch_size, *as_dims(label, shape)]
        batch_shape = tuple(as_dims(label, batch_shape))
        if any(dim is not None and dim > MAX_DIMENSION for dim in batch_shape):
            raise ConfigError(f"input layer '{label}': shape {batch_shape} has an absurd dimension")
        if sparse or ragged:
            raise UnsupportedError(f"input layer '{label}': sparse and ragged inputs are not supported")
        if input_tensor is not None:
            raise UnsupportedError(f"input layer '{label}': input_tensor is not supported")
        dtype_name = standardize_dtype(dtype or "float32")
        super().__init__(name=name, dtype=dtype_name, **kwargs)
        self.batch_shape = batch_shape
        self.optional = bool(optional)
        self.built = True
        tensor = SymbolicTensor(batch_shape, dtype_name, name=self.name)
        Node(self, (), {}, tensor)

    @property
    def dtype(self) -> str:
        return self.dtype_policy.name

    def get_config(self) -> dict:
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.dtype_policy.name,
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": self.optional,
        }

    def call(self, inputs):
        return inputs


def Input(  # noqa: N802 - Keras's name
    shape=None,
    batch_size: int | None = None,
    dtype: str | None = None,
    sparse=None,
    batch_shape=None,
    name: str | None = None,
    tensor=None,
    optional: bool = False,
) -> SymbolicTensor:
    """A symbolic model input of `shape` (without the batch dimension), like `keras.Input`."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, input_tensor=tensor, optional=optional)
    return layer.output
