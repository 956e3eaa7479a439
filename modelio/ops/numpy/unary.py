"""One-operand elementwise operations of `keras.ops.numpy` (and `keras.ops.math`'s `erf`,
`erfc`, `rsqrt`, `keras.ops.core`'s `stop_gradient`), table-driven: each is its own registered
class named as Keras serializes it, with Keras's config (`name` only; `Round` adds `decimals`,
`NanToNum` `nan`, `posinf`, `neginf`)."""

import numpy as np

from ...graph.registry import register_operation
from ...kernels.special import erf
from ..base import KerasOp, float_dtype, spec_of

__all__ = ["UNARY_OPERATIONS", "NanToNum", "Round"]


def _cbrt(x):
    return np.cbrt(x)


def _erfc(x):
    return 1 - erf(x)


def _rsqrt(x):
    with np.errstate(divide="ignore"):
        return 1 / np.sqrt(x)


# class name -> (keras module family, numpy function, result: "same" | "float" | "bool")
_TABLE = {
    "Abs": ("numpy", np.abs, "same"), "Absolute": ("numpy", np.abs, "same"),
    "Fabs": ("numpy", np.fabs, "float"), "Negative": ("numpy", np.negative, "same"),
    "Square": ("numpy", np.square, "same"), "Sign": ("numpy", np.sign, "same"),
    "Copy": ("numpy", np.copy, "same"), "Trunc": ("numpy", np.trunc, "same"),
    "Floor": ("numpy", np.floor, "float"), "Ceil": ("numpy", np.ceil, "float"),
    "Exp": ("numpy", np.exp, "float"), "Exp2": ("numpy", np.exp2, "float"),
    "Expm1": ("numpy", np.expm1, "float"), "Log": ("numpy", np.log, "float"),
    "Log2": ("numpy", np.log2, "float"), "Log10": ("numpy", np.log10, "float"),
    "Log1p": ("numpy", np.log1p, "float"), "Sqrt": ("numpy", np.sqrt, "float"),
    "Reciprocal": ("numpy", np.reciprocal, "float"), "Cbrt": ("numpy", _cbrt, "float"),
    "Sin": ("numpy", np.sin, "float"), "Cos": ("numpy", np.cos, "float"),
    "Tan": ("numpy", np.tan, "float"), "Sinh": ("numpy", np.sinh, "float"),
    "Cosh": ("numpy", np.cosh, "float"), "Tanh": ("numpy", np.tanh, "float"),
    "Arcsin": ("numpy", np.arcsin, "float"), "Arccos": ("numpy", np.arccos, "float"),
    "Arctan": ("numpy", np.arctan, "float"), "Arcsinh": ("numpy", np.arcsinh, "float"),
    "Arccosh": ("numpy", np.arccosh, "float"), "Arctanh": ("numpy", np.arctanh, "float"),
    "Deg2rad": ("numpy", np.deg2rad, "float"), "Rad2deg": ("numpy", np.rad2deg, "float"),
    "Signbit": ("numpy", np.signbit, "bool"), "Isnan": ("numpy", np.isnan, "bool"),
    "Isinf": ("numpy", np.isinf, "bool"), "Isfinite": ("numpy", np.isfinite, "bool"),
    "Erf": ("math", erf, "float"), "Erfc": ("math", _erfc, "float"),
    "Rsqrt": ("math", _rsqrt, "float"), "StopGradient": ("core", np.asarray, "same"),
}


class _Unary(KerasOp):
    function = None
    result = "same"

    def call(self, x):
        dtype = self.output_spec(x)[1]
        with np.errstate(all="ignore"):
            value = type(self).function(x if x.dtype.kind == "f" or self.result != "float"
                                        else x.astype(dtype))
        return np.asarray(value).astype(dtype, copy=False)

    def output_spec(self, x):
        shape, dtype = spec_of(x)
        if self.result == "bool":
            return shape, "bool"
        return shape, float_dtype(dtype) if self.result == "float" else dtype


def _make(name: str, family: str, function, result: str) -> type:
    cls = type(name, (_Unary,), {
        "function": staticmethod(function), "result": result,
        "_keras_module": f"keras.src.ops.{family}",
        "__doc__": f"`keras.ops.{family}` elementwise `{name}` of one tensor.",
        "__module__": __name__})
    return register_operation(cls)


UNARY_OPERATIONS = {name: _make(name, *entry) for name, entry in _TABLE.items()}
globals().update(UNARY_OPERATIONS)
__all__ += list(UNARY_OPERATIONS)


@register_operation
class Round(_Unary):
    """Rounds half to even, to `decimals` decimals."""

    ARGUMENTS = {"decimals": 0}

    def check(self):
        self.check_int("decimals")

    def call(self, x):
        return np.round(x, self.arguments["decimals"])


@register_operation
class NanToNum(_Unary):
    """NaN becomes `nan`, +inf `posinf`, -inf `neginf` (None: the dtype's largest / lowest)."""

    ARGUMENTS = {"nan": 0.0, "posinf": None, "neginf": None}

    def check(self):
        self.check_number("nan")
        self.check_number("posinf", allow_none=True)
        self.check_number("neginf", allow_none=True)

    def replacements(self, dtype) -> tuple:
        """(nan, posinf, neginf) as values of `dtype`."""
        info = np.finfo(dtype) if np.dtype(dtype).kind == "f" else None
        posinf, neginf = self.arguments["posinf"], self.arguments["neginf"]
        return (self.arguments["nan"], info.max if posinf is None and info else posinf,
                info.min if neginf is None and info else neginf)

    def call(self, x):
        if x.dtype.kind != "f":
            return x
        nan, posinf, neginf = self.replacements(x.dtype)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
