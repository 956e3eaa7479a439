"""Write small model files made by real Keras, with the weights Keras had and the outputs it
computed, into fixtures/. Tests read these files with modelio alone and never need Keras.

Run from the repository root, in environments that have Keras (see the README):

    KERAS_BACKEND=torch ../kenv/bin/python tools/make_fixtures.py keras3
    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/make_fixtures.py keras2
    ../kenv/bin/python tools/make_fixtures.py torch     # PyTorch models exported to ONNX
    python3 tools/make_fixtures.py all [--list]          # every generator below, each in its env

`all` runs every fixture generator of tools/ (the per-family case archives, Keras's own files,
the evidence-free records) in the environment each needs, one after another; `--list` prints the
commands instead. KERAS3_PYTHON / KERAS2_PYTHON override ../kenv/bin/python / ../k2env/bin/python.
(The audio cases need scipy on PYTHONPATH; see tools/lookup_case_fixtures.py.)

For each model NAME this writes fixtures/<dialect>/NAME.json (what `model.to_json()` wrote) and
NAME.npz holding `input:<input name>` arrays, `output:<i>` arrays (Keras's predictions, in output
order) and `weight:<layer path>:<i>` arrays (each leaf layer's `get_weights()`, nested models
walked with `/` in the path).
"""

import json
import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))


def import_keras(dialect: str):
    if dialect == "keras2":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tf_keras as keras
    else:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    return keras


# ----- the models ---------------------------------------------------------------------------------

def mlp(keras):
    layers = keras.layers
    x = keras.Input((8,), name="features")
    h = layers.Dense(16, activation="relu", name="hidden")(x)
    h = layers.Dropout(0.3)(h)
    h = layers.Dense(16, activation="gelu")(h)
    y = layers.Dense(4, activation="softmax", name="probabilities")(h)
    return keras.Model(x, y, name="mlp")


def two_inputs_two_outputs(keras):
    layers = keras.layers
    a = keras.Input((6,), name="features")
    b = keras.Input((3,), name="extra")
    x = layers.Dense(8, activation="tanh")(a)
    y = layers.Dense(8)(b)
    joined = layers.Concatenate()([x, y])
    score = layers.Dense(2, name="score")(joined)
    label = layers.Dense(3, activation="softmax", name="label")(layers.Multiply()([x, y]))
    return keras.Model([a, b], [score, label], name="two_in_two_out")


def shared_layers(keras):
    layers = keras.layers
    a = keras.Input((5,), name="left")
    b = keras.Input((5,), name="right")
    shared = layers.Dense(4, activation="selu", name="shared")
    left, right = shared(a), shared(b)
    difference = layers.Subtract()([left, right])
    twice = layers.Dense(4, name="applied_twice")
    chained = twice(twice(difference))          # one layer at two depths of the graph
    cosine = layers.Dot(axes=1, normalize=True)([left, right])
    merged = layers.Concatenate()([chained, cosine, layers.Average()([left, right]),
                                   layers.Maximum()([left, right]), layers.Minimum()([left, right])])
    return keras.Model({"left": a, "right": b}, layers.Dense(3, name="head")(merged), name="shared")


def nested_sequential(keras):
    layers = keras.layers
    if keras.__name__ == "tf_keras":
        inner = keras.Sequential([layers.Dense(6, activation="relu", input_shape=(4,)),
                                  layers.Dense(4)], name="inner")
    else:
        inner = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="relu"),
                                  layers.Dense(4)], name="inner")
    x = keras.Input((4,), name="x")
    once = inner(x)
    twice = inner(once)                          # the nested model is called twice
    y = layers.Dense(2, name="head")(layers.Add()([once, twice]))
    return keras.Model(x, y, name="nested_sequential")


def nested_functional(keras):
    layers = keras.layers
    inner_in = keras.Input((3,), name="inner_in")
    inner_hidden = layers.Dense(5, activation="elu", name="inner_dense")(inner_in)
    inner = keras.Model(inner_in, [inner_hidden, layers.Dense(3, name="inner_back")(inner_hidden)],
                        name="inner_block")
    x = keras.Input((3,), name="x")
    hidden1, back1 = inner(x)
    hidden2, back2 = inner(back1)
    y = layers.Concatenate()([hidden1, hidden2, back2])
    return keras.Model(x, layers.Dense(2, name="head")(y), name="nested_functional")


def core_layers(keras):
    layers = keras.layers
    x = keras.Input((4, 6), name="sequence")
    h = layers.Dense(5)(x)                                       # Dense on a rank-3 input
    h = layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)(h)
    p = layers.Permute((2, 1))(h)
    p = layers.PReLU(shared_axes=[1])(p)
    p = layers.Reshape((-1, 2))(p)
    p = layers.ELU(alpha=0.7)(p)
    p = layers.Softmax(axis=1)(p)
    slope = {"alpha": 0.2} if keras.__name__ == "tf_keras" else {"negative_slope": 0.2}
    f = layers.LeakyReLU(**slope)(layers.Flatten()(p))
    r = layers.RepeatVector(3)(layers.Dense(4)(f))
    r = layers.GaussianNoise(0.1)(r)
    r = layers.SpatialDropout1D(0.2)(r)
    r = layers.GaussianDropout(0.1)(r)
    r = layers.AlphaDropout(0.1)(r)
    r = layers.ActivityRegularization(l1=0.01)(r)
    if hasattr(layers, "Identity"):
        r = layers.Identity()(r)
    softmax_2d = layers.Flatten()(layers.Softmax(axis=[1, 2])(r))
    hard = layers.Activation("hard_sigmoid")(r)
    swish = layers.Activation("swish")(r)
    merged = layers.Concatenate(axis=1)([hard, swish])              # (6, 4)
    dotted = layers.Dot(axes=(2, 2))([merged, r])                  # (6, 3)
    return keras.Model(x, [softmax_2d, dotted], name="core_layers")


def activations_in_dense(keras):
    """One Dense per activation name that this Keras version accepts in a layer config."""
    layers = keras.layers
    names = ["relu", "sigmoid", "tanh", "softmax", "softplus", "softsign", "selu", "elu",
             "exponential", "hard_sigmoid", "linear", "swish", "gelu", "mish", "relu6",
             "leaky_relu", "log_softmax", "silu", "hard_silu", "celu", "glu", "squareplus",
             "soft_shrink", "sparse_plus", "tanh_shrink", "sparse_sigmoid", "hard_tanh",
             "hard_shrink", "log_sigmoid", "sparsemax"]
    x = keras.Input((7,), name="x")
    outputs = []
    for name in names:
        try:
            outputs.append(layers.Dense(4, activation=name, name=f"dense_{name}")(x))
        except (ValueError, TypeError):
            print(f"  {keras.__name__} has no activation {name!r}; skipped")
    return keras.Model(x, layers.Concatenate()(outputs), name="activations_in_dense")


def sequential_mlp(keras):
    layers = keras.layers
    if keras.__name__ == "tf_keras":
        return keras.Sequential([layers.Dense(8, activation="relu", input_shape=(5,)),
                                 layers.Dense(3, activation="softmax")], name="sequential_mlp")
    return keras.Sequential([keras.Input((5,)), layers.Dense(8, activation="relu"),
                             layers.Dense(3, activation="softmax")], name="sequential_mlp")


def layer_called_outside(keras):
    """A layer first called outside the model: the model's config renumbers its nodes."""
    layers = keras.layers
    reused = layers.Dense(3, name="reused")
    reused(keras.Input((3,), name="elsewhere"))
    x = keras.Input((3,), name="x")
    return keras.Model(x, reused(reused(x)), name="layer_called_outside")


def tensor_in_call_kwargs(keras):
    """A tensor passed as a keyword argument of a call (Softmax's mask)."""
    layers = keras.layers
    scores = keras.Input((5,), name="scores")
    keep = keras.Input((5,), name="keep")
    return keras.Model([scores, keep], layers.Softmax()(scores, mask=keep),
                       name="tensor_in_call_kwargs")


def nested_model_as_output(keras):
    """A nested Functional whose second call is the output (Keras 3 writes node index + 1)."""
    layers = keras.layers
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(4, activation="tanh", name="inner_dense")(inner_in),
                        name="inner")
    x = keras.Input((4,), name="x")
    return keras.Model(x, inner(inner(x)), name="nested_model_as_output")


def mask_propagation(keras):
    """Masks from Embedding(mask_zero) and Masking through Dense, Add and Concatenate; the model
    also outputs the masks themselves so their values are recorded."""
    layers = keras.layers
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    features = keras.Input((6, 3), name="features")
    embedded = layers.Embedding(12, 4, mask_zero=True, name="embedding")(tokens)
    masked = layers.Dense(4, name="projection")(layers.Masking(0.0, name="masking")(features))
    added = layers.Add(name="add")([embedded, masked])
    joined = layers.Concatenate(name="join")([embedded, layers.Dense(2, name="side")(features)])
    outputs = [added, joined]
    if keras.__name__ != "tf_keras":  # tf-keras cannot output a mask tensor
        outputs += [added._keras_mask, joined._keras_mask]
    return keras.Model([tokens, features], outputs, name="mask_propagation")


def small_resnet(keras):
    """Residual blocks (identity and 1x1-projection shortcuts) with BatchNormalization."""
    layers = keras.layers

    def block(x, filters, strides):
        shortcut = x
        y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
        if strides != 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=strides)(shortcut)
        return layers.ReLU()(layers.Add()([y, shortcut]))

    x = keras.Input((16, 16, 3), name="image")
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(x)))
    y = layers.MaxPooling2D(2)(block(y, 8, 1))
    y = block(y, 12, 2)
    y = layers.GlobalAveragePooling2D()(y)
    return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="small_resnet")


def small_mobilenet(keras):
    """Depthwise and separable convolutions with ReLU6, strided and padded as MobileNet does."""
    layers = keras.layers
    x = keras.Input((17, 17, 3), name="image")
    y = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
    y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
    y = layers.ReLU(max_value=6.0)(layers.BatchNormalization()(layers.Conv2D(16, 1, use_bias=False)(y)))
    y = layers.ZeroPadding2D(((0, 1), (0, 1)))(y)
    y = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="valid")(y)
    y = layers.Activation("relu6")(y)
    y = layers.SeparableConv2D(16, 3, padding="same", activation="relu")(y)
    y = layers.GlobalAveragePooling2D(keepdims=True)(y)
    y = layers.Dropout(0.2)(y)
    y = layers.Conv2D(4, 1)(y)
    return keras.Model(x, layers.Softmax()(layers.Flatten()(y)), name="small_mobilenet")


def text_rnn(keras):
    """Embedding with mask_zero -> Bidirectional LSTM -> GRU -> Dense: masks matter."""
    layers = keras.layers
    tokens = keras.Input((10,), dtype="int32", name="tokens")
    x = layers.Embedding(20, 8, mask_zero=True)(tokens)
    x = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(x)
    x = layers.GRU(5)(x)
    return keras.Model(tokens, layers.Dense(3, activation="softmax")(x), name="text_rnn")


def transformer_block(keras):
    """A transformer encoder block: self-attention, residuals, LayerNorm, feed-forward."""
    layers = keras.layers
    tokens = keras.Input((8,), dtype="int32", name="tokens")
    x = layers.Embedding(30, 16)(tokens)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attended]))
    ffn = layers.Dense(16)(layers.Dense(32, activation="gelu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ffn]))
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(tokens, layers.Dense(2)(x), name="transformer_block")


CATALOG_MODELS = [small_resnet, small_mobilenet, text_rnn, transformer_block]

MODELS = [mlp, two_inputs_two_outputs, shared_layers, nested_sequential, nested_functional,
          core_layers, activations_in_dense, sequential_mlp, layer_called_outside,
          tensor_in_call_kwargs, nested_model_as_output, mask_propagation]


# ----- recording ---------------------------------------------------------------------------------

def leaf_layer_weights(model, prefix=""):
    """`{"<layer path>:<i>": array}` for every leaf layer with weights, nested models walked."""
    weights = {}
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        if hasattr(layer, "layers") and layer.__class__.__name__ in ("Functional", "Sequential", "Model"):
            weights.update(leaf_layer_weights(layer, prefix=f"{path}/"))
        else:
            for index, value in enumerate(layer.get_weights()):
                weights[f"{path}:{index}"] = np.asarray(value)
    return weights


def randomize_weights(model, rng):
    """Give every weight (biases and PReLU slopes included) non-trivial values."""
    values = []
    for variable, value in zip(model.weights, model.get_weights()):
        random = rng.normal(0.0, 0.5, np.shape(value)).astype(np.float32)
        if "variance" in variable.name:            # BatchNormalization's must stay positive
            random = np.abs(random) + 0.5
        values.append(random)
    model.set_weights(values)


def record(keras, build, out_dir, seed):
    rng = np.random.default_rng(seed)
    model = build(keras)
    randomize_weights(model, rng)
    inputs = {tensor.name.split(":")[0] if keras.__name__ == "tf_keras" else
              tensor._keras_history[0].name: rng.normal(0.0, 1.0, (3, *tensor.shape[1:])).astype(np.float32)
              for tensor in model.inputs}
    if build is tensor_in_call_kwargs:
        inputs["keep"] = (inputs["keep"] > 0).astype(np.float32)
    if build in (text_rnn, transformer_block):
        limit = 20 if build is text_rnn else 30
        inputs["tokens"] = rng.integers(1, limit, (3, tensor_length(model))).astype(np.int32)
        if build is text_rnn:
            inputs["tokens"][0, 6:] = 0                   # padding at the end
            inputs["tokens"][1, 3] = 0                    # and in the middle
    if build is mask_propagation:
        inputs["tokens"] = rng.integers(0, 12, (3, 6)).astype(np.int32)
        inputs["tokens"][:, -2:] = 0                      # padding at the end
        inputs["tokens"][1, 0] = 0
        inputs["features"][:, 1] = 0.0                    # a masked time step
        inputs["features"][2, 4] = 0.0
    feed = list(inputs.values()) if len(inputs) > 1 else next(iter(inputs.values()))
    if isinstance(getattr(model, "_input_structure", None), dict) or build is shared_layers:
        feed = inputs
    outputs = model.predict(feed, verbose=0)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    arrays = {f"input:{name}": value for name, value in inputs.items()}
    arrays.update({f"output:{i}": np.asarray(value) for i, value in enumerate(outputs)})
    arrays.update({f"weight:{key}": value for key, value in leaf_layer_weights(model).items()})
    name = build.__name__
    np.savez(os.path.join(out_dir, f"{name}.npz"), **arrays)
    document = json.loads(model.to_json())
    with open(os.path.join(out_dir, f"{name}.json"), "w") as handle:
        json.dump(document, handle, indent=1)
    print(f"  {name}: {len(model.layers)} layers, {len(outputs)} output(s)")


def tensor_length(model) -> int:
    return int(model.inputs[0].shape[1])


# (environment, script and arguments) of every fixture generator; "keras3" runs with the torch
# backend in ../kenv, "keras3-tf" with the TensorFlow backend in ../k2env, "tf-keras" in ../k2env.
GENERATORS = [
    ("keras3", "make_fixtures.py keras3"), ("tf-keras", "make_fixtures.py keras2"),
    ("keras3", "make_fixtures.py torch"),
    ("keras3", "keras3_file_fixtures.py"), ("tf-keras", "keras3_file_fixtures.py --tf-keras"),
    ("tf-keras", "legacy_h5_fixtures.py keras2"), ("keras3", "legacy_h5_fixtures.py keras3"),
    ("keras3", "layer_case_fixtures.py"), ("keras3", "attention_case_fixtures.py"),
    ("keras3", "conv_case_fixtures.py"), ("tf-keras", "conv_case_fixtures.py --keras2"),
    ("keras3", "image_case_fixtures.py"), ("keras3", "normalization_case_fixtures.py"),
    ("keras3", "recurrent_case_fixtures.py keras3"),
    ("tf-keras", "recurrent_case_fixtures.py keras2"),
    ("keras3", "rnn_cell_case_fixtures.py keras3"), ("tf-keras", "rnn_cell_case_fixtures.py keras2"),
    ("keras3", "core_case_fixtures.py"), ("keras3", "augmentation_case_fixtures.py"),
    ("keras3-tf", "resize_case_fixtures.py"),
    ("keras3", "lookup_case_fixtures.py encoding"), ("keras3", "lookup_case_fixtures.py audio"),
    ("keras3-tf", "lookup_case_fixtures.py lookup"), ("keras3-tf", "lookup_file_fixtures.py"),
    ("keras3", "ops_case_fixtures.py"), ("keras3-tf", "ops_case_fixtures.py --tf-outputs"),
    ("keras3", "ops_math_core_fixtures.py"),
    ("keras3", "ops_numpy_more_fixtures.py"),
    ("keras3-tf", "ops_numpy_more_fixtures.py --tf-outputs"),
    ("keras3", "ops_image_more_fixtures.py"),
    ("keras3-tf", "ops_image_more_fixtures.py --tf-outputs"),
    ("keras3", "ops_spectral_fixtures.py"), ("keras3-tf", "ops_spectral_fixtures.py --tf-outputs"),
    ("keras3", "ops_nn_more_fixtures.py"), ("keras3-tf", "ops_nn_more_fixtures.py --tf-outputs"),
    ("keras3", "quantized_case_fixtures.py"),
    ("keras3", "onnx_quantized_fixtures.py"),  # needs onnx and onnxruntime only
    ("keras3", "torch_onnx_dynamic_fixtures.py"),  # torch.onnx.export with dynamic_axes
    ("keras3", "dtype_policy_fixtures.py keras3"), ("tf-keras", "dtype_policy_fixtures.py tf-keras"),
    ("keras3", "save_variant_fixtures.py"), ("tf-keras", "save_variant_fixtures.py --tf-keras"),
    ("tf-keras", "tf_op_lambda_fixtures.py"), ("tf-keras", "keras2_preprocessing_fixtures.py"),
    ("tf-keras", "dynamic_lookup_fixtures.py"),
    ("keras3", "keras_layer_classes.py"), ("tf-keras", "keras_layer_classes.py --tf-keras"),
]


def generator_commands() -> list:
    """(environment variables, argv) for each of GENERATORS."""
    keras3 = os.environ.get("KERAS3_PYTHON", os.path.join(REPO_ROOT, "..", "kenv", "bin", "python"))
    keras2 = os.environ.get("KERAS2_PYTHON", os.path.join(REPO_ROOT, "..", "k2env", "bin", "python"))
    settings = {"keras3": (keras3, {"KERAS_BACKEND": "torch"}),
                "keras3-tf": (keras2, {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}),
                "tf-keras": (keras2, {"TF_CPP_MIN_LOG_LEVEL": "3"})}
    commands = []
    for environment, line in GENERATORS:
        python, variables = settings[environment]
        script, *arguments = line.split()
        commands.append((variables, [python, os.path.join("tools", script), *arguments]))
    return commands


def run_all_generators(list_only: bool) -> None:
    import subprocess

    for variables, argv in generator_commands():
        shown = " ".join([*(f"{key}={value}" for key, value in variables.items()), *argv])
        print(shown, flush=True)
        if not list_only:
            subprocess.run(argv, cwd=REPO_ROOT, env={**os.environ, **variables}, check=True)


def main(argv):
    if len(argv) > 1 and argv[1] == "all":
        run_all_generators(list_only="--list" in argv)
        return
    dialect = argv[1] if len(argv) > 1 else "keras3"
    if dialect == "torch":  # fixtures/torch_onnx: torch.onnx.export of an MLP, a CNN, an RNN
        from torch_onnx_fixtures import main as make_torch_fixtures
        make_torch_fixtures()
        return
    if dialect not in ("keras2", "keras3"):
        sys.exit("usage: make_fixtures.py keras3|keras2|torch|all [--list]")
    keras = import_keras(dialect)
    keras.utils.set_random_seed(0)
    out_dir = os.path.join(REPO_ROOT, "fixtures", dialect)
    os.makedirs(out_dir, exist_ok=True)
    print(f"{keras.__name__} {keras.__version__} -> {out_dir}")
    for seed, build in enumerate(MODELS):
        record(keras, build, out_dir, seed)
    for seed, build in enumerate(CATALOG_MODELS, start=100):
        record(keras, build, out_dir, seed)
    from activation_fixtures import write_activation_fixtures
    write_activation_fixtures(os.path.join(out_dir, "activations.npz"), keras2=dialect == "keras2")
    with open(os.path.join(out_dir, "VERSION"), "w") as handle:
        handle.write(f"{keras.__name__} {keras.__version__}\n")


if __name__ == "__main__":
    main(sys.argv)
