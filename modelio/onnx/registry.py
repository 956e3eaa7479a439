"""Which function lowers which layer class to ONNX nodes. Filled by `@lowers(...)` beside each
family's lowerings; looked up along the class's MRO, so a subclass can reuse its parent's."""

from collections.abc import Callable

LOWERINGS: dict[type, Callable] = {}


def lowers(*layer_classes: type):
    """Register `function(graph, node, args, kwargs) -> output names` for `layer_classes`.

    `args`/`kwargs` are the node's call arguments with every tensor replaced by its ONNX name;
    `node` gives the layer (`node.layer`) and the symbolic shapes of inputs and outputs."""

    def decorate(function: Callable) -> Callable:
        for cls in layer_classes:
            LOWERINGS[cls] = function
        return function

    return decorate


def lowering_for(layer) -> Callable | None:
    for cls in type(layer).__mro__:
        if cls in LOWERINGS:
            return LOWERINGS[cls]
    return None
