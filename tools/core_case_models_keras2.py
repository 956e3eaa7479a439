"""The tf-keras 2.21 models of tools/core_case_fixtures.py (its Keras 2 half): LocallyConnected1D/2D
in each of tf-keras's three implementations, ThresholdedReLU, SyncBatchNormalization and
`experimental.EinsumDense`, one at a time and all together (the model saved as `.h5`)."""


def _single(keras, layer, shape, dtype="float32"):
    x = keras.Input(shape, dtype=dtype, name="x")
    return keras.Model(x, layer(x)), [x]


def _inputs(keras, **specs):
    return [keras.Input(shape, dtype=dtype, name=name) for name, (shape, dtype) in specs.items()]



def k2_locally_connected_1d(implementation):
    def build(keras):
        layer = keras.layers.LocallyConnected1D(3, 2, strides=2, activation="relu",
                                                implementation=implementation, name="lc")
        return _single(keras, layer, (7, 3))
    build.__name__ = f"k2_locally_connected_1d_impl{implementation}"
    return build


def k2_locally_connected_2d(implementation, data_format="channels_last"):
    def build(keras):
        layer = keras.layers.LocallyConnected2D(2, (2, 3), strides=(1, 2), data_format=data_format,
                                                implementation=implementation, name="lc")
        shape = (5, 6, 3) if data_format == "channels_last" else (3, 5, 6)
        return _single(keras, layer, shape)
    build.__name__ = (f"k2_locally_connected_2d_impl{implementation}"
                      f"{'_cf' if data_format == 'channels_first' else ''}")
    return build


def k2_locally_connected_no_bias(keras):
    layer = keras.layers.LocallyConnected1D(2, 3, use_bias=False, name="lc")
    return _single(keras, layer, (6, 2))


def k2_thresholded_relu(keras):
    return _single(keras, keras.layers.ThresholdedReLU(theta=0.5, name="trelu"), (3, 4))


def k2_sync_batch_normalization(keras):
    layer = keras.layers.experimental.SyncBatchNormalization(momentum=0.9, epsilon=0.01,
                                                             name="sbn")
    return _single(keras, layer, (3, 4))


def k2_experimental_einsum_dense(keras):
    layer = keras.layers.experimental.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="e",
                                                  activation="relu", name="ed")
    return _single(keras, layer, (3, 4))


def k2_classics(keras):
    """All of them in one model, for the `.h5` file."""
    layers = keras.layers
    (x,) = _inputs(keras, x=((6, 4), "float32"))
    y = layers.LocallyConnected1D(3, 2, implementation=2, name="lc1")(x)
    y = layers.ThresholdedReLU(theta=0.1, name="trelu")(y)
    y = layers.experimental.SyncBatchNormalization(name="sbn")(y)
    y = layers.experimental.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", name="ed")(y)
    y = layers.Reshape((5, 4, 1), name="image")(y)
    y = layers.LocallyConnected2D(2, 2, implementation=3, name="lc2")(y)
    return keras.Model(x, y, name="k2_classics"), [x]


KERAS2_CASES = [
    k2_locally_connected_1d(1), k2_locally_connected_1d(2), k2_locally_connected_1d(3),
    k2_locally_connected_2d(1), k2_locally_connected_2d(2), k2_locally_connected_2d(3),
    k2_locally_connected_2d(1, "channels_first"), k2_locally_connected_2d(2, "channels_first"),
    k2_locally_connected_no_bias, k2_thresholded_relu, k2_sync_batch_normalization,
    k2_experimental_einsum_dense, k2_classics,
]
