"""The user's side of fixtures/save_variants/custom_objects.keras and tf_keras_custom.h5: modelio
definitions of the custom objects those files name (the Keras definitions are in
tools/save_variant_fixtures.py), as a user would write them. `modelio --custom-objects
custom_fixture_objects:CUSTOM_OBJECTS` names this module's mapping.

Importing this module registers an ONNX lowering for `MyScale` (a user's layer exports when the
user gives it a lowering; without one, export refuses it by class name)."""

import modelio
from modelio import layers
from modelio.onnx.registry import lowers


class MyScale(modelio.Layer):
    """`inputs * scale * factor`, one `scale` weight per feature (Keras: `MyScale`)."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (input_shape[-1],))

    def call(self, inputs):
        return inputs * self.value_of(self.scale) * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@lowers(MyScale)
def lower_my_scale(graph, node, args, kwargs):
    layer = node.layer
    scaled = graph.node("Mul", [args[0], graph.weight(layer.scale)], layer.name)
    factor = graph.constant(float(layer.factor), f"{layer.name}/factor", "float32")
    return graph.node("Mul", [scaled, factor], layer.name)


def scaled_swish(x):
    """Keras: `1.5 * x * sigmoid(x)`, built from modelio layers."""
    return layers.Rescaling(1.5)(layers.Multiply()([x, layers.Activation("sigmoid")(x)]))


def half(x):
    """tf-keras's `lambda t: t * 0.5`."""
    return layers.Rescaling(0.5)(x)


# Not custom objects: what `--custom-objects module:VARIANTS_COUNT` is refused for.
VARIANTS_COUNT = 4

CUSTOM_OBJECTS = {
    "scaled_swish": scaled_swish,
    "leaky_tenth": ("leaky_relu", {"negative_slope": 0.1}),
    "MyScale": MyScale,
    "<lambda>": half,
}
