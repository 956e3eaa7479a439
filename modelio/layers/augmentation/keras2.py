"""tf-keras (Keras 2) image augmentation at inference where it differs from Keras 3:
RandomHeight and RandomWidth (tf-keras only), and tf-keras's RandomCrop.

* RandomHeight / RandomWidth stretch the images to a random height (width) in training. At
  inference tf-keras 2.21 hands the images on untouched, in their own dtype (uint8 stays
  uint8), while the shape it declares leaves the height (width) unknown (`None`). Keras 3 has
  neither class, so modelio writes such a layer back as Keras 3's `Identity` (same name): that
  is exactly what it computes at inference, and Keras 3 and tf-keras both load it. (Keeping the
  class name would make a file no Keras 3 loads; the training-time randomness is not something
  a Keras 3 file could carry anyway.) Written back, the declared height (width) is the known
  one, which is what inference produces.
* tf-keras's RandomCrop, at inference, crops nothing at random: it casts the images to the
  compute dtype and runs `smart_resize(images, (height, width))`: the largest centred window
  with the target aspect ratio, resized bilinearly, cast back to the compute dtype. That is
  Keras's `Resizing(height, width, "bilinear", crop_to_aspect_ratio=True)` as tf-keras computes
  it, so a RandomCrop from a Keras 2 config becomes that Resizing layer (same name; made inside
  `keras2_semantics()`, it outputs floats in the compute dtype as tf-keras did), which computes,
  exports to ONNX and is written back as Keras 3's Resizing.
"""

import numbers

from ...errors import ConfigError
from ...graph import Layer, register_layer
from ...graph.tensor import SymbolicTensor
from ..arguments import layer_label
from ..preprocessing import Resizing
from .base import AugmentationLayer, is_number

__all__ = ["RandomHeight", "RandomWidth"]

# tf.image.resize's methods, which tf-keras accepts for RandomHeight / RandomWidth
KERAS2_RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                         "gaussian", "mitchellcubic")


class _RandomSize(AugmentationLayer):
    """RandomHeight / RandomWidth: `factor` f (giving (-f, f)) or a pair (lower, upper), with
    upper >= lower and both >= -1, as tf-keras checks them. `axis` is the one that varies."""

    keeps_input_dtype = True
    symbolic_keeps_dtype = True
    _axis = -3
    # written back as Keras 3's Identity (see the module docstring)
    _keras_class_name = "Identity"

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(**kwargs)
        if self.data_format != "channels_last":
            raise ConfigError(f"{layer_label(self)}: tf-keras computes this layer on "
                              f"channels_last images only, got {self.data_format!r}")
        if isinstance(factor, (list, tuple)):
            if len(factor) != 2 or not all(is_number(value) for value in factor):
                raise self.bad("factor", "a number or a list of two numbers", factor)
            lower, upper = factor
        elif is_number(factor):
            lower, upper = -factor, factor
        else:
            raise self.bad("factor", "a number or a list of two numbers", factor)
        if upper < lower:
            raise self.bad("factor", "a number >= 0 or a pair (lower, upper) with upper >= "
                           "lower", factor)
        if lower < -1.0 or upper < -1.0:
            raise self.bad("factor", "at least -1 (lower and upper)", factor)
        self.factor = list(factor) if isinstance(factor, tuple) else factor
        self.interpolation = self.choice(interpolation, "interpolation", KERAS2_RESIZE_METHODS)
        self.seed = self.check_seed(seed)

    def infer(self, images):
        """tf-keras's inference: the images, untouched."""
        return images

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        shape = list(input_shape)
        shape[self._axis] = None
        return tuple(shape)

    def compute_output_spec(self, *args, **kwargs):
        spec = super().compute_output_spec(*args, **kwargs)
        return SymbolicTensor(spec.shape, args[0].dtype) if isinstance(
            args[0], SymbolicTensor) else spec

    @property
    def settings(self) -> dict:
        """The tf-keras arguments (the written config is Identity's)."""
        return {"factor": self.factor, "interpolation": self.interpolation, "seed": self.seed}

    def get_config(self):
        return Layer.get_config(self)


@register_layer()
class RandomHeight(_RandomSize):
    """tf-keras's RandomHeight: inference hands the images on; declared height unknown."""


@register_layer()
class RandomWidth(_RandomSize):
    """tf-keras's RandomWidth: inference hands the images on; declared width unknown."""

    _axis = -2


def keras2_random_crop(config: dict, name_for_errors: str) -> Resizing:
    """The layer a tf-keras RandomCrop config computes at inference (see the module docstring):
    a Resizing with crop_to_aspect_ratio, keeping the name, dtype and trainable flag."""
    config = dict(config)
    label = f"layer '{config.get('name', name_for_errors)}' (RandomCrop)"
    for argument in ("height", "width"):
        value = config.get(argument)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ConfigError(f"{label}: {argument} must be a positive integer, got {value!r}")
    seed = config.pop("seed", None)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"{label}: seed must be an integer or null, got {seed!r}")
    if config.get("data_format", "channels_last") != "channels_last":
        raise ConfigError(f"{label}: tf-keras crops channels_last images only, got "
                          f"{config['data_format']!r}")
    config.pop("data_format", None)
    return Resizing(interpolation="bilinear", crop_to_aspect_ratio=True,
                    data_format="channels_last", **config)
