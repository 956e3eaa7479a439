"""Keras 3 operations written back as tf-keras's `TFOpLambda` / `SlicingOpLambda` (the reverse of
modelio/ops/tf_functions.py), for the Keras 2 dialect of modelio/graph/keras2_config.py.

Each form takes one call of an operation as its Keras 3 config holds it (the operation's config,
the node's `args` and `kwargs`, tensors as `__keras_tensor__` entries) and gives the TensorFlow
function of `TF_FUNCTIONS` that computes exactly the same, with its arguments as tf-keras writes
them: `Keras2Call(class_name, function, first, arguments)`. Where TensorFlow would compute
something else (integer tensors, which TensorFlow does not promote as Keras 3 does; rank-1
matmul; Keras 3-only arguments) the form raises UnsupportedError saying why, and the model is
not written in the Keras 2 dialect.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import UnsupportedError
from ..graph.registry import register_keras2_operation_form

__all__ = ["KERAS2_FORMS", "Keras2Call"]


class Keras2Call(NamedTuple):
    """One TFOpLambda call: tf-keras's `class_name`, the TensorFlow `function` (as tf-keras
    records it, without "tf."), the first argument (a tensor or a list of tensors) and the others
    by parameter name."""

    class_name: str
    function: str
    first: object
    arguments: dict


FLOATS = ("float16", "bfloat16", "float32", "float64")
INTEGERS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
COMMUTATIVE = ("Add", "Multiply", "Maximum", "Minimum")


def _is_tensor(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _dtype(tensor) -> str:
    return tensor["config"].get("dtype")


def _float_tensor(value, what: str):
    if not _is_tensor(value):
        raise UnsupportedError(f"{what} is {_short(value)}, not a tensor")
    if _dtype(value) not in FLOATS:
        raise UnsupportedError(f"{what} is a {_dtype(value)} tensor; TensorFlow's function "
                               f"computes other dtypes than Keras 3 for it")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _operand(value, dtype: str, what: str):
    """The second operand of a binary function: a tensor of the first's dtype, a Python number
    TensorFlow converts to that dtype, or a float32/int32 constant array (which tf-keras writes as
    a list and TensorFlow converts back to the same array)."""
    if _is_tensor(value):
        if _dtype(value) != dtype:
            raise UnsupportedError(f"{what} mixes {dtype} and {_dtype(value)} tensors; Keras 3 "
                                   f"promotes them, TensorFlow refuses them")
        return value
    if isinstance(value, bool):
        raise UnsupportedError(f"{what} has a boolean operand")
    if isinstance(value, float) and dtype in FLOATS or isinstance(value, int) and (
            dtype in FLOATS or dtype in INTEGERS):
        return value
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        array_dtype = value["config"].get("dtype")
        if array_dtype == dtype and dtype in ("float32", "int32"):
            return value["config"]["value"]
    raise UnsupportedError(f"{what}: the operand {_short(value)} with a {dtype} tensor has no "
                           f"TensorFlow function computing what Keras 3 does")


def _binary(function: str, floats_only: bool = False):
    def form(class_name, config, args, kwargs):
        _no_keywords(kwargs, class_name)
        if len(args) != 2:
            raise UnsupportedError(f"{class_name} takes two arguments, got {len(args)}")
        x, y = args
        if not _is_tensor(x) and _is_tensor(y) and class_name in COMMUTATIVE:
            x, y = y, x
        if not _is_tensor(x):
            raise UnsupportedError(f"{class_name}'s first argument is {_short(x)}, not a tensor")
        if floats_only:
            _float_tensor(x, f"{class_name}'s first argument")
        elif _dtype(x) not in FLOATS + INTEGERS:
            raise UnsupportedError(f"{class_name} of {_dtype(x)} tensors")
        return Keras2Call("TFOpLambda", function, x, {"y": _operand(y, _dtype(x), class_name)})
    return form


def _unary(function: str, **fixed):
    """A one-tensor function; `fixed` are config keys that must hold the value TensorFlow's
    function always uses (e.g. Elu's alpha=1.0)."""
    def form(class_name, config, args, kwargs):
        _no_keywords(kwargs, class_name)
        _fixed(config, fixed, class_name)
        (x,) = _tensors(args, 1, class_name)
        return Keras2Call("TFOpLambda", function, _float_tensor(x, class_name), {})
    return form


def _with_config(function: str, arguments, **fixed):
    """A one-tensor function whose other arguments come from the operation's config:
    `arguments(config) -> {parameter: value}`."""
    def form(class_name, config, args, kwargs):
        _no_keywords(kwargs, class_name)
        _fixed(config, fixed, class_name)
        (x,) = _tensors(args, 1, class_name)
        return Keras2Call("TFOpLambda", function, _float_tensor(x, class_name), arguments(config))
    return form


def _tensors(args, count: int, class_name: str) -> list:
    if len(args) != count:
        raise UnsupportedError(f"{class_name} takes {count} argument(s), got {len(args)}")
    return list(args)


def _no_keywords(kwargs: dict, class_name: str) -> None:
    if kwargs:
        raise UnsupportedError(f"{class_name} called with {', '.join(kwargs)}")


def _fixed(config: dict, fixed: dict, class_name: str) -> None:
    for key, value in fixed.items():
        if config.get(key, value) != value:
            raise UnsupportedError(f"{class_name} with {key}={config[key]!r} (TensorFlow's "
                                   f"function always uses {key}={value!r})")


def _int_axis(config: dict, class_name: str):
    axis = config.get("axis")
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise UnsupportedError(f"{class_name} over axis {axis!r}; TensorFlow's function takes "
                               f"one axis")
    return axis


def _joined(function: str):
    """concat / stack: the first argument is the list of tensors, all of one float dtype."""
    def form(class_name, config, args, kwargs):
        _no_keywords(kwargs, class_name)
        (values,) = _tensors(args, 1, class_name)
        if not isinstance(values, list) or not values:
            raise UnsupportedError(f"{class_name} of {_short(values)}")
        first = _float_tensor(values[0], class_name)
        for value in values[1:]:
            _operand(_float_tensor(value, class_name), _dtype(first), class_name)
        return Keras2Call("TFOpLambda", function, values, {"axis": _int_axis(config, class_name)})
    return form


def _matmul(class_name, config, args, kwargs):
    _no_keywords(kwargs, class_name)
    a, b = _tensors(args, 2, class_name)
    _float_tensor(a, "Matmul's first argument")
    b = _operand(b, _dtype(a), class_name)
    ranks = [len(a["config"]["shape"]),
             len(b["config"]["shape"]) if _is_tensor(b) else _nesting(b)]
    if min(ranks) < 2:
        raise UnsupportedError("Matmul of a rank-1 operand (tf.linalg.matmul needs rank 2)")
    return Keras2Call("TFOpLambda", "linalg.matmul", a, {"b": b})


def _nesting(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def _cast(class_name, config, args, kwargs):
    _no_keywords(kwargs, class_name)
    (x,) = _tensors(args, 1, class_name)
    if not _is_tensor(x):
        raise UnsupportedError(f"Cast of {_short(x)}")
    return Keras2Call("TFOpLambda", "cast", x, {"dtype": config.get("dtype")})


def _clip(class_name, config, args, kwargs):
    _no_keywords(kwargs, class_name)
    (x,) = _tensors(args, 1, class_name)
    bounds = {"clip_value_min": config.get("x_min"), "clip_value_max": config.get("x_max")}
    if not all(isinstance(bound, (int, float)) and not isinstance(bound, bool)
               for bound in bounds.values()):
        raise UnsupportedError(f"Clip with bounds {bounds!r}")
    return Keras2Call("TFOpLambda", "clip_by_value", _float_tensor(x, class_name), bounds)


def _reduction(function: str):
    def form(class_name, config, args, kwargs):
        _no_keywords(kwargs, class_name)
        for key in ("initial", "dtype"):
            if config.get(key) is not None:
                raise UnsupportedError(f"{class_name} with {key}={config[key]!r}")
        (x,) = _tensors(args, 1, class_name)
        return Keras2Call("TFOpLambda", function, _float_tensor(x, class_name),
                          {"axis": config.get("axis"), "keepdims": bool(config.get("keepdims"))})
    return form


def _get_item(class_name, config, args, kwargs):
    _no_keywords(kwargs, class_name)
    x, key = _tensors(args, 2, class_name)
    if not _is_tensor(x):
        raise UnsupportedError(f"GetItem of {_short(x)}")
    spec = [_slice_item(item) for item in key] if isinstance(key, list) else _slice_item(key)
    return Keras2Call("SlicingOpLambda", "__operators__.getitem", x, {"slice_spec": spec})


def _slice_item(item):
    """A Keras 3 indexing key item -> tf-keras's slice_spec item (slices as start/stop/step
    dicts, `...` as `{"class_name": "__ellipsis__"}`); constant integers and None only."""
    if item is None or isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, dict) and item.get("class_name") == "__ellipsis__":
        return {"class_name": "__ellipsis__"}
    if isinstance(item, dict) and item.get("class_name") == "__slice__":
        bounds = {part: item["config"].get(part) for part in ("start", "stop", "step")}
        if all(bound is None or isinstance(bound, int) and not isinstance(bound, bool)
               for bound in bounds.values()):
            return bounds
    raise UnsupportedError(f"GetItem with the index {_short(item)} (constant integers, slices, "
                           f"None and ... only)")


# Keras 3 operation class -> its TensorFlow function form; every function is one tf_functions.py
# translates back into the same operation.
KERAS2_FORMS = {
    "Add": _binary("__operators__.add"),
    "Subtract": _binary("math.subtract"),
    "Multiply": _binary("math.multiply"),
    "TrueDivide": _binary("math.truediv", floats_only=True),
    "Divide": _binary("math.truediv", floats_only=True),
    "Maximum": _binary("math.maximum"),
    "Minimum": _binary("math.minimum"),
    "Power": _binary("math.pow", floats_only=True),
    "Negative": _unary("math.negative"),
    "Absolute": _unary("math.abs"),
    "Sqrt": _unary("math.sqrt"),
    "Rsqrt": _unary("math.rsqrt"),
    "Square": _unary("math.square"),
    "Exp": _unary("math.exp"),
    "Log": _unary("math.log"),
    "Tanh": _unary("math.tanh"),
    "Sigmoid": _unary("math.sigmoid"),
    "Erf": _unary("math.erf"),
    "Floor": _unary("math.floor"),
    "Ceil": _unary("math.ceil"),
    "Round": _unary("math.round", decimals=0),
    "Sign": _unary("math.sign"),
    "Relu": _unary("nn.relu"),
    "Relu6": _unary("nn.relu6"),
    "Elu": _unary("nn.elu", alpha=1.0),
    "Selu": _unary("nn.selu"),
    "Softplus": _unary("math.softplus"),
    "Silu": _unary("nn.silu"),
    "LeakyRelu": _with_config("nn.leaky_relu", lambda c: {"alpha": c.get("negative_slope", 0.2)}),
    "Gelu": _with_config("nn.gelu", lambda c: {"approximate": bool(c.get("approximate", True))}),
    "Reshape": _with_config("reshape", lambda c: {"shape": c.get("newshape")}),
    "Transpose": _with_config("transpose", lambda c: {"perm": c.get("axes")}),
    "Squeeze": _with_config("squeeze", lambda c: {"axis": c.get("axis")}),
    "Mean": _reduction("math.reduce_mean"),
    "Sum": _reduction("math.reduce_sum"),
    "Max": _reduction("math.reduce_max"),
    "Min": _reduction("math.reduce_min"),
    "Prod": _reduction("math.reduce_prod"),
    "Concatenate": _joined("concat"),
    "Stack": _joined("stack"),
    "Matmul": _matmul,
    "Cast": _cast,
    "Clip": _clip,
    "GetItem": _get_item,
}


def _softmax(class_name, config, args, kwargs):
    form = _with_config("nn.softmax", lambda c: {"axis": _int_axis(c, class_name)})
    return form(class_name, config, args, kwargs)


def _expand_dims(class_name, config, args, kwargs):
    form = _with_config("expand_dims", lambda c: {"axis": _int_axis(c, class_name)})
    return form(class_name, config, args, kwargs)


KERAS2_FORMS.update(Softmax=_softmax, ExpandDims=_expand_dims)

for _class_name, _form in KERAS2_FORMS.items():
    register_keras2_operation_form(_class_name, _form)
