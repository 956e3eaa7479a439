"""`keras.ops.nn`'s loss functions and PSNR as Keras 3 graphs record them
(`BinaryCrossentropy`, `CategoricalCrossentropy`, `SparseCategoricalCrossentropy`, `PSNR`),
each a registered class with Keras's config: per-sample losses, no reduction, probabilities
clipped to [1e-7, 1 - 1e-7] as Keras does."""

import numpy as np

from ..graph.registry import register_operation
from .base import REQUIRED, KerasOp, float_dtype, normalize_axis, spec_of

__all__ = ["EPSILON", "PSNR", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy"]

EPSILON = 1e-7


class _Loss(KerasOp):
    _keras_module = "keras.src.ops.nn"
    ARGUMENTS = {"from_logits": False}

    def check(self):
        if not isinstance(self.arguments["from_logits"], bool):
            self.fail("from_logits must be true or false")


def _clipped(output):
    return np.clip(output, np.asarray(EPSILON, output.dtype),
                   np.asarray(1 - EPSILON, output.dtype))


@register_operation
class BinaryCrossentropy(_Loss):
    """`-(t log(o) + (1 - t) log(1 - o))` elementwise."""

    def call(self, target, output):
        output = output.astype(float_dtype(output.dtype.name))
        target = np.asarray(target).astype(output.dtype)
        if self.arguments["from_logits"]:
            loss = np.maximum(output, 0) - output * target + np.log1p(np.exp(-np.abs(output)))
        else:
            output = _clipped(output)
            loss = -(target * np.maximum(np.log(output), -100)
                     + (1 - target) * np.maximum(np.log1p(-output), -100))
        return loss.astype(output.dtype)

    def output_spec(self, target, output):
        shape, dtype = spec_of(output)
        if len(spec_of(target)[0]) != len(shape):
            self.fail("target and output must have the same shape")
        return shape, float_dtype(dtype)


class _Categorical(_Loss):
    ARGUMENTS = {"from_logits": False, "axis": -1}

    def check(self):
        super().check()
        self.check_int("axis")

    def log_probabilities(self, output, axis):
        if self.arguments["from_logits"]:
            shifted = output - np.max(output, axis=axis, keepdims=True)
            return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return np.log(_clipped(output / np.sum(output, axis=axis, keepdims=True)))


@register_operation
class CategoricalCrossentropy(_Categorical):
    """`-sum(target * log(p))` over `axis`, `p` the normalized (or softmaxed) output."""

    def call(self, target, output):
        output = output.astype(float_dtype(output.dtype.name))
        axis = normalize_axis(self, self.arguments["axis"], output.ndim)
        log_p = self.log_probabilities(output, axis)
        return (-np.sum(np.asarray(target).astype(output.dtype) * log_p, axis=axis)).astype(
            output.dtype)

    def output_spec(self, target, output):
        shape, dtype = spec_of(output)
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        return tuple(dim for index, dim in enumerate(shape) if index != axis), float_dtype(dtype)


@register_operation
class SparseCategoricalCrossentropy(_Categorical):
    """`-log(p[target])`, `p` the normalized (or softmaxed) output along `axis`."""

    def call(self, target, output):
        output = output.astype(float_dtype(output.dtype.name))
        axis = normalize_axis(self, self.arguments["axis"], output.ndim)
        target = np.asarray(target).astype(np.int64)
        if target.ndim == output.ndim:
            target = np.squeeze(target, axis=axis)
        if np.any((target < 0) | (target >= output.shape[axis])):
            self.fail(f"a target is outside [0, {output.shape[axis]})")
        log_p = np.moveaxis(self.log_probabilities(output, axis), axis, -1)
        picked = np.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
        return (-picked).astype(output.dtype)

    def output_spec(self, target, output):
        shape, dtype = spec_of(output)
        axis = normalize_axis(self, self.arguments["axis"], len(shape))
        return tuple(dim for index, dim in enumerate(shape) if index != axis), float_dtype(dtype)


@register_operation
class PSNR(KerasOp):
    """`20 log10(max_val) - 10 log10(mean((x1 - x2)**2))` over every element (a scalar)."""

    _keras_module = "keras.src.ops.nn"
    ARGUMENTS = {"max_val": REQUIRED}

    def check(self):
        self.check_number("max_val")
        if self.arguments["max_val"] <= 0:
            self.fail("max_val must be positive")

    def call(self, x1, x2):
        dtype = float_dtype(np.asarray(x1).dtype.name)
        error = np.mean(np.square(np.asarray(x1, dtype) - np.asarray(x2, dtype)))
        with np.errstate(divide="ignore"):
            value = 20 * np.log10(np.asarray(self.arguments["max_val"], dtype)) - \
                10 * np.log10(error)
        return np.asarray(value, dtype)

    def output_spec(self, x1, x2):
        if tuple(spec_of(x1)[0]) != tuple(spec_of(x2)[0]):
            self.fail("x1 and x2 must have the same shape")
        return (), float_dtype(spec_of(x1)[1])


