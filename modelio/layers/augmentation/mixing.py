"""Augmentations that mix images or chain other augmentations: MixUp, CutMix, AugMix and
RandAugment. All are random at training time only. At inference Keras 3.15.1 returns the images
unchanged: MixUp in their own dtype, the others cast to the compute dtype.

AugMix and RandAugment build their inner layers (RandomShear, RandomTranslation,
RandomRotation, Solarization, ...) from their own arguments, so an argument one of those refuses
makes Keras refuse the whole layer; modelio checks the same conditions here.
"""

from ...graph import register_layer
from ..arguments import check_bool, check_int
from .base import INTERPOLATIONS, AugmentationLayer

__all__ = ["AugMix", "CutMix", "MixUp", "RandAugment"]


@register_layer()
class MixUp(AugmentationLayer):
    """Blends pairs of images (and labels) in training; inference: the images unchanged."""

    keeps_input_dtype = True

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.alpha = self.check_number(alpha, "alpha")
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


@register_layer()
class CutMix(AugmentationLayer):
    """Pastes a patch of another image in training; inference: a cast."""

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = self.base_factor(factor, (0, 1))
        self.seed = self.check_seed(seed)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "seed": self.seed}


class _ChainLayer(AugmentationLayer):
    """AugMix / RandAugment: `factor` in [0, 1] (both ends, as their inner RandomShear needs),
    `value_range` a pair (Solarization's check), `interpolation` nearest or bilinear."""

    _inner_layers = ("random_shear", "random_translation", "random_rotation", "solarization",
                     "random_posterization", "auto_contrast", "equalization", "random_brightness",
                     "random_color_degeneration", "random_contrast", "random_sharpness")

    def inner_layer_attributes(self) -> tuple:
        """The attribute names of the inner layers Keras's object holds."""
        return self._inner_layers

    def keras3_weight_groups(self):
        """Keras's weights file has an (empty) group for each inner layer."""
        return [("", [])] + [(name, []) for name in self.inner_layer_attributes()]

    def _chain_arguments(self, value_range, factor, interpolation, seed):
        self.value_range = self.check_value_range(value_range, sort=False)
        self.factor = self.base_factor(factor, (0, 1))
        for value in self.factor:
            self.check_number(value, "factor", 0, 1)
        self.interpolation = self.choice(interpolation, "interpolation", INTERPOLATIONS)
        self.seed = self.check_seed(seed)


@register_layer()
class AugMix(_ChainLayer):
    """Mixes chains of random augmentations in training; inference: a cast."""

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0,
                 all_ops=True, interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        cls = type(self)
        self._chain_arguments(value_range, factor, interpolation, seed)
        self.num_chains = check_int(num_chains, "num_chains", cls, self.name, minimum=1)
        self.chain_depth = check_int(chain_depth, "chain_depth", cls, self.name, minimum=1)
        self.alpha = self.check_number(alpha, "alpha")
        self.all_ops = check_bool(all_ops, "all_ops", cls, self.name)

    def inner_layer_attributes(self) -> tuple:
        return self._inner_layers if self.all_ops else self._inner_layers[:7]

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_chains": self.num_chains, "chain_depth": self.chain_depth,
                "factor": list(self.factor), "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}


@register_layer()
class RandAugment(_ChainLayer):
    """Applies `num_ops` random augmentations in training; inference: a cast."""

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._chain_arguments(value_range, factor, interpolation, seed)
        self.num_ops = check_int(num_ops, "num_ops", type(self), self.name, minimum=0)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": list(self.factor),
                "interpolation": self.interpolation, "seed": self.seed}
