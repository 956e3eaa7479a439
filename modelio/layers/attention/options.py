"""The constructor arguments MultiHeadAttention and GroupQueryAttention share, checked once."""

from ...errors import ConfigError
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
