"""Record reference outputs of every Keras activation into a small ``.npz`` file.

Runs only inside an environment that has real Keras installed; tests never
import it. Usage (from the repository root)::

    KERAS_BACKEND=torch /work/kenv/bin/python tools/activation_fixtures.py keras3
    TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python tools/activation_fixtures.py keras2

The archive holds ``input`` (float32), one float32 array per activation name
that ``activations.get(name)`` resolves and that accepts a single argument, and
two metadata string arrays: ``_resolved_names`` (every name that resolved) and
``_not_unary`` (resolved names whose one-argument call failed).
"""

import os
import sys
from collections.abc import Callable

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Names that tf-keras's `activations.get` resolves but that are not activations
# (module utilities), or that carry trainable weights (PReLU).
KERAS2_NOT_ACTIVATIONS = {"serialize", "deserialize", "get", "keras_export", "PReLU"}


def make_input() -> np.ndarray:
    """Return a deterministic float32 array of shape (4, 26).

    It covers [-6, 6] densely plus saturating values (+-12, +-30, +-100);
    the last axis is even (for glu) and long enough for softmax/sparsemax.
    """
    dense = np.linspace(-6.0, 6.0, 97)
    extremes = np.array([-100.0, -30.0, -12.0, 12.0, 30.0, 100.0, 0.25])
    values = np.concatenate([dense, extremes])
    # Shuffle so that every row mixes small, large and extreme values.
    order = np.random.default_rng(0).permutation(values.size)
    return values[order].astype(np.float32).reshape(4, 26)


def _keras3_lookup() -> tuple[list[str], Callable[[str], Callable], Callable]:
    """Return candidate names, Keras 3's ``activations.get`` and a numpy converter."""
    import keras
    from keras.src.activations import ALL_OBJECTS_DICT

    # The public module plus the registry `get` actually consults.
    public = [n for n in dir(keras.activations) if not n.startswith("_")]
    return public + list(ALL_OBJECTS_DICT), keras.activations.get, keras.ops.convert_to_numpy


def _keras2_lookup() -> tuple[list[str], Callable[[str], Callable], Callable]:
    """Return candidate names, tf-keras's ``activations.get`` and a numpy converter."""
    import tf_keras
    from tf_keras.src import activations as activations_module
    from tf_keras.src.layers import activation as activation_layers

    # `deserialize` scans these two modules, which hold more names (e.g. silu,
    # relu6) than the public `tf_keras.activations` namespace shows.
    module_names = [n for n in dir(activations_module) if not n.startswith("_")]
    layer_names = [n for n in dir(activation_layers) if n[:1].isupper()]
    names = [n for n in module_names + layer_names if n not in KERAS2_NOT_ACTIVATIONS]
    return names, tf_keras.activations.get, lambda t: np.asarray(t)


def _resolve(get: Callable[[str], Callable], name: str) -> Callable | None:
    """Return ``get(name)`` or None when Keras does not recognise the name."""
    try:
        return get(name)
    except (ValueError, TypeError):
        return None


def write_activation_fixtures(out_path: str, keras2: bool) -> None:
    """Evaluate every resolvable Keras activation on :func:`make_input` and save an npz.

    ``keras2`` selects tf-keras (must be importable as ``tf_keras``) instead of Keras 3.
    """
    names, get, to_numpy = _keras2_lookup() if keras2 else _keras3_lookup()
    x = make_input()
    if keras2:
        import tensorflow as tf

        x_keras = tf.constant(x)
    else:
        x_keras = x
    outputs: dict[str, np.ndarray] = {}
    resolved: list[str] = []
    not_unary: list[str] = []
    for name in sorted(set(names)):
        fn = _resolve(get, name)
        if fn is None:
            print(f"skipped (not resolved): {name}")
            continue
        resolved.append(name)
        try:
            y = np.asarray(to_numpy(fn(x_keras)))
        except (TypeError, ValueError) as exc:  # Keras cannot use it as f(x)
            print(f"skipped (one-argument call failed): {name}: {type(exc).__name__}: {exc}")
            not_unary.append(name)
            continue
        if y.ndim != x.ndim or not np.issubdtype(y.dtype, np.floating):
            print(f"skipped (not an elementwise activation): {name}")
            not_unary.append(name)
            continue
        outputs[name] = y.astype(np.float32)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    np.savez_compressed(
        out_path,
        input=x,
        _resolved_names=np.array(resolved, dtype=str),
        _not_unary=np.array(not_unary, dtype=str),
        **outputs,
    )
    print(f"wrote {len(outputs)} activations to {out_path}")


def main(argv: list[str]) -> None:
    """Command-line entry: ``activation_fixtures.py keras3|keras2``."""
    if len(argv) != 2 or argv[1] not in ("keras3", "keras2"):
        raise SystemExit("usage: activation_fixtures.py keras3|keras2")
    dialect = argv[1]
    out_path = os.path.join(REPO_ROOT, "fixtures", dialect, "activations.npz")
    write_activation_fixtures(out_path, keras2=dialect == "keras2")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main(sys.argv)
