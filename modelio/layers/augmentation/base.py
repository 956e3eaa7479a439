"""The shared base of the image augmentation layers (Keras 3's `BaseImagePreprocessingLayer`
family) and the checks of their constructor arguments.

At inference (`training=False`, what a loaded model runs) most of these layers change no value.
What they do to the dtype differs by class, exactly as Keras 3.15.1 does it:

* `keeps_input_dtype = False`: the images are cast to the compute dtype (uint8 in, float32 out);
* `keeps_input_dtype = True`: the images come back untouched, in their own dtype.

The symbolic output says the compute dtype either way (Keras's rule), except for the classes
with `symbolic_keeps_dtype = True` (Equalization, RandomGrayscale), whose Keras
`compute_output_spec` passes the input's dtype on.

A layer made from a Keras 2 (tf-keras) config, inside `keras2_semantics()`, always casts to the
compute dtype, as tf-keras 2.21's RandomFlip/Rotation/Zoom/Translation/Contrast/Brightness do at
inference. tf-keras 2.21 writes `rng_type` (and older tf-keras `force_generator`) into these
configs: they only choose how random numbers are drawn, which inference never does, so a Keras 2
config's are dropped (`_legacy_keys`); a Keras 3 config holding them is refused, as Keras 3
refuses it. tf-keras's RandomCrop (a centre crop and resize at inference) and RandomHeight /
RandomWidth (tf-keras only) live in keras2.py.
"""

import numbers

import numpy as np

from ...errors import ConfigError, UnsupportedError
from ...graph import Layer
from ...graph.dialect import keras2_semantics_active
from ...graph.layer import is_shape
from ...graph.tensor import SymbolicTensor
from ..arguments import layer_label, standardize_data_format

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _plain(value):
    """A numpy scalar as the Python number Keras would hold."""
    return value.item() if isinstance(value, np.generic) else value


class AugmentationLayer(Layer):
    """An image augmentation layer: images of rank 4 (batch, ...) or 3 (one image) in, the same
    shape out. `infer` is what the layer computes at inference; the base class returns the
    images, cast to the compute dtype unless `keeps_input_dtype`."""

    keeps_input_dtype = False
    symbolic_keeps_dtype = False
    # tf-keras's random-generator arguments: dropped from Keras 2 configs only (see above)
    _legacy_keys = {"rng_type": None, "force_generator": None}

    @classmethod
    def normalize_legacy_config(cls, config: dict) -> dict:
        if not keras2_semantics_active():
            return config
        return super().normalize_legacy_config(config)

    def __init__(self, data_format=None, bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self), self.name)
        if bounding_box_format is not None and not isinstance(bounding_box_format, str):
            raise ConfigError(f"{layer_label(self)}: bounding_box_format must be a string or "
                              f"null, got {bounding_box_format!r}")
        self.bounding_box_format = bounding_box_format
        self.keras2_casts = keras2_semantics_active()

    # ----- shapes and calls ---------------------------------------------------------------------
    def _check_rank(self, input_shape):
        if not is_shape(input_shape):
            raise UnsupportedError(f"{layer_label(self)}: modelio runs this layer on an image tensor "
                                   f"only (dict inputs with bounding boxes, labels or "
                                   f"segmentation masks are not supported), got {input_shape!r}")
        if len(input_shape) not in (3, 4):
            raise ConfigError(f"{layer_label(self)} expects images of rank 4 (batch, height, width, "
                              f"channels) or 3 (one image), got shape {tuple(input_shape)}")

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return tuple(input_shape)

    def compute_output_spec(self, *args, **kwargs):
        spec = super().compute_output_spec(*args, **kwargs)
        if self.symbolic_keeps_dtype and isinstance(args[0], SymbolicTensor):
            return SymbolicTensor(spec.shape, args[0].dtype)
        return spec

    def call(self, inputs, training=None):
        return self.infer(inputs)

    def infer(self, images: np.ndarray) -> np.ndarray:
        """What Keras computes with `training=False`."""
        if self.keeps_input_dtype and not self.keras2_casts:
            return images
        return images.astype(self.compute_dtype, copy=False)

    def get_config(self) -> dict:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config

    # ----- argument checks (Keras raises ValueError / NotImplementedError where these refuse) --
    def bad(self, argument: str, expected: str, value) -> ConfigError:
        return ConfigError(f"{layer_label(self)}: {argument} must be {expected}, got {value!r}")

    def check_number(self, value, argument: str, low=None, high=None):
        if not is_number(value) or (low is not None and value < low) or (
                high is not None and value > high):
            where = f" in [{low}, {high}]" if low is not None or high is not None else ""
            raise self.bad(argument, f"a number{where}", value)
        return _plain(value)

    def _pair(self, value, argument: str, expected: str):
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
                is_number(item) for item in value):
            raise self.bad(argument, expected, value)
        return [_plain(item) for item in value]

    def base_factor(self, factor, bounds, argument: str = "factor") -> tuple:
        """Keras's `_set_factor`: a number f in `bounds` gives (max(-|f|, low), |f|); a pair
        reaching into `bounds` gives the pair sorted."""
        low, high = bounds
        expected = f"a number or a list of two numbers in the range [{low}, {high}]"
        if isinstance(factor, (list, tuple)):
            pair = self._pair(factor, argument, expected)
            if pair[0] > high or pair[1] < low:
                raise self.bad(argument, expected, factor)
            return tuple(sorted(pair))
        if not is_number(factor) or factor < low or factor > high:
            raise self.bad(argument, expected, factor)
        factor = abs(_plain(factor))
        return (max(-factor, low), factor)

    def symmetric_factor(self, factor, argument: str, low: float = -1.0,
                         low_inclusive: bool = True) -> tuple:
        """RandomZoom/RandomTranslation/RandomShear's factors: a number f gives (-|f|, |f|), a
        pair is sorted; every number must lie in [low, 1] (or (low, 1])."""
        bound = "[" if low_inclusive else "("
        expected = f"a number or a list of two numbers in the range {bound}{low}, 1]"

        def check(value):
            if not is_number(value) or value > 1.0 or value < low or (
                    not low_inclusive and value == low):
                raise self.bad(argument, expected, factor)

        if isinstance(factor, (list, tuple)):
            pair = self._pair(factor, argument, expected)
            for value in pair:
                check(value)
            return tuple(sorted(pair))
        check(factor)
        factor = abs(_plain(factor))
        return (-factor, factor)

    def check_value_range(self, value, sort: bool = True):
        pair = self._pair(value, "value_range", "a list of two numbers")
        return sorted(pair) if sort else pair

    def choice(self, value, argument: str, choices):
        if not isinstance(value, str) or value not in choices:
            raise self.bad(argument, f"one of {', '.join(map(repr, choices))}", value)
        return value

    def check_seed(self, seed):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise self.bad("seed", "an integer or null", seed)
        return seed

    def fill_arguments(self, fill_mode, interpolation, fill_value, fill_modes=FILL_MODES):
        self.fill_mode = self.choice(fill_mode, "fill_mode", fill_modes)
        self.interpolation = self.choice(interpolation, "interpolation", INTERPOLATIONS)
        self.fill_value = self.check_number(fill_value, "fill_value")


def transform_value_range(images: np.ndarray, source, target, dtype) -> np.ndarray:
    """Keras's `_transform_value_range`: unchanged when the ranges are equal, else cast to
    `dtype` and mapped linearly from `source` onto `target`."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    dtype = np.dtype(dtype)
    images = images.astype(dtype, copy=False)
    source_low, source_high = (dtype.type(value) for value in source)
    target_low, target_high = (dtype.type(value) for value in target)
    images = (images - source_low) / (source_high - source_low)
    return images * (target_high - target_low) + target_low
