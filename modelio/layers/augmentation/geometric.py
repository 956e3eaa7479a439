"""Geometric augmentations: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomShear, RandomPerspective, RandomElasticTransform and RandomCrop.

All are random at training time only. At inference (what a loaded model runs) Keras 3.15.1
returns the images cast to the compute dtype, except RandomCrop, which returns them untouched,
uncropped and in their own dtype, although its `compute_output_shape` (so the shape a
functional model declares) says the crop size. (tf-keras's RandomCrop differs: see keras2.py.)
"""

import random

from ...errors import ConfigError
from ...graph import register_layer
from ...graph.dialect import keras2_semantics_active
from ..arguments import layer_label
from .base import INTERPOLATIONS, AugmentationLayer, is_number
from .keras2 import keras2_random_crop

__all__ = ["RandomCrop", "RandomElasticTransform", "RandomFlip", "RandomPerspective",
           "RandomRotation", "RandomShear", "RandomTranslation", "RandomZoom"]

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
ELASTIC_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


@register_layer()
class RandomFlip(AugmentationLayer):
    """Flips images horizontally and/or vertically at random in training; inference: a cast."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.mode = self.choice(mode, "mode", FLIP_MODES)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class _AffineLayer(AugmentationLayer):
    """A random affine warp with fill_mode / interpolation / fill_value arguments."""

    def _affine_config(self) -> dict:
        return {"fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seed": self.seed}


@register_layer()
class RandomRotation(_AffineLayer):
    """Rotates by a random fraction of 2*pi in training; inference: a cast."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(0.0 if factor is None else factor, (-1, 1))
        self.fill_arguments(fill_mode, interpolation, fill_value)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), **self._affine_config()}


@register_layer()
class RandomZoom(_AffineLayer):
    """Zooms by a random factor in training; inference: a cast. The factors are kept in the
    config as given (a number or a pair, each in (-1, 1])."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.symmetric_factor(height_factor, "height_factor", low_inclusive=False)
        if width_factor is not None:
            self.symmetric_factor(width_factor, "width_factor", low_inclusive=False)
        self.height_factor = _as_written(height_factor)
        self.width_factor = _as_written(width_factor)
        self.fill_arguments(fill_mode, interpolation, fill_value)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._affine_config()}


@register_layer()
class RandomTranslation(_AffineLayer):
    """Shifts by a random fraction of the image size in training; inference: a cast. The
    factors are kept in the config as given (a number or a pair, each in [-1, 1])."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.symmetric_factor(height_factor, "height_factor")
        self.symmetric_factor(width_factor, "width_factor")
        self.height_factor = _as_written(height_factor)
        self.width_factor = _as_written(width_factor)
        self.fill_arguments(fill_mode, interpolation, fill_value)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._affine_config()}


@register_layer()
class RandomShear(_AffineLayer):
    """Shears along x and y by random angles in training; inference: a cast. The config holds
    the factors as (lower, upper) pairs, each number in [0, 1]."""

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.x_factor = self._shear_factor(x_factor, "x_factor")
        self.y_factor = self._shear_factor(y_factor, "y_factor")
        self.fill_arguments(fill_mode, interpolation, fill_value)
        self.seed = self.check_seed(seed)

    def _shear_factor(self, factor, argument):
        """Keras writes the number f as the pair (-f, f), which its own check (each number in
        [0, 1]) then refuses when it loads the file; modelio reads that pair back as f."""
        if (isinstance(factor, (list, tuple)) and len(factor) == 2
                and all(is_number(value) for value in factor)
                and factor[0] == -factor[1] and 0 <= factor[1] <= 1):
            factor = factor[1]
        return self.symmetric_factor(factor, argument, low=0.0)

    def get_config(self):
        return {**super().get_config(), "x_factor": list(self.x_factor),
                "y_factor": list(self.y_factor), **self._affine_config()}


@register_layer()
class RandomPerspective(AugmentationLayer):
    """A random perspective warp in training; inference: a cast."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(factor, (0, 1))
        self.scale = self.check_number(scale, "scale", 0.0, 1.0)
        self.interpolation = self.choice(interpolation, "interpolation", INTERPOLATIONS)
        self.fill_value = self.check_number(fill_value, "fill_value")
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value,
                "seed": self.seed}


@register_layer()
class RandomElasticTransform(AugmentationLayer):
    """A random elastic distortion in training; inference: a cast."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(factor, (0, 1))
        self.scale = self.base_factor(scale, (0, 1), "scale")
        self.fill_arguments(fill_mode, interpolation, fill_value, ELASTIC_FILL_MODES)
        self.value_range = self.check_value_range(value_range, sort=False)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "scale": list(self.scale),
                "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}


@register_layer()
class RandomCrop(AugmentationLayer):
    """Crops a random (height, width) window in training. At inference Keras 3.15.1 returns
    the images unchanged (full size, own dtype), while `compute_output_shape` gives the crop
    size: a functional model declares (batch, height, width, channels) yet predicts full-size
    images, and the layers after it run on the full size. modelio does both the same way.

    Keras draws a random seed when none is given and writes it into the config; so does this
    layer."""

    keeps_input_dtype = True

    @classmethod
    def from_config(cls, config):
        """A Keras 2 (tf-keras) config gives the layer tf-keras computes at inference: a
        centred aspect-ratio crop and bilinear resize (a Resizing; see keras2.py)."""
        if keras2_semantics_active() and isinstance(config, dict):
            return keras2_random_crop(cls.normalize_legacy_config(dict(config)), cls.__name__)
        return super().from_config(config)

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(data_format=data_format, name=name, **kwargs)
        for argument, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{layer_label(self)}: {argument} must be a positive integer, "
                                  f"got {value!r}")
        self.height, self.width = height, width
        self.seed = self.check_seed(seed)
        if self.seed is None:
            self.seed = random.randint(1, int(1e9))

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        shape = list(input_shape)
        h_axis, w_axis = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "seed": self.seed}


def _as_written(factor):
    """A factor as the config keeps it: a number, a list of two, or null."""
    return list(factor) if isinstance(factor, tuple) else factor
