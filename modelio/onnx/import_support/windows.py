"""Windowed ops (Conv, ConvTranspose, pools): the image input, strides, dilations and pads read
from the node, and the Keras padding that matches them."""

from ...errors import FormatError, UnsupportedError
from ...graph.tensor import SymbolicTensor


def image_input(context, node, what: str = "X") -> SymbolicTensor:
    x = context.tensor(node, 0)
    if len(x.shape) < 3 or len(x.shape) > 5:
        raise UnsupportedError(f"{context.where(node)}: {what} must have rank 3 to 5 (N, C, "
                               f"spatial...), got shape {tuple(x.shape)}")
    return x


def ints_attribute(context, node, name: str, length: int, default: int) -> list:
    value = context.attribute(node, name, None)
    if value is None:
        return [default] * length
    value = [int(item) for item in value]
    if len(value) != length:
        raise FormatError(f"{context.where(node)}: attribute {name} must have {length} entries, "
                          f"got {value}")
    return value


def strides_and_dilations(context, node, rank: int, kernel_shape) -> tuple:
    """(strides, dilations) of a windowed op, checked."""
    strides = ints_attribute(context, node, "strides", rank, 1)
    dilations = ints_attribute(context, node, "dilations", rank, 1)
    if min(strides) < 1 or min(dilations) < 1 or min(kernel_shape) < 1:
        raise FormatError(f"{context.where(node)}: kernel_shape, strides and dilations must be "
                          f"positive, got {list(kernel_shape)}, {strides}, {dilations}")
    return strides, dilations


def _same_pads(sizes, kernel_shape, strides, dilations, lower: bool) -> list | None:
    """ONNX's SAME_UPPER / SAME_LOWER pads (begins then ends) for known spatial `sizes`."""
    if any(size is None for size in sizes):
        return None
    begins, ends = [], []
    for size, kernel, stride, dilation in zip(sizes, kernel_shape, strides, dilations):
        out = -(-size // stride)
        total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(large if lower else small)
        ends.append(small if lower else large)
    return begins + ends


def explicit_pads(context, node, sizes, kernel_shape, strides, dilations) -> list | str:
    """The pads of a Conv/Pool node as a list, or "same" for SAME_UPPER on unknown sizes."""
    rank = len(kernel_shape)
    auto_pad = context.attribute(node, "auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return [0] * (2 * rank)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(sizes, kernel_shape, strides, dilations, auto_pad == "SAME_LOWER")
        if pads is None:
            if auto_pad == "SAME_LOWER":
                raise UnsupportedError(f"{context.where(node)}: auto_pad SAME_LOWER needs known "
                                       f"spatial sizes, the input has {tuple(sizes)}")
            return "same"
        return pads
    if auto_pad != "NOTSET":
        raise FormatError(f"{context.where(node)}: unknown auto_pad {auto_pad!r}")
    pads = ints_attribute(context, node, "pads", 2 * rank, 0)
    if min(pads) < 0:
        raise FormatError(f"{context.where(node)}: pads must be >= 0, got {pads}")
    return pads


def keras_padding(pads, sizes, kernel_shape, strides, dilations) -> str | None:
    """"valid" or "same" when Keras's padding is exactly `pads`, else None."""
    if pads == "same":
        return "same"
    if not any(pads):
        return "valid"
    if pads == _same_pads(sizes, kernel_shape, strides, dilations, lower=False):
        return "same"
    return None
