"""Colour and pixel augmentations: RandomBrightness, RandomContrast, RandomColorDegeneration,
RandomColorJitter, RandomGrayscale, RandomHue, RandomSaturation, RandomInvert,
RandomPosterization, RandomSharpness, Solarization, RandomGaussianBlur and RandomErasing.

All are random at training time only; at inference Keras 3.15.1 changes no value. Most return
the images untouched in their own dtype (uint8 stays uint8); RandomSharpness, Solarization,
RandomGaussianBlur and RandomErasing cast them to the compute dtype.
"""

from ...graph import register_layer
from .base import AugmentationLayer, is_number

__all__ = ["RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast",
           "RandomErasing", "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
           "RandomPosterization", "RandomSaturation", "RandomSharpness", "Solarization"]


class _ColorLayer(AugmentationLayer):
    """factor / value_range / seed, with Keras's factor bounds and whether the value range is
    kept sorted (`_sorted_range`)."""

    keeps_input_dtype = True
    _bounds = (-1, 1)
    _sorted_range = True

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(factor, self._bounds)
        self.value_range = self.check_value_range(value_range, sort=self._sorted_range)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": self.value_range, "seed": self.seed}


@register_layer()
class RandomBrightness(_ColorLayer):
    """Adds a random brightness delta in training; inference: the images unchanged."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(0.0 if factor is None else factor, value_range, seed, **kwargs)


@register_layer()
class RandomContrast(_ColorLayer):
    """Scales contrast by a random factor in training; inference: the images unchanged."""

    _bounds = (0, 1)
    _sorted_range = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed, **kwargs)


@register_layer()
class RandomColorDegeneration(_ColorLayer):
    """Blends towards grayscale by a random factor in training; inference: unchanged."""


@register_layer()
class RandomSaturation(_ColorLayer):
    """Scales saturation by a random factor in training; inference: unchanged."""


@register_layer()
class RandomHue(_ColorLayer):
    """Shifts hue by a random factor in training; inference: unchanged."""

    _bounds = (0, 1)
    _sorted_range = False


@register_layer()
class RandomInvert(_ColorLayer):
    """Inverts images with probability `factor` in training; inference: unchanged."""

    _bounds = (0, 1)
    _sorted_range = False

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, seed, data_format, **kwargs)


@register_layer()
class RandomPosterization(_ColorLayer):
    """Keeps a random number of bits (factor in [1, 8]) in training; inference: unchanged."""

    _bounds = (1, 8)


@register_layer()
class RandomSharpness(_ColorLayer):
    """Sharpens by a random factor in training; inference: cast to the compute dtype."""

    keeps_input_dtype = False
    _bounds = (0, 1)


@register_layer()
class RandomGrayscale(AugmentationLayer):
    """Turns images to grayscale with probability `factor` in training; inference: unchanged.
    Keras writes no seed into its config."""

    keeps_input_dtype = True
    symbolic_keeps_dtype = True

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.check_number(factor, "factor", 0, 1)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_layer()
class RandomColorJitter(AugmentationLayer):
    """Random brightness, contrast, saturation and hue in training (each factor null = off);
    inference: unchanged. Each factor is checked as its own layer checks it and kept in the
    config as given."""

    keeps_input_dtype = True
    _factor_bounds = (("brightness_factor", (-1, 1)), ("contrast_factor", (0, 1)),
                      ("saturation_factor", (-1, 1)), ("hue_factor", (0, 1)))

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = self.check_value_range(value_range, sort=False)
        given = {"brightness_factor": brightness_factor, "contrast_factor": contrast_factor,
                 "saturation_factor": saturation_factor, "hue_factor": hue_factor}
        for argument, bounds in self._factor_bounds:
            value = given[argument]
            if value is not None:
                self.base_factor(value, bounds, argument)
            setattr(self, argument, list(value) if isinstance(value, tuple) else value)
        self.seed = self.check_seed(seed)

    def keras3_weight_groups(self):
        """Keras's weights file has an (empty) group for the inner layer of each factor set."""
        inner = ("random_brightness", "random_contrast", "random_saturation", "random_hue")
        return [("", [])] + [(name, []) for name, (argument, _) in zip(inner, self._factor_bounds)
                             if getattr(self, argument) is not None]

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                **{argument: getattr(self, argument) for argument, _ in self._factor_bounds},
                "seed": self.seed}


@register_layer()
class Solarization(AugmentationLayer):
    """Adds a random value and inverts pixels above a random threshold in training; inference:
    cast to the compute dtype."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.addition_factor = self._factor(addition_factor, "addition_factor")
        self.threshold_factor = self._factor(threshold_factor, "threshold_factor")
        self.value_range = self.check_value_range(value_range)
        self.seed = self.check_seed(seed)

    def _factor(self, factor, argument):
        """A number f in [0, 1] gives (0, f); a pair of numbers in [0, 1] is sorted."""
        if isinstance(factor, (list, tuple)):
            pair = self._pair(factor, argument, "a list of two numbers in [0, 1]")
            for value in pair:
                self.check_number(value, argument, 0, 1)
            return tuple(sorted(pair))
        return (0, self.check_number(factor, argument, 0, 1))

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "addition_factor": list(self.addition_factor),
                "threshold_factor": list(self.threshold_factor), "seed": self.seed}


@register_layer()
class RandomGaussianBlur(AugmentationLayer):
    """Blurs with a random sigma in training; inference: cast to the compute dtype."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(factor, (0, 1))
        self.kernel_size = self._kernel_size(kernel_size)
        self.sigma = self.base_factor(sigma, (0, 1), "sigma")
        self.value_range = self.check_value_range(value_range, sort=False)
        self.seed = self.check_seed(seed)

    def _kernel_size(self, value):
        expected = "an odd integer or a list of two odd integers"
        sizes = list(value) if isinstance(value, (list, tuple)) else [value, value]
        if len(sizes) != 2 or not all(
                isinstance(size, int) and not isinstance(size, bool) and size % 2 == 1
                for size in sizes):
            raise self.bad("kernel_size", expected, value)
        return tuple(sizes)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor),
                "kernel_size": list(self.kernel_size), "sigma": list(self.sigma),
                "value_range": self.value_range, "seed": self.seed}


@register_layer()
class RandomErasing(AugmentationLayer):
    """Erases random rectangles in training; inference: cast to the compute dtype."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(factor, (0, 1))
        self.scale = self.base_factor(scale, (0, 1), "scale")
        if fill_value is not None and not is_number(fill_value):
            raise self.bad("fill_value", "a number or null", fill_value)
        self.fill_value = fill_value
        self.value_range = self.check_value_range(value_range, sort=False)
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "scale": list(self.scale),
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}
