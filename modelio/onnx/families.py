"""Every family module of the ONNX room, imported for the lowerings and converters they
register. A family module is named after its family in modelio/layers/ or modelio/ops/ and
holds both directions: the lowerings of that family's layers and the converters of the ONNX ops
that become them. Export and import both import this module; adding a family adds a line here."""

from . import (  # noqa: F401 - importing a family registers it
    activations,
    applications,
    attention,
    audio,
    augmentation,
    conv,
    core,
    einsum_dense,
    embedding,
    encoding,
    image,
    image_ops,
    kernelized,
    linalg,
    locally_connected,
    lookup,
    merge,
    nn,
    nn_activations,
    nn_ctc,
    nn_functions,
    nn_losses,
    nn_windows,
    normalization,
    numpy,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
)
