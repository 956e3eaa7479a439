"""Evidence that the legacy `.h5` files modelio writes load in real Keras and compute what Keras
computed when the fixtures were recorded.

Run from the repository root with the Python that runs modelio's tests:

    python3 tools/check_legacy_h5_in_keras.py

It has modelio write, into a scratch folder,
  * a full-model `.h5` (`save_h5_model`) for every fixture model: the JSON fixtures of
    fixtures/keras3 and fixtures/keras2 (with their recorded weights) and the `.h5` files real Keras
    wrote in fixtures/keras2_files and fixtures/keras3_h5 (read by modelio first);
  * a weights-only `.h5` (`save_h5_weights`, tf-keras's layout) for the JSON fixtures;
then runs itself inside the Keras 3.15.1 environment (`keras.saving.load_model`, and
`model_from_json` + `load_weights` for weights files) and the tf-keras 2.21 environment
(`tf_keras.models.load_model`, `model_from_json` + `load_weights`), which predict on the recorded
inputs. Refusals are recorded verbatim. The table goes to
fixtures/evidence/keras_loads_modelio_h5.txt.

The Keras interpreters default to ../kenv/bin/python and ../k2env/bin/python; set
KERAS3_PYTHON / KERAS2_PYTHON to change them.
"""

import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO_ROOT, "fixtures")
OUT = os.path.join(FIXTURES, "evidence", "keras_loads_modelio_h5.txt")
CATALOG = ["small_resnet", "small_mobilenet", "text_rnn", "transformer_block"]
ENVIRONMENTS = {
    "keras3": (os.environ.get("KERAS3_PYTHON", os.path.join(REPO_ROOT, "..", "kenv", "bin", "python")),
               {"KERAS_BACKEND": "torch"}),
    "keras2": (os.environ.get("KERAS2_PYTHON", os.path.join(REPO_ROOT, "..", "k2env", "bin", "python")),
               {"TF_CPP_MIN_LOG_LEVEL": "3"}),
}


# ----- the modelio side (runs where modelio is importable) -------------------------------------

def write_cases(scratch: str) -> list:
    sys.path.insert(0, REPO_ROOT)
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
    from fixture_models import CASES, fixture_arrays, load_fixture_model

    import modelio
    from modelio.formats.legacy_h5 import load_h5_model, save_h5_model, save_h5_weights

    cases = []

    def add(case_id, source, make_model, arrays, json_dialect=None):
        entry = {"id": case_id, "source": source}
        modelio.clear_session()
        try:
            model = make_model()
            path = os.path.join(scratch, f"{case_id}.h5")
            save_h5_model(model, path)  # the dialect of the fixture: tf-keras's for Keras 2 ones
            entry["model_file"] = path
            with h5py.File(path, "r") as handle:
                entry["dialect"] = "keras2" if handle.attrs["keras_version"].startswith("2") \
                    else "keras3"
            if entry["dialect"] == "keras2":  # the same model written for Keras 3 on request
                entry["keras3_file"] = path.replace(".h5", ".keras3_dialect.h5")
                save_h5_model(model, entry["keras3_file"], keras_version=3)
            entry["keras2_hard_sigmoid"] = "modelio>hard_sigmoid_keras2" in model.to_json()
            if json_dialect is not None:
                weights = os.path.join(scratch, f"{case_id}.weights_only.h5")
                save_h5_weights(model, weights)
                entry["weights_file"] = weights
                entry["json_file"] = os.path.join(FIXTURES, json_dialect, f"{case_id.split('__')[1]}.json")
        except modelio.ModelioError as exc:
            entry["modelio_error"] = f"{type(exc).__name__}: {exc}"
        npz = os.path.join(scratch, f"{case_id}.npz")
        np.savez(npz, **{key: value for key, value in arrays.items()
                         if key.startswith(("input:", "output:"))})
        entry["npz"] = npz
        cases.append(entry)

    for dialect, name in CASES + [(d, n) for d in ("keras3", "keras2") for n in CATALOG]:
        add(f"{dialect}__{name}", f"fixtures/{dialect}/{name}.json",
            lambda d=dialect, n=name: load_fixture_model(d, n), fixture_arrays(dialect, name),
            json_dialect=dialect)
    for folder in ("keras2_files", "keras3_h5"):
        directory = os.path.join(FIXTURES, folder)
        for file_name in sorted(os.listdir(directory)):
            if not file_name.endswith(".h5") or file_name.startswith("weights_only_"):
                continue
            path = os.path.join(directory, file_name)
            with np.load(path + ".npz") as archive:
                arrays = dict(archive)
            add(f"{folder}__{file_name[:-3]}", f"fixtures/{folder}/{file_name}",
                lambda p=path: load_h5_model(p), arrays)
    return cases


# ----- the Keras side (runs inside a Keras environment) ----------------------------------------

def keras_side(dialect: str, manifest: str) -> None:
    import warnings
    warnings.filterwarnings("ignore")
    if dialect == "keras2":
        import tf_keras as keras
        load_model = keras.models.load_model
    else:
        import keras
        load_model = keras.saving.load_model
    with open(manifest) as handle:
        cases = json.load(handle)
    results = {"version": f"{keras.__name__} {keras.__version__}", "cases": {}}
    for case in cases:
        if "model_file" not in case:
            continue
        row = {"model": _attempt(lambda c=case: load_model(c["model_file"], compile=False), case)}
        if "keras3_file" in case and dialect == "keras3":
            row["keras3_dialect"] = _attempt(
                lambda c=case: load_model(c["keras3_file"], compile=False), case)
        if "weights_file" in case and case["id"].startswith(dialect + "__"):
            def from_weights(file_key, c=case):
                with open(c["json_file"]) as handle:
                    model = keras.models.model_from_json(handle.read())
                model.load_weights(c[file_key])
                return model
            row["weights"] = _attempt(lambda: from_weights("weights_file"), case)
            row["model_weights"] = _attempt(lambda: from_weights("model_file"), case)
        results["cases"][case["id"]] = row
    print("RESULTS " + json.dumps(results))


def _attempt(make, case) -> str:
    try:
        model = make()
    except Exception as exc:  # the evidence records Keras's refusal verbatim
        text = " ".join(str(exc).split())
        if len(text) > 400:  # keep the cause, which Keras puts last
            text = f"{text[:150]} ... {text[-250:]}"
        return f"refused: {type(exc).__name__}: {text}"
    with np.load(case["npz"]) as archive:
        inputs = {key[len("input:"):]: archive[key] for key in archive.files
                  if key.startswith("input:")}
        count = sum(key.startswith("output:") for key in archive.files)
        recorded = [archive[f"output:{i}"] for i in range(count)]
    feed = inputs if len(inputs) > 1 else next(iter(inputs.values()))
    try:
        outputs = model.predict(feed, verbose=0)
    except Exception as exc:
        return f"loads, but predict fails: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    worst = max(float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))))
                for got, want in zip(outputs, recorded))
    return f"loads, max |keras - recorded| = {worst:.2e}"


# ----- driver ------------------------------------------------------------------------------------

def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cases = write_cases(scratch)
        manifest = os.path.join(scratch, "manifest.json")
        with open(manifest, "w") as handle:
            json.dump(cases, handle)
        results = {}
        for dialect, (python, extra_env) in ENVIRONMENTS.items():
            env = {**os.environ, **extra_env}
            run = subprocess.run([python, os.path.abspath(__file__), "--keras", dialect, manifest],
                                 capture_output=True, text=True, env=env, check=False)
            lines = [line for line in run.stdout.splitlines() if line.startswith("RESULTS ")]
            if run.returncode != 0 or not lines:
                sys.exit(f"{dialect} environment failed:\n{run.stderr[-3000:]}")
            results[dialect] = json.loads(lines[-1][len("RESULTS "):])
    text = report(cases, results)
    print(text, end="")
    with open(OUT, "w") as handle:
        handle.write(text)


def report(cases, results) -> str:
    k3, k2 = results["keras3"], results["keras2"]
    lines = [
        "Legacy .h5 files written by modelio, loaded by real Keras and run on the recorded inputs;",
        "differences are against the outputs Keras recorded for each fixture.",
        "  save_h5_model   writes the dialect of the file the model came from: for Keras 3 ones",
        "                  what Keras 3's model.save('x.h5') writes (a Keras 3 config, weight names",
        "                  without ':0'; tf-keras cannot read Keras 3 configs); for Keras 2 ones",
        "                  what tf-keras writes (a Keras 2 config, names with ':0'), falling back",
        "                  to Keras 3's (with a warning) for Keras 3 operations without a TFOpLambda.",
        "  save_h5_weights writes what tf-keras's save_weights('x.h5') writes (names with ':0').",
        "Rows per fixture: the full file through load_model; the weights-only file, and the full",
        "file, through load_weights into the model Keras builds from the fixture's own JSON",
        "(for JSON fixtures of that Keras, so tf-keras gets the Keras 2 JSON).",
        f"Keras 3:  {k3['version']} (keras.saving.load_model, keras.models.model_from_json)",
        f"tf-keras: {k2['version']} (tf_keras.models.load_model, tf_keras.models.model_from_json)",
        "",
    ]
    tally, intended = {}, 0
    for case in cases:
        lines.append(f"{case['id']}  (from {case['source']})")
        if "modelio_error" in case:
            lines.append(f"    modelio refused to write it: {case['modelio_error']}")
            continue
        for label, result in (("keras3", k3), ("tf-keras", k2)):
            row = result["cases"].get(case["id"], {})
            lines.append(f"    {label:<8} {'full model, load_model':<24}: {row.get('model')}")
            tally.setdefault(f"{label} full model", []).append(row.get("model"))
            tally.setdefault(f"{label} full model, {case.get('dialect')} dialect file",
                             []).append(row.get("model"))
            if case.get("keras2_hard_sigmoid") and label == "keras3":
                intended += 1
                lines.append("        (the model uses Keras 2's hard_sigmoid, 0.2x+0.5: a Keras 3 "
                             "dialect file names it modelio>hard_sigmoid_keras2, which Keras 3 "
                             "refuses; a tf-keras dialect file names it hard_sigmoid, which Keras "
                             "3 reads as its own x/6+0.5, as it misreads tf-keras's own file)")
            for key, text in (("keras3_dialect", "keras_version=3 file"),
                              ("weights", "weights-only file"),
                              ("model_weights", "full file, load_weights")):
                if row.get(key):
                    lines.append(f"    {label:<8} {text:<24}: {row[key]}")
                    tally.setdefault(f"{label} {text}", []).append(row[key])
    lines.append("")
    lines.append("Summary")
    for label, rows in tally.items():
        loaded = [row for row in rows if row and row.startswith("loads, max")]
        worst = max((float(row.rsplit("=", 1)[1]) for row in loaded), default=None)
        lines.append(f"    {label:<32} {len(loaded)}/{len(rows)} load and predict" +
                     (f"; worst max |keras - recorded| = {worst:.2e}" if loaded else ""))
    lines.append(f"    Keras 3 rows of models using Keras 2's hard_sigmoid (see above): {intended}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--keras":
        keras_side(sys.argv[2], sys.argv[3])
    else:
        main()
