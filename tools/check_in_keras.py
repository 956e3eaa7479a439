"""Evidence that files modelio writes load in real Keras 3 and compute what modelio computes.

Runs in the Keras 3 environment with modelio importable from this checkout:

    KERAS_BACKEND=torch ../kenv/bin/python tools/check_in_keras.py

For every fixture model (written by Keras 3 or by Keras 2), modelio rebuilds it from the fixture's
config, writes it back with `model.to_json()`, and real Keras 3 loads that JSON with
`keras.models.model_from_json`, takes the recorded weights, and predicts on the recorded input.
The result table is written to fixtures/evidence/keras3_loads_modelio_json.txt.
"""

import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from fixture_models import (  # noqa: E402
    CASES,
    fixture_arrays,
    load_fixture_model,
    recorded_inputs,
    recorded_outputs,
    set_recorded_weights,
)


def check(dialect: str, name: str) -> str:
    arrays = fixture_arrays(dialect, name)
    modelio_model = load_fixture_model(dialect, name)
    inputs = recorded_inputs(arrays)
    text = modelio_model.to_json()
    try:
        keras_model = keras.models.model_from_json(text)
    except Exception as exc:  # the evidence records Keras's own refusal
        if "modelio>hard_sigmoid_keras2" in text:
            return ("refused, as intended: it uses Keras 2's hard_sigmoid (0.2x+0.5), "
                    "which Keras 3 has no name for")
        return f"Keras refused: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    set_recorded_weights(keras_model, arrays)  # the same helper works on Keras models
    feed = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    outputs = keras_model.predict(feed, verbose=0)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    worst = max(float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
                for got, want in zip(outputs, recorded_outputs(arrays)))
    return f"loads, max |keras - recorded| = {worst:.2e}"


def main() -> None:
    lines = [f"modelio-written JSON loaded by keras {keras.__version__} "
             f"(backend {keras.backend.backend()})", ""]
    catalog = [(dialect, name) for dialect in ("keras3", "keras2")
               for name in ("small_resnet", "small_mobilenet", "text_rnn", "transformer_block")]
    for dialect, name in CASES + catalog:
        lines.append(f"{dialect:>7} {name:<24} {check(dialect, name)}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = os.path.join(REPO_ROOT, "fixtures", "evidence", "keras3_loads_modelio_json.txt")
    with open(out, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
