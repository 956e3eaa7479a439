"""Write legacy `.h5` files made by real Keras, with the inputs and the outputs Keras computed.

Run from the repository root, in the environments that have Keras:

    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/legacy_h5_fixtures.py keras2
    KERAS_BACKEND=torch ../kenv/bin/python tools/legacy_h5_fixtures.py keras3

keras2 (tf-keras) writes fixtures/keras2_files/:
    NAME.h5               `model.save("NAME.h5")` for every model of tools/make_fixtures.py plus
                          `nested_frozen` (a nested model with a frozen inner layer, BatchNorm
                          statistics, and a wholly frozen nested Sequential)
    NAME.h5.npz           `input:<name>` arrays and `output:<i>` arrays Keras predicted
    weights_only_NAME.h5  `model.save_weights("weights_only_NAME.h5")` for a few models
keras3 (Keras 3) writes fixtures/keras3_h5/NAME.h5 and NAME.h5.npz for a few models.

Models, seeds, weights and inputs come from tools/make_fixtures.py (its `record`), so the outputs
equal those in fixtures/<dialect>/NAME.npz; the script checks that and prints the difference.
Each file is also loaded back with the same Keras, which must reproduce the outputs.
"""

import os
import sys
import tempfile

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

import make_fixtures as mf  # noqa: E402


def nested_frozen(keras):
    """A nested Functional with BatchNormalization and a frozen Dense (legacy files list all of
    its trainable weights first, then the BN statistics and the frozen kernel), followed by a
    nested Sequential frozen as a whole, and an outer BatchNormalization."""
    layers = keras.layers
    inner_in = keras.Input((4,), name="inner_in")
    h = layers.Dense(6, activation="tanh", name="inner_first")(inner_in)
    h = layers.BatchNormalization(name="inner_bn")(h)
    frozen = layers.Dense(5, activation="relu", name="inner_frozen")
    h = layers.Dense(3, name="inner_last")(frozen(h))
    inner = keras.Model(inner_in, h, name="inner_block")
    frozen.trainable = False
    if keras.__name__ == "tf_keras":
        first = [layers.Dense(3, name="locked_dense", input_shape=(3,))]
    else:
        first = [keras.Input((3,)), layers.Dense(3, name="locked_dense")]
    locked = keras.Sequential(first + [layers.BatchNormalization(name="locked_bn")],
                              name="locked_block")
    locked.trainable = False
    x = keras.Input((4,), name="x")
    y = layers.BatchNormalization(name="outer_bn")(locked(inner(x)))
    return keras.Model(x, layers.Dense(2, name="head")(y), name="nested_frozen")


# (builder, seed): the seeds tools/make_fixtures.py uses, so the recorded outputs agree.
SEEDS = [(build, seed) for seed, build in enumerate(mf.MODELS)] + \
        [(build, seed) for seed, build in enumerate(mf.CATALOG_MODELS, start=100)] + \
        [(nested_frozen, 200)]
KERAS2_WEIGHTS_ONLY = ["nested_frozen", "small_resnet", "text_rnn"]
KERAS3_MODELS = ["nested_frozen", "text_rnn", "small_mobilenet", "sequential_mlp"]
# Compiled and trained one step with learning rate 0 (weights unchanged) so the file also holds
# a training_config and optimizer_weights, which readers must ignore.
COMPILED = ["sequential_mlp"]


def record_model(keras, build, seed, out_dir):
    """Run make_fixtures.record (same seed, weights and inputs) and keep the model it built."""
    captured = {}
    original = mf.randomize_weights

    def capture(model, rng):
        captured["model"] = model
        original(model, rng)

    mf.randomize_weights = capture
    try:
        with tempfile.TemporaryDirectory() as scratch:
            mf.record(keras, build, scratch, seed)
            with np.load(os.path.join(scratch, f"{build.__name__}.npz")) as archive:
                arrays = {key: archive[key] for key in archive.files
                          if key.startswith(("input:", "output:"))}
    finally:
        mf.randomize_weights = original
    return captured["model"], arrays


def feed_for(model, arrays):
    inputs = {key[len("input:"):]: value for key, value in arrays.items()
              if key.startswith("input:")}
    if len(inputs) == 1:
        return next(iter(inputs.values()))
    if isinstance(getattr(model, "_input_structure", None), dict) or \
            model.name == "shared":
        return inputs
    return list(inputs.values())


def outputs_of(model, feed):
    outputs = model.predict(feed, verbose=0)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return outputs if isinstance(outputs, (list, tuple)) else [outputs]


def max_difference(got, arrays) -> float:
    want = [arrays[f"output:{i}"] for i in range(len(got))]
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
               for a, b in zip(got, want))


def compile_with_zero_step(keras, model, arrays):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0), loss="mse")
    feed = feed_for(model, arrays)
    targets = [np.zeros_like(arrays[f"output:{i}"])
               for i in range(sum(key.startswith("output:") for key in arrays))]
    model.train_on_batch(feed, targets[0] if len(targets) == 1 else targets)


def compare_with_existing(dialect, name, arrays) -> str:
    existing = os.path.join(REPO_ROOT, "fixtures", dialect, f"{name}.npz")
    if not os.path.exists(existing):
        return "new model"
    with np.load(existing) as archive:
        recorded = [archive[f"output:{i}"] for i in range(
            sum(key.startswith("output:") for key in archive.files))]
    ours = [value for key, value in arrays.items() if key.startswith("input:")]
    theirs = list(_inputs(existing).values())  # names can differ (automatic names): by position
    same_inputs = len(ours) == len(theirs) and all(
        np.array_equal(a, b) for a, b in zip(ours, theirs))
    return (f"vs fixtures/{dialect}/{name}.npz: inputs {'equal' if same_inputs else 'DIFFER'}, "
            f"max output difference {max_difference(recorded, arrays):.1e}")


def _inputs(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files if key.startswith("input:")}


def main(argv):
    dialect = argv[1] if len(argv) > 1 else ""
    if dialect not in ("keras2", "keras3"):
        sys.exit("usage: legacy_h5_fixtures.py keras2|keras3")
    keras = mf.import_keras(dialect)
    keras.utils.set_random_seed(0)
    out_dir = os.path.join(REPO_ROOT, "fixtures",
                           "keras2_files" if dialect == "keras2" else "keras3_h5")
    os.makedirs(out_dir, exist_ok=True)
    wanted = None if dialect == "keras2" else KERAS3_MODELS
    load = (keras.models.load_model if dialect == "keras2" else keras.saving.load_model)
    print(f"{keras.__name__} {keras.__version__} -> {out_dir}")
    for build, seed in SEEDS:
        name = build.__name__
        if wanted is not None and name not in wanted:
            continue
        model, arrays = record_model(keras, build, seed, out_dir)
        if name in COMPILED:
            compile_with_zero_step(keras, model, arrays)
        path = os.path.join(out_dir, f"{name}.h5")
        model.save(path)
        np.savez(os.path.join(out_dir, f"{name}.h5.npz"), **arrays)
        notes = [compare_with_existing(dialect, name, arrays)]
        try:
            reloaded = load(path, compile=False)
            notes.append(f"reloaded by {keras.__name__}: max difference "
                         f"{max_difference(outputs_of(reloaded, feed_for(reloaded, arrays)), arrays):.1e}")
        except Exception as exc:  # recorded: Keras cannot always read its own file
            notes.append(f"{keras.__name__} cannot reload its own file: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:100]}")
        if dialect == "keras2" and name in KERAS2_WEIGHTS_ONLY:
            model.save_weights(os.path.join(out_dir, f"weights_only_{name}.h5"))
            notes.append("+ weights_only")
        print(f"  {name}: " + "; ".join(notes))
    with open(os.path.join(out_dir, "VERSION"), "w") as handle:
        handle.write(f"{keras.__name__} {keras.__version__}\n")


if __name__ == "__main__":
    main(sys.argv)
