"""The README's layer table: every class real Keras exports as a layer, with modelio's status.

The class lists come from fixtures/keras3/layer_classes.json and fixtures/keras2/layer_classes.json
(written by tools/keras_layer_classes.py in real Keras 3.15.1 and tf-keras 2.21); the statuses
come from modelio's registries. tools/layer_table.py writes the table into README.md between the
markers below; tests/test_readme_layer_table.py checks that what the README says is current.
"""

import json
from pathlib import Path

from modelio.graph.registry import LAYER_CLASSES
from modelio.graph.serialization import REFUSED_LAYER_CLASSES

REPO = Path(__file__).resolve().parent.parent
BEGIN = "<!-- layer-table:begin (tools/layer_table.py writes this) -->"
END = "<!-- layer-table:end -->"
TRANSLATED = {"TFOpLambda", "SlicingOpLambda"}


def keras_classes(dialect: str) -> list:
    document = json.loads((REPO / "fixtures" / dialect / "layer_classes.json").read_text())
    return document["classes"]


def status(name: str) -> str:
    """`computed`, `translated ...`, `refused: <why>` or `not yet`."""
    if name in TRANSLATED and name in LAYER_CLASSES:
        return "translated into Keras 3 operations (allowlisted TensorFlow functions)"
    if name in LAYER_CLASSES:
        return "computed"
    if name in REFUSED_LAYER_CLASSES:
        return f"refused: {name} {REFUSED_LAYER_CLASSES[name]}"
    return "not yet (refused as an unknown class)"


def counts(classes: list) -> tuple:
    """(computed or translated, refused by design, not yet) among `classes`."""
    statuses = [status(entry["name"]) for entry in classes]
    done = sum(not text.startswith(("refused", "not yet")) for text in statuses)
    refused = sum(text.startswith("refused") for text in statuses)
    return done, refused, len(statuses) - done - refused


def layer_table() -> str:
    """The markdown the README holds between BEGIN and END."""
    keras3, keras2 = keras_classes("keras3"), keras_classes("keras2")
    lines = [BEGIN, ""]
    done, refused, missing = counts(keras3)
    lines += [f"Keras 3.15.1's `keras.layers` exports {len(keras3)} layer classes: modelio "
              f"computes {done}, refuses {refused} by design and does not have {missing} yet.", "",
              "| `keras.layers` class | modelio |", "|---|---|"]
    lines += [f"| {entry['name']} | {status(entry['name'])} |" for entry in keras3]
    done, refused, missing = counts(keras2)
    lines += ["", f"tf-keras 2.21 classes that Keras 3 does not have ({len(keras2)}): modelio "
                  f"computes or translates {done}, refuses {refused} by design, does not have "
                  f"{missing} yet.", "",
              "| tf-keras class | modelio |", "|---|---|"]
    lines += [f"| {entry['namespace']}{entry['name']} | {status(entry['name'])} |"
              if not entry["namespace"].startswith("(") else
              f"| {entry['name']} | {status(entry['name'])} |" for entry in keras2]
    lines += ["", END]
    return "\n".join(lines)


def readme_table(readme_text: str) -> str:
    """The part of the README between BEGIN and END, markers included."""
    start, stop = readme_text.index(BEGIN), readme_text.index(END) + len(END)
    return readme_text[start:stop]
