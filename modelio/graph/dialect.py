"""Which Keras version's meaning applies while a config is being deserialized.

Keras 2 and Keras 3 give a few names different meanings (`hard_sigmoid` is 0.2x+0.5 in Keras 2,
x/6+0.5 in Keras 3). A config that came from Keras 2 keeps Keras 2's meaning, so an old model
computes what it computed when it was trained. Layers read this flag when they resolve names.
"""

import contextlib
import contextvars

_keras2_semantics = contextvars.ContextVar("keras2_semantics", default=False)


def keras2_semantics_active() -> bool:
    return _keras2_semantics.get()


@contextlib.contextmanager
def keras2_semantics(active: bool = True):
    """Within this block, layers resolve names (activations, defaults) with Keras 2 meanings."""
    token = _keras2_semantics.set(active)
    try:
        yield
    finally:
        _keras2_semantics.reset(token)


_writing_keras2 = contextvars.ContextVar("writing_keras2", default=False)


def writing_keras2_active() -> bool:
    """Whether the config being written is for tf-keras (the Keras 2 dialect)."""
    return _writing_keras2.get()


@contextlib.contextmanager
def writing_keras2(active: bool = True):
    """Within this block, layers write configs that tf-keras reads (see keras2_config.py): a
    layer whose Keras 3 config would compute something else may still have a Keras 2 one."""
    token = _writing_keras2.set(active)
    try:
        yield
    finally:
        _writing_keras2.reset(token)
