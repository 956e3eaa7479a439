"""LocallyConnected1D/2D (tf-keras 2; Keras 3 dropped them): a convolution whose weights are not
shared, each output position with its own kernel. Valid padding only (as tf-keras's
implementation 1; "same" is refused).

tf-keras stores the kernel in one of three layouts, chosen by `implementation`:

1. (output positions, window * channels, filters): per output position, the window's inputs
   flattened in the input's layout (window then channels for channels_last, channels then
   window for channels_first);
2. a dense (*input spatial, channels, *output spatial, filters) kernel (channels_first:
   (channels, *input spatial, filters, *output spatial)) of which only the connected entries
   (masked by the connectivity) count;
3. a vector of the connected entries only, in the order of the sorted (output index, input
   index) pairs of the flattened output and input (each flattened in its data format).

modelio turns each into the same local kernel (output positions, window, channels, filters) and
computes `einsum(patches, kernel)` with the window patches gathered in one indexing step. The
bias has shape (*output spatial, filters); for channels_first tf-keras adds it *reshaped* (not
transposed) to (filters, *output spatial), which modelio reproduces."""

import math

import numpy as np

from ..errors import ConfigError, UnsupportedError
from ..graph import Layer, register_layer
from .activations import activation_output_shape, resolve_activation, serialize_activation
from .arguments import (
    KERNEL_BIAS_ARGUMENTS,
    check_bool,
    check_choice,
    check_int,
    check_int_tuple,
    config_entries,
    layer_label,
    standardize_data_format,
)
from .initializers import get_initializer, set_weight_arguments

__all__ = ["LocallyConnected1D", "LocallyConnected2D"]


class _LocallyConnected(Layer):
    rank = 0

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):
        super().__init__(**kwargs)
        cls, label = type(self), layer_label(self)
        self.filters = check_int(filters, "filters", cls, self.name, minimum=1)
        self.kernel_size = check_int_tuple(kernel_size, "kernel_size", cls, self.name,
                                           length=self.rank, minimum=1) \
            if not isinstance(kernel_size, int) else (check_int(kernel_size, "kernel_size", cls,
                                                                self.name, minimum=1),) * self.rank
        self.strides = check_int_tuple(strides, "strides", cls, self.name, length=self.rank,
                                       minimum=1) \
            if not isinstance(strides, int) else (check_int(strides, "strides", cls, self.name,
                                                            minimum=1),) * self.rank
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ConfigError(f"{label}: padding must be 'valid' or 'same', got {padding!r}")
        if padding.lower() != "valid":
            raise UnsupportedError(f"{label}: padding={padding!r} is not supported (tf-keras's "
                                   f"implementation 1 supports 'valid' only)")
        self.padding = padding.lower()
        self.data_format = standardize_data_format(data_format, cls, self.name)
        self.activation_name, self.activation = resolve_activation(activation, self.name)
        self.use_bias = check_bool(use_bias, "use_bias", cls, self.name)
        self.implementation = check_choice(implementation, "implementation", (1, 2, 3), cls,
                                           self.name)
        set_weight_arguments(
            self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint)
        self.kernel = self.bias = None

    # ----- geometry ---------------------------------------------------------------------------------
    def _dims(self, input_shape) -> tuple[tuple, int]:
        if len(input_shape) != self.rank + 2:
            raise ConfigError(f"{layer_label(self)} expects inputs of rank {self.rank + 2}, got "
                              f"{tuple(input_shape)}")
        if self.data_format == "channels_last":
            return tuple(input_shape[1:-1]), input_shape[-1]
        return tuple(input_shape[2:]), input_shape[1]

    def output_dims(self, spatial) -> tuple:
        dims = tuple(None if size is None else (size - window) // stride + 1
                     for size, window, stride in zip(spatial, self.kernel_size, self.strides))
        if any(dim is not None and dim <= 0 for dim in dims):
            raise ConfigError(f"{layer_label(self)}: inputs of spatial size {spatial} are smaller "
                              f"than the window {self.kernel_size}")
        return dims

    def patch_positions(self, spatial) -> np.ndarray:
        """(output positions, window) flat input positions each output position reads."""
        out = self.output_dims(spatial)
        grids = np.meshgrid(*[np.arange(dim) for dim in out], indexing="ij")
        offsets = np.meshgrid(*[np.arange(window) for window in self.kernel_size], indexing="ij")
        coords = [grid.reshape(-1, 1) * stride + offset.reshape(1, -1)
                  for grid, offset, stride in zip(grids, offsets, self.strides)]
        return np.ravel_multi_index(coords, spatial)

    # ----- weights ----------------------------------------------------------------------------------
    def build(self, input_shape):
        spatial, channels = self._dims(input_shape)
        if None in spatial or channels is None:
            raise ConfigError(f"{layer_label(self)} needs known spatial sizes and channels, got "
                              f"{tuple(input_shape)}")
        out = self.output_dims(spatial)
        positions, window = math.prod(out), math.prod(self.kernel_size)
        if self.implementation == 1:
            shape = (positions, window * channels, self.filters)
        elif self.implementation == 2:
            shape = ((*spatial, channels, *out, self.filters) if self.data_format == "channels_last"
                     else (channels, *spatial, self.filters, *out))
        else:
            shape = (positions * window * channels * self.filters,)
        self.kernel = self.add_weight("kernel", shape, get_initializer(self.kernel_initializer))
        self.bias = (self.add_weight("bias", (*out, self.filters),
                                     get_initializer(self.bias_initializer))
                     if self.use_bias else None)
        self._geometry = (spatial, channels)

    def geometry(self) -> tuple[tuple, int]:
        """(input spatial sizes, channels) the layer was built for."""
        return self._geometry

    def local_kernel(self) -> np.ndarray:
        """The kernel as (output positions, window, channels, filters), from any layout."""
        spatial, channels = self._geometry
        kernel = self.value_of(self.kernel)
        positions_in = self.patch_positions(spatial)             # (O, W)
        count, window = positions_in.shape
        filters = self.filters
        if self.implementation == 1:
            if self.data_format == "channels_last":
                return kernel.reshape(count, window, channels, filters)
            return kernel.reshape(count, channels, window, filters).transpose(0, 2, 1, 3)
        outputs = np.arange(count)[:, None]
        if self.implementation == 2:
            if self.data_format == "channels_last":
                flat = kernel.reshape(math.prod(spatial), channels, count, filters)
                return flat[positions_in, :, outputs, :]
            flat = kernel.reshape(channels, math.prod(spatial), filters, count)
            return flat[:, positions_in, :, outputs]
        # Implementation 3: entries in the order of the sorted (output index, input index) pairs.
        o, w, c, f = np.meshgrid(np.arange(count), np.arange(window), np.arange(channels),
                                 np.arange(filters), indexing="ij")
        position = positions_in[o, w]
        if self.data_format == "channels_last":
            out_index, in_index = o * filters + f, position * channels + c
        else:
            out_index, in_index = f * count + o, c * math.prod(spatial) + position
        order = np.lexsort((in_index.reshape(-1), out_index.reshape(-1)))
        local = np.empty(count * window * channels * filters, kernel.dtype)
        local[order] = kernel
        return local.reshape(count, window, channels, filters)

    def bias_term(self) -> np.ndarray:
        """The bias as added to (batch, *output spatial, filters) channels-last outputs."""
        bias = self.value_of(self.bias)
        if self.data_format == "channels_last":
            return bias
        out = bias.shape[:-1]
        # tf-keras reshapes (not transposes) the bias to (filters, *out) for channels_first.
        return np.moveaxis(bias.reshape(self.filters, *out), 0, -1)

    # ----- computing --------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        spatial, _ = self._dims(input_shape)
        out = self.output_dims(spatial)
        shape = ((input_shape[0], *out, self.filters) if self.data_format == "channels_last"
                 else (input_shape[0], self.filters, *out))
        return activation_output_shape(self, self.activation_name, shape)

    def call(self, inputs):
        x = np.asarray(inputs)
        spatial, channels = self._geometry
        if self._dims(x.shape) != (spatial, channels):
            raise ConfigError(f"{layer_label(self)} was built for spatial sizes {spatial} and "
                              f"{channels} channels, got inputs of shape {x.shape}")
        if self.data_format == "channels_first":
            x = np.moveaxis(x, 1, -1)
        flat = x.reshape(x.shape[0], -1, channels)
        patches = flat[:, self.patch_positions(spatial)]              # (B, O, W, C)
        y = np.einsum("bowc,owcf->bof", patches, self.local_kernel(), optimize=True)
        out = self.output_dims(spatial)
        y = y.reshape(x.shape[0], *out, self.filters)
        if self.bias is not None:
            y = y + self.bias_term()
        if self.data_format == "channels_first":
            y = np.moveaxis(y, -1, 1)
        return self.activation(y.astype(x.dtype, copy=False))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            **config_entries(self, ("filters", "kernel_size", "strides", "padding",
                                    "data_format")),
            "activation": serialize_activation(self.activation_name),
            "use_bias": self.use_bias,
            **config_entries(self, KERNEL_BIAS_ARGUMENTS),
            "implementation": self.implementation,
        }


@register_layer()
class LocallyConnected1D(_LocallyConnected):
    """An unshared 1D convolution over (batch, steps, channels) (tf-keras 2)."""

    rank = 1


@register_layer()
class LocallyConnected2D(_LocallyConnected):
    """An unshared 2D convolution over images (tf-keras 2)."""

    rank = 2
