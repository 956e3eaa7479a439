"""Record the layer classes real Keras exports, for the README's layer table and its test.

Run from the repository root, once in each Keras environment:

    KERAS_BACKEND=torch ../kenv/bin/python tools/keras_layer_classes.py            # Keras 3
    TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python tools/keras_layer_classes.py --tf-keras

Keras 3 writes fixtures/keras3/layer_classes.json: every class under `keras.layers` that is a
`keras.layers.Layer` subclass, with the module that defines it. tf-keras writes
fixtures/keras2/layer_classes.json: the classes under `tf_keras.layers`,
`tf_keras.layers.experimental` and `tf_keras.layers.experimental.preprocessing` that Keras 3's
`keras.layers` does not have (the Keras 2 classics a tf-keras file may name), plus the
`TFOpLambda`/`SlicingOpLambda` classes tf-keras records for TensorFlow functions.
"""

import inspect
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layer_classes(namespace, base) -> dict:
    """{public name: defining module} of the Layer subclasses a namespace exports."""
    found = {}
    for name in dir(namespace):
        value = getattr(namespace, name)
        if inspect.isclass(value) and issubclass(value, base) and not name.startswith("_"):
            found[name] = value.__module__
    return found


def keras3_document() -> dict:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    classes = layer_classes(keras.layers, keras.layers.Layer)
    return {"keras_version": keras.__version__, "namespace": "keras.layers",
            "classes": [{"name": name, "module": module} for name, module in sorted(classes.items())]}


def tf_keras_document(keras3_names: set) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras
    from tf_keras.src.layers.core import tf_op_layer

    base = tf_keras.layers.Layer
    classes = {}
    for namespace, prefix in ((tf_keras.layers, ""),
                              (tf_keras.layers.experimental, "experimental."),
                              (tf_keras.layers.experimental.preprocessing,
                               "experimental.preprocessing.")):
        for name, module in layer_classes(namespace, base).items():
            if name not in keras3_names and name not in classes:
                classes[name] = {"name": name, "module": module, "namespace": prefix}
    for cls in (tf_op_layer.TFOpLambda, tf_op_layer.SlicingOpLambda):
        classes[cls.__name__] = {"name": cls.__name__, "module": cls.__module__,
                                 "namespace": "(recorded for TensorFlow functions)"}
    return {"tf_keras_version": tf_keras.__version__,
            "classes": [classes[name] for name in sorted(classes)]}


def write(document: dict, relative_path: str) -> None:
    path = os.path.join(REPO_ROOT, relative_path)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1, sort_keys=True)
        file.write("\n")
    print(f"wrote {relative_path}: {len(document['classes'])} classes")


def main(argv: list) -> None:
    if "--tf-keras" in argv:
        with open(os.path.join(REPO_ROOT, "fixtures", "keras3", "layer_classes.json"),
                  encoding="utf-8") as file:
            keras3_names = {entry["name"] for entry in json.load(file)["classes"]}
        write(tf_keras_document(keras3_names), os.path.join("fixtures", "keras2", "layer_classes.json"))
    else:
        write(keras3_document(), os.path.join("fixtures", "keras3", "layer_classes.json"))


if __name__ == "__main__":
    main(sys.argv[1:])
