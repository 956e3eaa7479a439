"""ONNX lowerings of the augmentation family (modelio/layers/augmentation/).

At inference most augmentation layers change no value: they lower to a pass-through (an
Identity, or the Cast to the dtype the graph declares). AutoContrast computes and lowers to
ReduceMin/ReduceMax arithmetic. CLAHE (per-tile histograms) has no lowering yet: exporting it
raises UnsupportedError naming the layer. A Pipeline lowers its layers one after the other.
"""

from types import SimpleNamespace

from onnx import TensorProto

from ..errors import UnsupportedError
from ..layers import augmentation
from .export_support import as_declared, reduce
from .registry import lowering_for, lowers, lowers_float32

_PASS_THROUGH = tuple(
    getattr(augmentation, name) for name in augmentation.__all__
    if name not in ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "Pipeline",
                    "RandomCrop"))


@lowers(*_PASS_THROUGH)
def pass_through(graph, node, args, kwargs):
    """The images as they come (an Identity), or cast to the declared dtype (uint8 images
    through a layer whose output Keras declares float32)."""
    y = as_declared(graph, node, args[0])
    return y if y != args[0] else graph.node("Identity", [y], node.layer.name)


@lowers(augmentation.RandomCrop)
def random_crop(graph, node, args, kwargs):
    """A pass-through when the crop size is the image size. Otherwise refused: Keras's inference
    returns the full images while the graph declares the crop size, and an ONNX graph cannot
    declare one shape and carry another."""
    declared, given = node.outputs[0].shape, node.input_tensors[0].shape
    if tuple(declared) != tuple(given):
        raise UnsupportedError(f"layer '{node.layer.name}' (RandomCrop): cannot be exported to ONNX: "
                               f"at inference Keras passes the {tuple(given)} images through "
                               f"uncropped while the model declares {tuple(declared)}")
    return pass_through(graph, node, args, kwargs)


@lowers_float32(augmentation.AutoContrast)
def auto_contrast(graph, node, args, kwargs):
    """Per image and channel: (x - min) * 255 / (max - min) over axes 1 and 2, clipped to
    [0, 255], in the layer's value range; a constant channel (NaN on the way) stays as it was."""
    layer, hint = node.layer, node.layer.name
    if len(node.input_tensors[0].shape) != 4:
        raise UnsupportedError(f"layer '{hint}': exporting AutoContrast needs batched images of "
                               f"rank 4, got shape {tuple(node.input_tensors[0].shape)}")
    x = args[0]
    if node.input_tensors[0].dtype != "float32":
        x = graph.node("Cast", [x], hint, to=TensorProto.FLOAT)
    low_value, high_value = (float(value) for value in layer.value_range)

    def constant(value, name):
        return graph.constant(value, f"{hint}/{name}", "float32")

    def to_range(y, source, target):
        if source == target:
            return y
        y = graph.node("Div", [graph.node("Sub", [y, constant(source[0], "from_low")], hint),
                               constant(source[1] - source[0], "from_width")], hint)
        return graph.node("Add", [graph.node("Mul", [y, constant(target[1] - target[0],
                                                                   "to_width")], hint),
                                  constant(target[0], "to_low")], hint)

    work = to_range(x, (low_value, high_value), (0.0, 255.0))
    low = reduce(graph, "ReduceMin", work, [1, 2], True, hint)
    high = reduce(graph, "ReduceMax", work, [1, 2], True, hint)
    scale = graph.node("Div", [constant(255.0, "full"), graph.node("Sub", [high, low], hint)],
                       hint)
    offset = graph.node("Mul", [graph.node("Neg", [low], hint), scale], hint)
    stretched = graph.node("Add", [graph.node("Mul", [work, scale], hint), offset], hint)
    undefined = graph.node("IsNaN", [stretched], hint)
    clipped = graph.node("Clip", [stretched, constant(0.0, "zero"), constant(255.0, "top")], hint)
    result = to_range(clipped, (0.0, 255.0), (low_value, high_value))
    return graph.node("Where", [undefined, x, result], hint)


@lowers(augmentation.ContrastLimitedAdaptiveHistogramEqualization)
def clahe(graph, node, args, kwargs):
    raise UnsupportedError(f"layer '{node.layer.name}' (ContrastLimitedAdaptiveHistogramEqualization): "
                           f"exporting CLAHE to ONNX is not supported yet (per-tile clipped "
                           f"histograms and table lookups have no lowering)")


@lowers(augmentation.Pipeline)
def pipeline(graph, node, args, kwargs):
    """Each layer of the pipeline lowered in turn, as if it were its own node."""
    x = args[0]
    for layer, spec_in, spec_out in node.layer.stages(node.input_tensors[0]):
        lower = lowering_for(layer)
        if lower is None:
            raise UnsupportedError(f"layer '{node.layer.name}' (Pipeline): its layer "
                                   f"'{layer.name}' ({type(layer).__name__}) has no ONNX lowering")
        stage = SimpleNamespace(layer=layer, input_tensors=[spec_in], outputs=[spec_out],
                                call_args=(spec_in,), call_kwargs={})
        x = lower(graph, stage, [x], {})
    return x if x != args[0] else graph.node("Identity", [x], node.layer.name)
