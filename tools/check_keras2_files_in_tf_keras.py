"""Evidence that the Keras 2 dialect `.h5` files modelio writes of every tf-keras-written fixture
load in tf-keras and compute what tf-keras computed when the fixture was recorded.

Run from the repository root with the Python that runs modelio's tests:

    python3 tools/check_keras2_files_in_tf_keras.py

The modelio side reads each fixture tf-keras wrote (the model-case archives
fixtures/keras2/{core,attention,recurrent,rnn_cell}_cases.npz, the `.h5` files under
fixtures/keras2_files, fixtures/rnn_cell_files, fixtures/keras3_files/dtypes and
fixtures/save_variants, fixtures/keras2/tf_functions.h5 and the tf_keras.applications models of
fixtures/keras2/applications) and writes it with `save_h5_model(model, path, keras_version=2)`
into a scratch folder; modelio's refusals are recorded by name. The script then runs itself in
the tf-keras 2.21 environment, where `tf_keras.models.load_model(path, compile=False)` loads each
file and predicts on the recorded inputs. The table goes to
fixtures/evidence/tf_keras_loads_modelio_keras2_files.txt.

The tf-keras interpreter defaults to ../k2env/bin/python; set KERAS2_PYTHON to change it.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO_ROOT, "fixtures")
OUT = os.path.join(FIXTURES, "evidence", "tf_keras_loads_modelio_keras2_files.txt")
KERAS2_PYTHON = os.environ.get("KERAS2_PYTHON",
                               os.path.join(REPO_ROOT, "..", "k2env", "bin", "python"))
APPLICATIONS = ("mobilenet_v3_small", "mobilenet_v3_large", "regnet_x002", "regnet_y002")
# the fixtures whose classes tf-keras reads only from custom_objects (its own files too)
_EXPERIMENTAL = {"preprocessing/fourier_gaussian.h5": ("RandomFourierFeatures",),
                 "preprocessing/fourier_laplacian.h5": ("RandomFourierFeatures",),
                 "dynamic_lookup/embedding_int64.h5": ("DynamicEmbedding",),
                 "dynamic_lookup/lookup_int32.h5": ("DynamicLookup",),
                 "dynamic_lookup/lookup_int64.h5": ("DynamicLookup",)}
CUSTOM_OBJECTS = {"keras2_files": _EXPERIMENTAL,
                  "save_variants": {"tf_keras_custom.h5": ("save_variants",)}}
# what the tests allow between modelio or tf-keras and the recorded outputs (float32 rounding)
RTOL = ATOL = 1e-4


# ----- the fixtures (runs where modelio is importable) -----------------------------------------

def fixture_cases():
    """`(family, case id, make_model, inputs by name, recorded outputs, tolerance scale)` of every
    tf-keras-written fixture modelio loads."""
    yield from _model_json_cases("core_cases")
    yield from _model_json_cases("attention_cases")
    yield from _layer_weight_cases("recurrent_cases")
    yield from _layer_weight_cases("rnn_cell_cases")
    yield from _h5_file_cases()
    yield from _application_cases()


def _model_json_cases(archive: str):
    from case_archive import load_model_cases
    from fixture_models import set_recorded_weights

    import modelio
    _, cases = load_model_cases(os.path.join(FIXTURES, "keras2", f"{archive}.npz"))
    for case_id, case in cases.items():
        def make(case=case):
            model = modelio.model_from_json(json.dumps(case["model_json"]))
            set_recorded_weights(model, case["arrays"])
            return model
        inputs = {name: case["arrays"][f"input:{name}"] for name in case["inputs"]}
        outputs = [case["arrays"][f"output:{i}"] for i in range(case["outputs"])]
        yield archive, case_id, make, inputs, outputs, 1.0
        for record in case.get("files", []):  # the .h5 tf-keras saved of the same model
            path = os.path.join(FIXTURES, "keras2_files", "core", record["file"])
            if path.endswith(".h5"):
                yield "keras2_files", f"core/{record['file']}", _loader(path), inputs, outputs, 1.0


def _layer_weight_cases(archive: str):
    import modelio
    with np.load(os.path.join(FIXTURES, "keras2", f"{archive}.npz")) as handle:
        arrays = {key: handle[key] for key in handle.files}
    document = json.loads(arrays.pop("cases_json").tobytes().decode("utf-8"))
    for case in document["cases"]:
        case_id = case["id"]

        def make(case=case, case_id=case_id):
            model = modelio.model_from_json(json.dumps(case["model"]))
            for layer_name, count in case["weights"].items():
                model.get_layer(layer_name).set_weights(
                    [arrays[f"{case_id}/weight:{layer_name}:{i}"] for i in range(count)])
            return model
        inputs = {name: arrays[f"{case_id}/input:{name}"] for name in case["inputs"]}
        outputs = [arrays[f"{case_id}/output:{i}"] for i in range(case["outputs"])]
        yield archive, case_id, make, inputs, outputs, 1.0


def _loader(path: str, **kwargs):
    """`load()` of the file tf-keras wrote at `load.source`."""
    import modelio

    def load():
        return modelio.load_model(path, **kwargs)
    load.source = path
    return load


def _recorded(npz: str, prefix: str = "") -> tuple:
    with np.load(npz) as handle:
        arrays = {key[len(prefix):]: handle[key] for key in handle.files if key.startswith(prefix)}
    inputs = {key[len("input:"):]: value for key, value in arrays.items()
              if key.startswith("input:")}
    count = sum(key.startswith("output:") for key in arrays)
    return inputs, [arrays[f"output:{i}"] for i in range(count)]


def _h5_file_cases():
    keras2_files = os.path.join(FIXTURES, "keras2_files")
    for path in sorted(glob.glob(os.path.join(keras2_files, "*.h5"))):
        if not os.path.basename(path).startswith("weights_only_"):
            yield ("keras2_files", os.path.relpath(path, keras2_files), _loader(path),
                   *_recorded(path + ".npz"), 1.0)
    for folder in ("preprocessing", "dynamic_lookup"):
        for path in sorted(glob.glob(os.path.join(keras2_files, folder, "*.h5"))):
            if not path.endswith(".weights.h5"):
                yield ("keras2_files", os.path.relpath(path, keras2_files), _loader(path),
                       *_recorded(path[:-3] + ".npz"), 1.0)
    for path in sorted(glob.glob(os.path.join(FIXTURES, "rnn_cell_files", "tf_keras_*.h5"))):
        yield ("rnn_cell_files", os.path.basename(path), _loader(path), *_recorded(path + ".npz"),
               1.0)
    dtypes = os.path.join(FIXTURES, "keras3_files", "dtypes")
    for path in sorted(glob.glob(os.path.join(dtypes, "tf_keras_*.h5"))):
        if path.endswith(".weights.h5"):
            continue
        name = os.path.basename(path)[:-3]
        with np.load(os.path.join(dtypes, "tf_keras.npz")) as handle:
            inputs, outputs = {"x": handle[f"{name}/input"]}, [handle[f"{name}/output"]]
        # float16 outputs: tf-keras and modelio round differently in the last float16 place
        yield "keras3_files/dtypes", os.path.basename(path), _loader(path), inputs, outputs, 10.0
    from custom_fixture_objects import CUSTOM_OBJECTS
    path = os.path.join(FIXTURES, "save_variants", "tf_keras_custom.h5")
    yield ("save_variants", "tf_keras_custom.h5", _loader(path, custom_objects=CUSTOM_OBJECTS),
           *_recorded(path[:-3] + ".npz"), 1.0)
    path = os.path.join(FIXTURES, "keras2", "tf_functions.h5")
    yield "keras2", "tf_functions.h5", _loader(path), *_recorded(path + ".npz"), 1.0


def _application_cases():
    from formula_weights import set_fixture_weights

    import modelio
    for name in APPLICATIONS:
        with np.load(os.path.join(FIXTURES, "keras2", "applications", f"{name}.npz")) as handle:
            arrays = dict(handle)

        def make(name=name, arrays=arrays):
            model = modelio.load_model(os.path.join(FIXTURES, "keras2", "applications",
                                                    f"{name}.json"))
            set_fixture_weights(model, arrays)
            return model
        # float32 rounding grows with depth in proportion to the logits' range (see
        # tests/layers/test_tf_functions.py)
        scale = max(1.0, 0.2 * float(np.abs(arrays["output"]).max()))
        yield "applications", name, make, {"input": arrays["input"]}, [arrays["output"]], scale


# ----- the modelio side --------------------------------------------------------------------------

def write_cases(scratch: str) -> list:
    sys.path.insert(0, REPO_ROOT)
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
    import modelio
    from modelio.formats.legacy_h5 import save_h5_model

    cases = []
    for index, (family, case_id, make, inputs, outputs, scale) in enumerate(fixture_cases()):
        entry = {"family": family, "id": case_id, "scale": scale,
                 "source": getattr(make, "source", None)}
        stem = os.path.join(scratch, f"case{index:03d}")
        modelio.clear_session()
        try:
            model = make()
            entry["modelio"] = _compare(_predict(model, inputs), outputs, scale)
            save_h5_model(model, stem + ".h5", keras_version=2)
            entry["model_file"] = stem + ".h5"
        except modelio.ModelioError as exc:
            entry["modelio_error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        np.savez(stem + ".npz", **{f"input:{name}": value for name, value in inputs.items()},
                 **{f"output:{i}": value for i, value in enumerate(outputs)})
        entry["npz"] = stem + ".npz"
        cases.append(entry)
    return cases


# ----- the tf-keras side (runs inside the tf-keras environment) ---------------------------------

def keras_side(manifest: str) -> None:
    import warnings
    warnings.filterwarnings("ignore")
    import tf_keras
    with open(manifest) as handle:
        cases = json.load(handle)
    results = {"version": f"tf_keras {tf_keras.__version__}", "cases": {}}
    for index, case in enumerate(cases):
        if "model_file" in case:
            tf_keras.backend.clear_session()
            results["cases"][str(index)] = _attempt(case, tf_keras)
    print("RESULTS " + json.dumps(results))


def _attempt(case: dict, tf_keras) -> str:
    model, refusal = _load(tf_keras, case["model_file"], None)
    note = ""
    if model is None and CUSTOM_OBJECTS.get(case["family"], {}).get(case["id"]):
        # tf-keras reads these classes only from custom_objects, its own files too
        objects = _custom_objects(tf_keras, CUSTOM_OBJECTS[case["family"]][case["id"]])
        model, again = _load(tf_keras, case["model_file"], objects)
        _, own = _load(tf_keras, case["source"], None) if case.get("source") else (None, "")
        _, own_with = _load(tf_keras, case["source"], objects) if case.get("source") else (
            None, "")
        if model is None:
            return (f"{again} (with custom_objects={sorted(objects)}; tf-keras's own file with "
                    f"them: {own_with or 'loads'})")
        note = (f" (with custom_objects={sorted(objects)}; without them: {refusal[:90]}...; "
                f"tf-keras's own file without them: {'refused' if own else 'loads'})")
    if model is None:
        return refusal
    with np.load(case["npz"]) as archive:
        inputs = {key[len("input:"):]: archive[key] for key in archive.files
                  if key.startswith("input:")}
        count = sum(key.startswith("output:") for key in archive.files)
        recorded = [archive[f"output:{i}"] for i in range(count)]
    try:
        outputs = _predict(model, inputs)
    except Exception as exc:
        return f"loads, but predict fails: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return "loads, " + _compare(outputs, recorded, case["scale"]) + note


def _load(tf_keras, path: str, custom_objects) -> tuple:
    """`(model, None)` or `(None, "refused: ...")`, tf-keras's refusal verbatim."""
    try:
        return tf_keras.models.load_model(path, compile=False,
                                          custom_objects=custom_objects), None
    except Exception as exc:
        text = " ".join(str(exc).split())
        if len(text) > 400:  # keep the cause, which tf-keras puts last
            text = f"{text[:150]} ... {text[-250:]}"
        return None, f"refused: {type(exc).__name__}: {text}"


def _custom_objects(tf_keras, names: tuple) -> dict:
    """tf-keras's experimental layers by name; for tf_keras_custom.h5 the user's objects as
    tools/save_variant_fixtures.py defined them."""
    if names == ("save_variants",):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from save_variant_fixtures import define_custom
        _, _, my_scale = define_custom(tf_keras, tf_keras.saving.register_keras_serializable)
        return {"MyScale": my_scale, "<lambda>": lambda t: t * 0.5}
    return {name: getattr(tf_keras.layers.experimental, name) for name in names}


def _predict(model, inputs: dict) -> list:
    names = [getattr(tensor, "name", "").split(":")[0] for tensor in model.inputs]
    if len(inputs) == 1:
        feed = next(iter(inputs.values()))
    elif set(names) == set(inputs):
        feed = [inputs[name] for name in names]
    else:
        feed = inputs
    outputs = model.predict(feed, verbose=0) if "verbose" in _parameters(model.predict) \
        else model.predict(feed)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return [np.asarray(item) for item in (outputs if isinstance(outputs, (list, tuple))
                                          else [outputs])]


def _parameters(function) -> set:
    import inspect
    return set(inspect.signature(function).parameters)


def _compare(outputs: list, recorded: list, scale: float) -> str:
    """`max |got - recorded| = ...`, and whether that is within the tests' tolerance."""
    if len(outputs) != len(recorded):
        return f"{len(outputs)} outputs, {len(recorded)} recorded: DIFFERENT"
    worst, same = 0.0, True
    for got, want in zip(outputs, recorded):
        if got.shape != want.shape:
            return f"output shape {got.shape}, recorded {want.shape}: DIFFERENT"
        if want.dtype.kind in "OUSb":
            same = same and np.array_equal(got, want)
            continue
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        worst = max(worst, float(np.max(np.abs(got - want), initial=0.0)))
        same = same and np.allclose(got, want, rtol=RTOL * scale, atol=ATOL * scale)
    return f"max |got - recorded| = {worst:.2e} ({'same' if same else 'DIFFERENT'})"


# ----- driver ------------------------------------------------------------------------------------

def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cases = write_cases(scratch)
        manifest = os.path.join(scratch, "manifest.json")
        with open(manifest, "w") as handle:
            json.dump(cases, handle)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run([KERAS2_PYTHON, os.path.abspath(__file__), "--tf-keras", manifest],
                             capture_output=True, text=True, env=env, check=False)
        lines = [line for line in run.stdout.splitlines() if line.startswith("RESULTS ")]
        if run.returncode != 0 or not lines:
            sys.exit(f"tf-keras environment failed:\n{run.stderr[-3000:]}")
        results = json.loads(lines[-1][len("RESULTS "):])
    text = report(cases, results)
    print(text, end="")
    with open(OUT, "w") as handle:
        handle.write(text)


def report(cases: list, results: dict) -> str:
    lines = [
        "Keras 2 dialect .h5 files written by modelio (save_h5_model(model, path,",
        "keras_version=2)) of every tf-keras-written fixture, loaded by tf-keras",
        "(tf_keras.models.load_model(path, compile=False)) and run on the recorded inputs.",
        "Differences are against the outputs tf-keras recorded for each fixture; 'same' means",
        f"within rtol = atol = {RTOL:g} (times the row's scale: float16 outputs, deep",
        "applications). 'modelio' is modelio's own prediction of the fixture before writing.",
        "Classes tf-keras reads only from custom_objects (its experimental RandomFourierFeatures,",
        "DynamicLookup, DynamicEmbedding; a user's objects) are retried with them, and tf-keras's",
        "own fixture file is tried the same way: what it refuses of modelio's file it refuses of",
        "its own (DynamicLookup/DynamicEmbedding: tf-keras 2.21 cannot rebuild them from their",
        "config, dtype float32).",
        f"tf-keras: {results['version']}",
        "",
    ]
    tally: dict = {}
    for index, case in enumerate(cases):
        lines.append(f"{case['family']}/{case['id']}")
        if "modelio_error" in case:
            lines.append(f"    modelio  refused to write it: {case['modelio_error']}")
            row = "modelio refused"
        else:
            row = results["cases"].get(str(index), "not run")
            lines.append(f"    modelio  {case['modelio']}")
            lines.append(f"    tf-keras {row}")
        tally.setdefault(case["family"], []).append(row)
    lines += ["", "Summary (tf-keras loads modelio's file and predicts the recorded outputs)"]
    every = [row for family_rows in tally.values() for row in family_rows]
    for family, rows in [*tally.items(), ("all", every)]:
        good = [row for row in rows if row.startswith("loads, max") and "(same)" in row]
        custom = sum("with custom_objects" in row for row in good)
        refused = sum(row == "modelio refused" for row in rows)
        notes = [f"{custom} with custom_objects, as tf-keras's own files need"] if custom else []
        notes += [f"modelio refuses {refused}"] if refused else []
        lines.append(f"    {family:<22} {len(good)}/{len(rows)}" +
                     (f" ({'; '.join(notes)})" if notes else ""))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--tf-keras":
        keras_side(sys.argv[2])
    else:
        main()
