"""The whole ONNX backend test suite of the installed `onnx` package, and how one case runs
through modelio.

Shared by tests/onnx_import/test_conformance.py and tools/onnx_conformance.py (the README table,
the ratchet lists). Every case of `onnx.backend.test.loader.load_model_tests` for every kind:
- "node": single-node cases built in memory (and their "<case>_expanded" function bodies);
- "pytorch-converted", "pytorch-operator", "simple": model directories (model.onnx +
  test_data_set_*);
- "real": the model-zoo networks; onnx ships them as "light" models (weights rebuilt in-graph by
  ConstantOfShape) under data/light/ with one recorded output, run on the suite's deterministic
  dummy input (`Runner.generate_dummy_data`, as onnx's own runner does). A "real" case whose light
  model is not shipped is counted "not runnable".

A case's outcome (`outcome`): "pass"; "refused" (a ModelioError: an op without a converter, an
element type or attribute modelio refuses by name); "fail" (wrong shape, dtype or numbers); or
"crash" (any other exception, or a ModelioError made from one — modelio wraps a numpy or Python
complaint inside a converter into a FormatError/GraphError: a bug either way); "not runnable" (no
model or no recorded data).
"""

import collections
import functools
import glob
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.runner import Runner

from modelio.errors import ModelioError
from modelio.onnx.backend import ModelioRep
from modelio.onnx.importer import CONVERTERS

KINDS = ("node", "pytorch-converted", "pytorch-operator", "simple", "real")
ONNX_TEST = os.path.join(os.path.dirname(onnx.__file__), "backend", "test")
PYTORCH_CONVERTED = os.path.join(ONNX_TEST, "data", "pytorch-converted")
# onnx.backend.test's tolerances for the model directories (the node cases carry their own).
MODEL_RTOL, MODEL_ATOL = 1e-3, 1e-7
OUTCOMES = ("pass", "refused", "fail", "crash", "not runnable")
HERE = Path(__file__).resolve().parent
PASSING_LIST = HERE / "conformance_passing.txt"  # the ratchet: cases that pass
ROUND_TRIP_LIST = HERE / "conformance_round_trip.txt"  # ... and that round-trip


@dataclass
class Case:
    """One conformance case: a model and (inputs, expected outputs) pairs."""

    name: str
    kind: str
    op: str  # the single node's op (the base case's for "_expanded"), else the kind
    model: onnx.ModelProto | None
    data_sets: list = field(default_factory=list)
    rtol: float = MODEL_RTOL
    atol: float = MODEL_ATOL
    missing: str = ""  # why the case cannot run at all

    @property
    def ops(self) -> set:
        return {node.op_type for node in self.model.graph.node} if self.model else set()

    @property
    def unconverted(self) -> list:
        """The case's ops modelio has no converter for (subgraph ops included)."""
        return sorted(op for op in _all_ops(self.model) if op not in CONVERTERS) \
            if self.model else []  # ops of another domain count as missing, "domain.Op"

    @property
    def claimed(self) -> bool:
        """Whether modelio has a converter for every op of the case."""
        return not self.unconverted


def _all_ops(model) -> set:
    ops = set()
    pending = [model.graph]
    while pending:
        graph = pending.pop()
        for node in graph.node:
            ops.add(node.op_type if node.domain in ("", "ai.onnx") else
                    f"{node.domain}.{node.op_type}")
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    pending.append(attribute.g)
                pending.extend(attribute.graphs)
    return ops


@functools.cache
def _load(kind: str) -> tuple:
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(load_model_tests(kind=kind))


@functools.cache
def all_cases() -> tuple:
    """Every case of the installed suite, sorted by name (names are unique across kinds)."""
    cases = [*node_cases(), *(case for kind in KINDS[1:] for case in _directory_cases(kind))]
    return tuple(sorted(cases, key=lambda case: case.name))


@functools.cache
def node_cases() -> tuple:
    """The single-node cases (and their function-expanded variants), sorted by name."""
    tests = _load("node")
    models = {}
    for test in tests:
        model = test.model
        if model is None and test.model_dir:  # onnx < 1.23 ships the cases as files
            model = onnx.load(os.path.join(test.model_dir, "model.onnx"))
        models[test.name] = (test, model)
    single_ops = {name: model.graph.node[0].op_type for name, (_, model) in models.items()
                  if model is not None and len(model.graph.node) == 1}
    cases = []
    for name, (test, model) in models.items():
        op = single_ops.get(name) or single_ops.get(name.split("_expanded")[0]) or "node"
        if model is None:
            cases.append(Case(name, "node", op, None, missing="no model.onnx"))
        else:
            cases.append(Case(name, "node", op, model, _data_sets(test), test.rtol, test.atol))
    return tuple(sorted(cases, key=lambda case: case.name))


@functools.cache
def pytorch_cases() -> tuple:
    """The pytorch-converted model directories, with their recorded data sets."""
    return tuple(sorted(_directory_cases("pytorch-converted"), key=lambda case: case.name))


def _directory_cases(kind: str) -> list:
    cases = []
    for test in _load(kind):
        if test.model_dir is not None:
            model = onnx.load(os.path.join(test.model_dir, "model.onnx"))
            cases.append(Case(test.name, kind, kind, model, _folder_data_sets(test.model_dir, model),
                              test.rtol, test.atol))
        else:
            cases.append(_light_case(test, kind))
    return cases


def _light_case(test, kind: str) -> Case:
    """A "real" case from its light model: dummy input as onnx's runner makes it, recorded
    output from data/light/light_<name>_output_<i>.pb."""
    path = os.path.normpath(os.path.join(ONNX_TEST, "..", "..", "..", test.url or ""))
    if not (test.url or "").startswith("onnx/backend/test/data/light/") or \
            not os.path.exists(path):
        return Case(test.name, kind, kind, None, missing=f"weights not shipped ({test.url})")
    model = onnx.load(path)
    initialized = {tensor.name for tensor in model.graph.initializer}
    inputs = [Runner.generate_dummy_data(info, seed=0, name=test.model_name, random=False)
              for info in model.graph.input if info.name not in initialized]
    prefix = os.path.splitext(path)[0]
    outputs = []
    for index in range(len(model.graph.output)):
        if not os.path.exists(f"{prefix}_output_{index}.pb"):
            return Case(test.name, kind, kind, model, missing="no recorded output shipped")
        outputs.append(_read_tensor(f"{prefix}_output_{index}.pb"))
    return Case(test.name, kind, kind, model, [(inputs, outputs)], test.rtol, test.atol)


def _data_sets(test) -> list:
    return [([_as_array(value) for value in inputs], [_as_array(value) for value in outputs])
            for inputs, outputs in test.data_sets or ()]


def _folder_data_sets(folder: str, model: onnx.ModelProto) -> list:
    data_sets = []
    for data_folder in sorted(glob.glob(os.path.join(folder, "test_data_set_*"))):
        data_sets.append(tuple(
            [_read_value(os.path.join(data_folder, f"{kind}_{index}.pb"), infos[index].type)
             for index in range(len(glob.glob(os.path.join(data_folder, f"{kind}_*.pb"))))]
            for kind, infos in (("input", model.graph.input), ("output", model.graph.output))))
    return data_sets


def _as_array(value):
    """A data-set value as numpy (a few cases store TensorProtos)."""
    return numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else value


def _read_tensor(path: str):
    tensor = onnx.TensorProto()
    with open(path, "rb") as file:
        tensor.ParseFromString(file.read())
    return numpy_helper.to_array(tensor)


def _read_value(path: str, type_proto):
    """A recorded tensor, sequence or optional, as onnx's runner reads it."""
    values = []
    Runner._load_proto(None, path, values, type_proto)
    return values[0] if values else _read_tensor(path)


def _compare(case: Case, outputs, expected) -> None:
    """onnx.backend.test's own comparison (shape, dtype, values at the case's tolerances)."""
    outputs = [value if isinstance(value, (list, tuple)) or value is None else np.asarray(value)
               for value in outputs]
    Runner.assert_similar_outputs(expected, outputs, rtol=case.rtol, atol=case.atol,
                                  model_dir=case.name)


def check_case(case: Case) -> list:
    """Run the case's model through modelio's ONNX backend (import, then numpy kernels; inputs
    an op needs as constants are bound per run) and compare every data set; AssertionError on a
    mismatch, ModelioError when modelio refuses the model. Returns (modelio model, bound input
    names, inputs, expected outputs) per data set, for the round trip."""
    rep = ModelioRep(case.model, source=case.name)
    runs = []
    for inputs, expected in case.data_sets:
        outputs = list(rep.run(inputs))
        _compare(case, outputs, expected)
        runs.append((rep.last_model, rep.bound_names, inputs, expected))
    return runs


@dataclass
class Result:
    name: str
    kind: str
    op: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0
    runs: list = field(default_factory=list, repr=False)


def outcome(case: Case) -> Result:
    """The case's Result; `detail` names the refusal, mismatch or exception."""
    start = time.perf_counter()
    result = Result(case.name, case.kind, case.op, "pass")
    if case.model is None or not case.data_sets:
        result.outcome, result.detail = "not runnable", case.missing or "no recorded data set"
        return result
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result.runs = check_case(case)
    except ModelioError as exc:
        raw = _raw_cause(exc)
        result.outcome, result.detail = ("refused", _first_line(exc)) if raw is None else \
            ("crash", f"{type(raw).__name__} (wrapped in {type(exc).__name__}): {_first_line(exc)}")
    except AssertionError as exc:
        result.outcome, result.detail = "fail", _first_line(exc) or "mismatch"
    except Exception as exc:  # noqa: BLE001 - a raw exception is a bug: a crash
        result.outcome, result.detail = "crash", f"{type(exc).__name__}: {_first_line(exc)}"
    result.seconds = time.perf_counter() - start
    return result


def _raw_cause(exc: BaseException):
    """The non-modelio exception a ModelioError was made from (modelio turns a numpy or Python
    complaint inside a converter or layer into a GraphError/FormatError naming the node), or None:
    such a refusal is a bug shown politely, and counts as a crash."""
    seen = set()
    cause = exc.__cause__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if not isinstance(cause, ModelioError):
            return cause
        cause = cause.__cause__
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


@functools.cache
def suite_results() -> dict:
    """name -> Result for every case (run once per process)."""
    return {case.name: outcome(case) for case in all_cases()}


# ----- round trip: import -> modelio.export_onnx -> onnxruntime -----

def _session(proto: onnx.ModelProto):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(proto.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def _graph_input_names(model: onnx.ModelProto) -> list:
    initialized = {tensor.name for tensor in model.graph.initializer}
    return [info.name for info in model.graph.input if info.name not in initialized]


def onnxruntime_outcome(case: Case) -> str:
    """"pass" when onnxruntime runs the case's own model to its recorded outputs, "fail" when it
    gives other numbers, "error" when it cannot load or run it (for comparison with modelio)."""
    try:
        session = _session(case.model)
        for inputs, expected in case.data_sets:
            feed = dict(zip([info.name for info in session.get_inputs()], inputs))
            outputs = session.run(None, feed)
            try:
                _compare(case, outputs, expected)
            except AssertionError:
                return "fail"
    except Exception:  # noqa: BLE001 - onnxruntime's refusal or crash, counted as such
        return "error"
    return "pass"


def _default_opset(model: onnx.ModelProto) -> int:
    return next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")),
                MIN_EXPORT_OPSET)


MIN_EXPORT_OPSET = 17


def round_trip(case: Case, result: Result) -> tuple:
    """("pass" | "refused" | "fail" | "crash" | "onnxruntime error" | "not applicable", detail)
    for a case modelio passes ("not applicable": onnxruntime cannot run the original either): its imported model(s) exported with modelio.export_onnx and run by onnxruntime
    (graph optimizations off) must give the recorded outputs. Inputs modelio bound as constants
    are part of the exported model. The export's opset is the case's (within what modelio writes,
    13 to 26), so a case of a newer op form exports to that form."""
    from modelio.onnx.export import MAX_OPSET, MIN_OPSET, export_onnx

    names = _graph_input_names(case.model)
    opset = min(max(_default_opset(case.model), MIN_OPSET), MAX_OPSET)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for model, bound, inputs, expected in result.runs:
                proto = export_onnx(model, opset=opset)
                try:
                    session = _session(proto)
                    given = dict(zip(names, inputs))
                    feed = [given[name] for name in names if name not in bound]
                    outputs = session.run(None, {info.name: np.asarray(value) for info, value
                                                 in zip(session.get_inputs(), feed)})
                except AssertionError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the exported model does not run
                    if onnxruntime_outcome(case) == "error":
                        return "not applicable", "onnxruntime cannot run the case itself"
                    return "onnxruntime error", f"{type(exc).__name__}: {_first_line(exc)}"
                _compare(case, outputs, expected)
    except ModelioError as exc:
        raw = _raw_cause(exc)
        return ("refused", _first_line(exc)) if raw is None else \
            ("crash", f"{type(raw).__name__} (wrapped in {type(exc).__name__}): "
                      f"{_first_line(exc)}")
    except AssertionError as exc:
        return "fail", _first_line(exc) or "mismatch"
    except Exception as exc:  # noqa: BLE001 - a raw exception is a bug: a crash
        return "crash", f"{type(exc).__name__}: {_first_line(exc)}"
    return "pass", ""


@functools.cache
def round_trip_results() -> dict:
    """name -> round_trip(...) for every case that passes (run once per process)."""
    cases = {case.name: case for case in all_cases()}
    return {name: round_trip(cases[name], result) for name, result in suite_results().items()
            if result.outcome == "pass"}


def read_list(path: Path) -> list:
    """The case names of a ratchet list (one a line; # comments)."""
    if not path.exists():
        return []
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def write_list(path: Path, names, what: str) -> None:
    header = (f"# {what}\n# onnx {onnx.__version__}; written by `python3 tools/onnx_conformance.py "
              f"--update` — tests/onnx_import/test_conformance.py fails when one stops passing.\n")
    path.write_text(header + "".join(f"{name}\n" for name in sorted(names)))


def missing_ops(results: dict) -> collections.Counter:
    """op -> number of refused cases that lack a converter for it (a case counts for each op it
    misses)."""
    cases = {case.name: case for case in all_cases()}
    counter = collections.Counter()
    for name, result in results.items():
        if result.outcome == "refused":
            counter.update(cases[name].unconverted)
    return counter


def summary_lines(results: dict, round_trips: dict | None = None, top: int = 12) -> list:
    """The summary the pytest terminal and the tool print."""
    cases = {case.name: case for case in all_cases()}
    counts = collections.Counter(result.outcome for result in results.values())
    refused = [name for name, result in results.items() if result.outcome == "refused"]
    by_op = sum(1 for name in refused if cases[name].unconverted)
    failed = len(results) - counts["pass"]
    lines = [f"ONNX backend suite (onnx {onnx.__version__}, {len(results)} cases): "
             f"{counts['pass']} passed, {failed} failed ({counts['refused']} refused: {by_op} for "
             f"an op without a converter, {counts['refused'] - by_op} by type/attribute/feature; "
             f"{counts['fail']} wrong outputs; {counts['crash']} crashes; "
             f"{counts['not runnable']} not runnable)"]
    kinds = collections.defaultdict(collections.Counter)
    for result in results.values():
        kinds[result.kind][result.outcome == "pass"] += 1
    lines.append("  by kind: " + ", ".join(f"{kind} {kinds[kind][True]}/{sum(kinds[kind].values())}"
                                           for kind in KINDS))
    top_ops = missing_ops(results).most_common(top)
    lines.append("  top missing ops (refused cases): " +
                 ", ".join(f"{op} {count}" for op, count in top_ops))
    if round_trips is not None:
        trips = collections.Counter(outcome for outcome, _ in round_trips.values())
        lines.append(f"  round trip import -> export_onnx -> onnxruntime of the {len(round_trips)} "
                     f"passing: {trips['pass']} passed, {len(round_trips) - trips['pass']} failed ("
                     + ", ".join(f"{count} {outcome}" for outcome, count in trips.most_common()
                                 if outcome != "pass") + ")")
    listed = set(read_list(PASSING_LIST))
    new = sorted(name for name, result in results.items()
                 if result.outcome == "pass" and name not in listed)
    if new:
        lines.append(f"  {len(new)} new pass(es) not in {PASSING_LIST.name} (update it with "
                     f"`python3 tools/onnx_conformance.py --update`): {', '.join(new[:10])}"
                     + (" ..." if len(new) > 10 else ""))
    if round_trips is not None:
        listed = set(read_list(ROUND_TRIP_LIST))
        new = sorted(name for name, (outcome, _) in round_trips.items()
                     if outcome == "pass" and name not in listed)
        if new:
            lines.append(f"  {len(new)} new round trip(s) not in {ROUND_TRIP_LIST.name}: "
                         f"{', '.join(new[:10])}" + (" ..." if len(new) > 10 else ""))
    return lines
