"""Fuzz modelio's loaders with mutants of the committed fixtures.

    python3 tools/fuzz.py --seed 1 --iterations 5000 --jobs 2 --out fuzz-out
    python3 tools/fuzz.py --formats h5 --seconds 3600 --jobs 2 --out fuzz-out   # for hours
    python3 tools/fuzz.py --seed 1 --index 1234 --out one                       # one mutant again
    python3 tools/fuzz.py --replay fuzz-out/001-h5-crash/model.h5               # a saved mutant

Each mutant (bytes, HDF5 attributes and datasets, `.keras` members re-zipped with correct CRCs,
JSON/YAML configs changed as documents, ONNX protobuf fields; see tools/fuzz_mutators.py) is loaded
with `modelio.load_model` and, when that works, run once with `model.predict` on zeros. The harness
imports modelio once and forks one child per mutant (a fork server), under an address-space limit
and a timeout, and sorts what happened:

    ok       a model came back (and predicted)             fine
    modelio  a ModelioError                                 fine
    other    any other exception                            failure
    crash    the child died of a signal                     failure
    hang     no answer within --timeout                     failure
    memory   MemoryError, or killed for memory              failure

Failures are grouped by (format, class, exception type, innermost frame, innermost modelio frame);
one mutant per group is saved under --out with `outcome.txt` (first line: the outcome in one
line). Mutant i of seed s is the same on every run (`--seed s --index i`), whatever --jobs is.
Exit status: 0 when every outcome was fine, 1 when a failure was found, 2 on bad arguments.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # one thread per child: --jobs decides the parallelism

import argparse  # noqa: E402
import errno  # noqa: E402
import faulthandler  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # fuzz the checkout this file lives in

import numpy as np  # noqa: E402

if "--atheris" in sys.argv[1:]:  # coverage-guided: modelio's modules are imported instrumented
    import importlib  # noqa: E402
    import pkgutil  # noqa: E402

    import atheris  # noqa: E402

    with atheris.instrument_imports(include=["modelio"]):
        import modelio  # noqa: E402

        for _module in pkgutil.walk_packages(modelio.__path__, "modelio."):
            if not _module.name.endswith("__main__"):
                importlib.import_module(_module.name)  # the lazily imported ones too
else:
    import modelio  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent))  # last: tools/ must shadow no module
import fuzz_mutators as mutators  # noqa: E402

FORMATS = ["h5", "keras", "onnx", "json", "yaml"]
CLASSES = ["ok", "modelio", "other", "crash", "hang", "memory"]
FAILURES = {"other", "crash", "hang", "memory"}
MAIN_FILE = {"h5": "model.h5", "keras": "model.keras", "onnx": "model.onnx",
             "json": "model.json", "yaml": "model.yaml"}
SIBLING_WEIGHTS = "model.weights.h5"
MAX_INPUT_ELEMENTS = 1 << 16  # zeros fed to predict; a bigger declared input (say a 65,536-step
# sequence through an RNN) is legitimately slow, so such a model is counted as loaded, not run
FRAME_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


# ------------------------------------------------------------------------------------------------
# The seeds: committed fixtures that load
# ------------------------------------------------------------------------------------------------


@dataclass
class Seed:
    """One committed fixture, ready to mutate: the files of its folder by name, the raw-array
    byte ranges of its HDF5/ONNX files, and for a `.keras` zip its members."""
    format: str
    name: str
    files: dict[str, bytes]
    spans: dict[str, list] = field(default_factory=dict)
    members: list | None = None


def committed_fixtures() -> list[Path]:
    """The files under fixtures/ that git tracks (every file there when git is unavailable)."""
    try:
        listed = subprocess.run(["git", "ls-files", "fixtures"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = []
    if listed:
        return sorted(REPO / name for name in listed)
    return sorted(path for path in (REPO / "fixtures").rglob("*") if path.is_file())


def _config_sibling(path: Path) -> Path | None:
    """The weights Keras wrote for a `fixtures/keras3|keras2/<name>.json` model, if committed."""
    folder = path.parent.name
    if folder == "keras3":
        candidate = path.parent.parent / "keras3_files" / f"{path.stem}.weights.h5"
    else:
        candidate = path.parent.parent / "keras2_files" / f"weights_only_{path.stem}.h5"
    return candidate if candidate.is_file() else None


def _is_model_document(path: Path) -> bool:
    try:
        document = json.loads(path.read_text())
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("class_name") in {"Functional",
                                                                          "Sequential", "Model"}


def build_seed(path: Path, form: str) -> Seed:
    name = str(path.relative_to(REPO))
    content = path.read_bytes()
    if form == "h5":
        return Seed(form, name, {MAIN_FILE[form]: content},
                    {MAIN_FILE[form]: mutators.hdf5_data_spans(content)})
    if form == "onnx":
        return Seed(form, name, {MAIN_FILE[form]: content},
                    {MAIN_FILE[form]: mutators.onnx_data_spans(content)})
    if form == "keras":
        members = mutators.read_zip_members(content)
        spans = {member: mutators.hdf5_data_spans(data) for member, data in members
                 if member.endswith(".h5")}
        return Seed(form, name, {MAIN_FILE[form]: content}, spans, members)
    if form == "yaml":
        content = mutators.dump_yaml(json.loads(content), {})
    files = {MAIN_FILE[form]: content}
    spans = {}
    weights = _config_sibling(path)
    if weights is not None:
        files[SIBLING_WEIGHTS] = weights.read_bytes()
        spans[SIBLING_WEIGHTS] = mutators.hdf5_data_spans(files[SIBLING_WEIGHTS])
    return Seed(form, name, files, spans)


def fixture_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".weights.h5") or name.startswith("weights_only_"):
        return None
    if name.endswith(".h5"):
        return "h5"
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".onnx"):
        return "onnx"
    if name.endswith(".json") and path.parent.name in {"keras2", "keras3"}:
        return "json" if _is_model_document(path) else None
    return None


def collect_seeds(formats: list[str], workdir: Path) -> dict[str, list[Seed]]:
    """Seeds per format (YAML seeds are the JSON fixtures written as YAML). The first of each
    format is loaded here, once, so that modelio's lazy imports happen before the first fork."""
    seeds: dict[str, list[Seed]] = {form: [] for form in formats}
    for path in committed_fixtures():
        form = fixture_format(path)
        for target in ([form] if form != "json" else ["json", "yaml"]):
            if target in seeds:
                seeds[target].append(build_seed(path, target))
    for target, found in seeds.items():
        if found:
            folder = write_mutant(workdir / "warm-up", found[0].files)
            outcome = load_and_classify(folder / MAIN_FILE[target])
            if outcome["class"] != "ok":
                print(f"note: fixture {found[0].name} as {target} does not load "
                      f"({outcome['type']}: {outcome['message'][:120]})", file=sys.stderr)
    return seeds


# ------------------------------------------------------------------------------------------------
# Mutants
# ------------------------------------------------------------------------------------------------


@dataclass
class Mutant:
    index: int
    format: str
    seed: str
    how: str
    files: dict[str, bytes]


def make_mutant(seed_value: int, index: int, formats: list[str],
                seeds: dict[str, list[Seed]]) -> Mutant:
    """Mutant `index` of `seed_value`: the same files whatever ran before it."""
    rng = random.Random(f"modelio-fuzz:{seed_value}:{index}")
    form = formats[index % len(formats)]
    seed = rng.choice(seeds[form])
    files = dict(seed.files)
    main = MAIN_FILE[form]
    try:
        how = _mutate_files(rng, form, seed, seeds, files)
    except Exception as exc:  # a mutator's own bug must not stop a long run: bytes instead
        files = dict(seed.files)
        files[main], how = mutators.mutate_bytes(rng, files[main], seed.spans.get(main, ()))
        how = f"{how} (mutator failed: {type(exc).__name__}: {exc})"
    return Mutant(index, form, seed.name, how, files)


def _mutate_files(rng: random.Random, form: str, seed: Seed, seeds: dict[str, list[Seed]],
                  files: dict[str, bytes]) -> str:
    """Mutate `files` (a copy of the seed's) in place; return what was done."""
    main = MAIN_FILE[form]
    if form == "h5":
        files[main], how = mutators.mutate_hdf5(rng, files[main], seed.spans[main])
    elif form == "onnx":
        files[main], how = mutators.mutate_onnx(rng, files[main], seed.spans[main])
    elif form == "keras":
        files[main], how = mutators.mutate_keras(rng, files[main], seed.members, seed.spans)
    else:
        roll = rng.random()
        if SIBLING_WEIGHTS in files and roll < 0.2:
            files[SIBLING_WEIGHTS], how = mutators.mutate_hdf5(rng, files[SIBLING_WEIGHTS],
                                                               seed.spans[SIBLING_WEIGHTS])
            how = "weights:" + how
        elif roll < 0.25:
            other = rng.choice([s for s in seeds[form] if SIBLING_WEIGHTS in s.files] or [seed])
            files[SIBLING_WEIGHTS] = other.files.get(SIBLING_WEIGHTS, b"")
            how = f"weights-from:{other.name}"
        else:
            files[main], how = mutators.mutate_text_config(rng, files[main], form)
    return how


def write_mutant(folder: Path, files: dict[str, bytes]) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


# ------------------------------------------------------------------------------------------------
# One load, in the child
# ------------------------------------------------------------------------------------------------


def _frame_text(filename: str, line: int | str, function: str) -> str:
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        try:
            filename = str(Path(filename).resolve().relative_to(REPO))
        except ValueError:
            pass
    return f"{filename}:{line} {function}"


def _is_modelio_frame(frame: str) -> bool:
    return frame.startswith("modelio/")


def _without_harness(frames: list[str]) -> list[str]:
    return [frame for frame in frames if not frame.startswith("tools/fuzz")]


def _stage_of(frames: list[str]) -> str:
    """Which step a stack (outermost first) was in: `load` or `predict`."""
    if any(frame.endswith((" load_model", " load_onnx_model")) for frame in frames):
        return "load"
    return "predict" if any(frame.endswith(" predict") for frame in frames) else "?"


def zeros_for(model) -> tuple[list, str]:
    """Zeros for each model input (unknown batch -> 2, other unknown dims -> 3), or a note why not."""
    arrays = []
    for tensor in model.inputs:
        shape = tuple(2 if i == 0 and dim is None else 3 if dim is None else dim
                      for i, dim in enumerate(tensor.shape))
        if not all(isinstance(dim, int | np.integer) and dim >= 0 for dim in shape):
            return [], f"predict skipped: input shape {tensor.shape!r}"
        if int(np.prod(shape, dtype=np.float64)) > MAX_INPUT_ELEMENTS:
            return [], f"predict skipped: input shape {shape} too large to feed"
        try:
            arrays.append(np.zeros(shape, dtype=np.dtype(str(tensor.dtype))))
        except TypeError as exc:
            return [], f"predict skipped: input dtype {tensor.dtype!r} ({exc})"
    return arrays, ""


def load_and_classify(path: Path) -> dict:
    """Load `path` and predict once; the outcome as a plain dict (runs in the child)."""
    stage, note = "load", ""
    started = time.monotonic()
    try:
        model = modelio.load_model(path)
        stage = "inputs"
        arrays, note = zeros_for(model)
        if arrays:
            stage = "predict"
            model.predict(arrays if len(arrays) > 1 else arrays[0])
    except modelio.ModelioError as exc:
        return _outcome("modelio", exc, stage, started)
    except MemoryError as exc:
        return _outcome("memory", exc, stage, started)
    except BaseException as exc:  # noqa: BLE001 - every other escape is what the fuzzer looks for
        return _outcome("other", exc, stage, started)
    return {"class": "ok", "type": "", "message": note, "stage": "done", "frames": [],
            "seconds": time.monotonic() - started}


def _outcome(kind: str, exc: BaseException, stage: str, started: float) -> dict:
    frames = _without_harness([_frame_text(f.filename, f.lineno, f.name)
                               for f in traceback.extract_tb(exc.__traceback__)])
    return {"class": kind, "type": type(exc).__name__, "message": str(exc)[:500], "stage": stage,
            "frames": frames[-12:], "seconds": time.monotonic() - started}


def _address_space_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def child_main(path: Path, result_fd: int, stderr_path: Path, memory_bytes: int) -> None:
    """What a forked child does: limits, one load, the outcome written to `result_fd`; never
    returns."""
    try:
        log = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        faulthandler.enable(file=log, all_threads=True)  # a crash prints the Python stack
        faulthandler.register(signal.SIGUSR1, file=log, all_threads=True)  # so does a hang
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if memory_bytes:
            limit = _address_space_now() + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        warnings.simplefilter("ignore")
        outcome = load_and_classify(path)
        payload = json.dumps(outcome).encode()
        while payload:
            payload = payload[os.write(result_fd, payload):]
    finally:
        os._exit(0)


# ------------------------------------------------------------------------------------------------
# The fork server: children in flight, timeouts, signals
# ------------------------------------------------------------------------------------------------


@dataclass
class Running:
    mutant: Mutant
    pid: int
    fd: int
    folder: Path
    stderr_path: Path
    deadline: float
    started: float
    chunks: list = field(default_factory=list)
    dumped_at: float | None = None  # when SIGUSR1 asked a hung child for its Python stack


def _stack_from_faulthandler(text: str) -> list[str]:
    """Frames (outermost first) of the first thread faulthandler printed in `text`."""
    frames = []
    for line in text.splitlines():
        match = FRAME_LINE.match(line)
        if match:
            frames.append(_frame_text(match["file"], match["line"], match["func"]))
        elif frames and not line.strip():
            break
    return _without_harness(frames[::-1])


def classify_exit(job: Running, status: int, rusage, timed_out: bool) -> dict:
    """The outcome of a finished child: its own report, or what its death says."""
    seconds = time.monotonic() - job.started
    payload = b"".join(job.chunks)
    if payload and not timed_out:
        outcome = json.loads(payload)
    else:
        try:
            stderr = job.stderr_path.read_text(errors="replace")
        except OSError:
            stderr = ""
        frames = _stack_from_faulthandler(stderr)
        tail = "\n".join(line for line in stderr.splitlines()[-15:] if line.strip())
        if timed_out:
            outcome = {"class": "hang", "type": "timeout",
                       "message": f"no answer after {seconds:.1f} s"}
        elif os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ \
                else f"signal {number}"
            memory = number == signal.SIGKILL or "bad_alloc" in stderr
            outcome = {"class": "memory" if memory else "crash", "type": name,
                       "message": tail[-500:] or f"killed by {name}"}
        else:
            outcome = {"class": "crash", "type": f"exit {os.WEXITSTATUS(status)}",
                       "message": tail[-500:] or "exited without an answer"}
        outcome.update({"stage": _stage_of(frames), "frames": frames[-12:], "seconds": seconds,
                        "stderr_tail": tail[-2000:]})
    outcome["max_rss_mb"] = round(rusage.ru_maxrss / 1024, 1)
    return outcome


class ForkServer:
    """Forks one child per mutant, at most `jobs` at once, and collects their outcomes."""

    def __init__(self, jobs: int, timeout: float, memory_mb: int, workdir: Path):
        self.jobs, self.timeout, self.workdir = jobs, timeout, workdir
        self.memory_bytes = memory_mb * 1024 * 1024
        self.running: dict[int, Running] = {}
        self.free_slots = list(range(jobs))
        self.slot_of: dict[int, int] = {}

    def has_room(self) -> bool:
        return bool(self.free_slots)

    def start(self, mutant: Mutant) -> None:
        slot = self.free_slots.pop()
        folder = write_mutant(self.workdir / f"slot{slot}", mutant.files)
        stderr_path = self.workdir / f"slot{slot}.stderr"
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            child_main(folder / MAIN_FILE[mutant.format], write_fd, stderr_path,
                       self.memory_bytes)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        now = time.monotonic()
        self.running[read_fd] = Running(mutant, pid, read_fd, folder, stderr_path,
                                        now + self.timeout, now)
        self.slot_of[read_fd] = slot

    def wait_some(self) -> list[tuple[Mutant, dict, Path]]:
        """Block until at least one child finished (or a deadline passed); return the finished."""
        finished = []
        while not finished and self.running:
            now = time.monotonic()
            next_event = min(job.dumped_at + 1.0 if job.dumped_at else job.deadline
                             for job in self.running.values())
            try:
                ready, _, _ = select.select(list(self.running), [], [], max(0.0, next_event - now))
            except InterruptedError:
                ready = []
            for fd in ready:
                job = self.running[fd]
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if chunk:
                    job.chunks.append(chunk)
                else:
                    finished.append(self._reap(job, timed_out=False))
            now = time.monotonic()
            for job in [job for job in self.running.values() if now >= job.deadline]:
                if job.dumped_at is None:
                    job.dumped_at = now
                    self._signal(job.pid, signal.SIGUSR1)  # faulthandler: where is it stuck?
                elif now >= job.dumped_at + 1.0:
                    self._signal(job.pid, signal.SIGKILL)
                    finished.append(self._reap(job, timed_out=True))
        return finished

    @staticmethod
    def _signal(pid: int, number: int) -> None:
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    def _reap(self, job: Running, timed_out: bool) -> tuple[Mutant, dict, Path]:
        _, status, rusage = os.wait4(job.pid, 0)
        os.close(job.fd)
        del self.running[job.fd]
        self.free_slots.append(self.slot_of.pop(job.fd))
        return job.mutant, classify_exit(job, status, rusage, timed_out), job.folder

    def stop(self) -> None:
        for job in list(self.running.values()):
            self._signal(job.pid, signal.SIGKILL)
            try:
                os.wait4(job.pid, 0)
            except ChildProcessError:
                pass
            os.close(job.fd)
        self.running.clear()


# ------------------------------------------------------------------------------------------------
# Results: counts, buckets, saved mutants
# ------------------------------------------------------------------------------------------------


def bucket_key(form: str, outcome: dict) -> tuple:
    """Failures with the same key are one bug. A hang's innermost frame is wherever the loop
    happened to be when it was interrupted, so a hang is keyed by its innermost modelio frame."""
    frames = outcome.get("frames") or []
    innermost = frames[-1] if frames and outcome["class"] != "hang" else ""
    in_modelio = next((frame for frame in reversed(frames) if _is_modelio_frame(frame)), "")
    return (form, outcome["class"], outcome["type"], _strip_line(innermost),
            _strip_line(in_modelio))


def _strip_line(frame: str) -> str:
    """`path:line function` -> `path function`: a bucket survives unrelated edits above it."""
    path, _, rest = frame.partition(":")
    return f"{path} {rest.partition(' ')[2]}".strip()


def one_line(outcome: dict) -> str:
    frames = outcome.get("frames") or []
    where = frames[-1] if frames else "?"
    in_modelio = next((f for f in reversed(frames) if _is_modelio_frame(f)), "")
    also = f" (in modelio: {in_modelio})" if in_modelio and in_modelio != where else ""
    message = " ".join(str(outcome.get("message", "")).split())[:200]
    return (f"{outcome['class']} {outcome['type']} at {where}{also} during {outcome['stage']}: "
            f"{message}")


@dataclass
class Results:
    seed: int
    out: Path | None
    counts: dict = field(default_factory=dict)
    buckets: dict = field(default_factory=dict)
    max_rss: dict = field(default_factory=dict)
    slowest: dict = field(default_factory=dict)
    unpredicted: dict = field(default_factory=dict)
    total: int = 0

    def add(self, mutant: Mutant, outcome: dict, folder: Path) -> None:
        form = mutant.format
        per_format = self.counts.setdefault(form, dict.fromkeys(CLASSES, 0))
        per_format[outcome["class"]] += 1
        self.total += 1
        self.max_rss[form] = max(self.max_rss.get(form, 0), outcome.get("max_rss_mb", 0))
        if outcome.get("seconds", 0) > self.slowest.get(form, (0, -1))[0]:
            self.slowest[form] = (round(outcome["seconds"], 3), mutant.index)
        if outcome["class"] == "ok" and outcome.get("message"):
            self.unpredicted[form] = self.unpredicted.get(form, 0) + 1  # loaded, not run
        if outcome["class"] not in FAILURES:
            return
        key = bucket_key(form, outcome)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = {"id": len(self.buckets) + 1, "format": form, "class": outcome["class"],
                      "type": outcome["type"], "line": one_line(outcome), "count": 0,
                      "first_index": mutant.index, "how": mutant.how, "seed_file": mutant.seed,
                      "frames": outcome.get("frames", []), "saved": None}
            self.buckets[key] = bucket
            bucket["saved"] = self._save(bucket, mutant, outcome, folder)
        bucket["count"] += 1

    def _save(self, bucket: dict, mutant: Mutant, outcome: dict, folder: Path) -> str | None:
        if self.out is None:
            return None
        target = self.out / f"{bucket['id']:03d}-{mutant.format}-{outcome['class']}"
        write_mutant(target, mutant.files)
        lines = [one_line(outcome), "",
                 f"mutant: --seed {self.seed} --index {mutant.index} "
                 f"(python3 tools/fuzz.py --seed {self.seed} --index {mutant.index})",
                 f"replay: python3 tools/fuzz.py --replay {target / MAIN_FILE[mutant.format]}",
                 f"fixture: {mutant.seed}", f"mutation: {mutant.how}",
                 f"seconds: {outcome.get('seconds', 0):.2f}  max rss: "
                 f"{outcome.get('max_rss_mb', 0)} MB", "", "frames (outermost first):"]
        lines += [f"  {frame}" for frame in outcome.get("frames", [])]
        if outcome.get("stderr_tail"):
            lines += ["", "stderr tail:", outcome["stderr_tail"]]
        lines += ["", "message:", str(outcome.get("message", ""))]
        (target / "outcome.txt").write_text("\n".join(lines) + "\n")
        with open(self.out / "failures.txt", "a") as index:
            index.write(f"{target.name}: {one_line(outcome)}\n")
        return str(target)

    @property
    def failures(self) -> int:
        return sum(counts[kind] for counts in self.counts.values() for kind in FAILURES)

    def table(self) -> str:
        header = f"{'format':<8}{'mutants':>9}" + "".join(f"{kind:>9}" for kind in CLASSES)
        header += f"{'max rss MB':>12}{'slowest s':>11}"
        rows = [header]
        totals = dict.fromkeys(CLASSES, 0)
        for form in sorted(self.counts):
            counts = self.counts[form]
            for kind in CLASSES:
                totals[kind] += counts[kind]
            rows.append(f"{form:<8}{sum(counts.values()):>9}"
                        + "".join(f"{counts[kind]:>9}" for kind in CLASSES)
                        + f"{self.max_rss.get(form, 0):>12.0f}"
                        + f"{self.slowest.get(form, (0, 0))[0]:>11.2f}")
        rows.append(f"{'total':<8}{self.total:>9}" + "".join(f"{totals[k]:>9}" for k in CLASSES))
        if self.unpredicted:
            rows.append("loaded but not run (inputs that zeros cannot feed): " + ", ".join(
                f"{form} {count}" for form, count in sorted(self.unpredicted.items())))
        return "\n".join(rows)

    def summary(self, seconds: float) -> dict:
        return {"seed": self.seed, "mutants": self.total, "seconds": round(seconds, 1),
                "counts": self.counts, "failures": self.failures,
                "ok_without_predict": self.unpredicted,
                "buckets": [{k: v for k, v in bucket.items()} for bucket in self.buckets.values()]}


# ------------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------------


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutant sequence")
    parser.add_argument("--iterations", type=int, default=None,
                        help="mutants to run (default 1000 unless --seconds is given)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop starting mutants after this many seconds")
    parser.add_argument("--start", type=int, default=0, help="index of the first mutant")
    parser.add_argument("--index", type=int, default=None, help="run only mutant INDEX")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="comma-separated subset of " + ",".join(FORMATS))
    parser.add_argument("--jobs", type=int, default=1, help="children in flight at once")
    parser.add_argument("--memory-mb", type=int, default=1024,
                        help="address space a load may add to the imported library (RLIMIT_AS)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per load")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for one mutant per failure bucket (+ failures.txt)")
    parser.add_argument("--summary-json", type=Path, default=None,
                        help="write counts and buckets as JSON here")
    parser.add_argument("--replay", type=Path, default=None,
                        help="load this one file (a saved mutant) under the same limits")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--atheris", action="store_true",
                        help="coverage-guided mode with atheris (one format; see tools/fuzz_atheris.py)")
    arguments, rest = parser.parse_known_args(argv)
    arguments.libfuzzer_arguments = rest
    arguments.formats = [name.strip() for name in arguments.formats.split(",") if name.strip()]
    unknown = sorted(set(arguments.formats) - set(FORMATS))
    if unknown or not arguments.formats:
        parser.error(f"unknown formats {unknown}; choose from {','.join(FORMATS)}")
    if rest and not arguments.atheris:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if arguments.jobs < 1:
        parser.error("--jobs must be at least 1")
    if arguments.iterations is None and arguments.seconds is None:
        arguments.iterations = 1000
    return arguments


def replay(arguments, workdir: Path) -> int:
    """Load one saved mutant (with its folder's sibling files) under the fuzzing limits."""
    source = arguments.replay
    files = {path.name: path.read_bytes() for path in source.parent.iterdir() if path.is_file()}
    form = next((f for f, name in MAIN_FILE.items() if source.name == name),
                source.suffix.lstrip(".").lower().replace("hdf5", "h5"))
    if form not in MAIN_FILE:
        print(f"{source}: unknown format {form!r}", file=sys.stderr)
        return 2
    files[MAIN_FILE[form]] = source.read_bytes()
    server = ForkServer(1, arguments.timeout, arguments.memory_mb, workdir)
    server.start(Mutant(0, form, str(source), "replay", files))
    (_, outcome, _), = server.wait_some()
    print(one_line(outcome))
    for frame in outcome.get("frames", []):
        print(f"  {frame}")
    return 1 if outcome["class"] in FAILURES else 0


def run(arguments) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="modelio-fuzz-"))
    try:
        if arguments.replay:
            return replay(arguments, workdir)
        if arguments.out:
            arguments.out.mkdir(parents=True, exist_ok=True)
        seeds = collect_seeds(arguments.formats, workdir)
        empty = [form for form, found in seeds.items() if not found]
        if empty:
            print(f"no fixture loads for formats {empty}", file=sys.stderr)
            return 2
        if arguments.atheris:
            import fuzz_atheris  # noqa: PLC0415 - optional dependency, only for this mode
            return fuzz_atheris.run(arguments, seeds)
        return fuzz(arguments, seeds, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def fuzz(arguments, seeds: dict[str, list[Seed]], workdir: Path) -> int:
    print(f"modelio {modelio.__file__}; seeds: "
          + ", ".join(f"{form} {len(found)}" for form, found in seeds.items())
          + f"; seed {arguments.seed}, jobs {arguments.jobs}, timeout {arguments.timeout} s, "
            f"memory +{arguments.memory_mb} MB", file=sys.stderr)
    if arguments.index is not None:
        indices = iter([arguments.index])
    else:
        end = arguments.start + arguments.iterations if arguments.iterations is not None else None
        indices = iter(range(arguments.start, end) if end is not None else _count(arguments.start))
    results = Results(arguments.seed, arguments.out)
    server = ForkServer(arguments.jobs, arguments.timeout, arguments.memory_mb, workdir)
    started = last_report = time.monotonic()
    exhausted = False
    try:
        while True:
            while not exhausted and server.has_room():
                if arguments.seconds is not None and time.monotonic() - started > arguments.seconds:
                    exhausted = True
                    break
                index = next(indices, None)
                if index is None:
                    exhausted = True
                    break
                mutant = make_mutant(arguments.seed, index, arguments.formats, seeds)
                server.start(mutant)
            if not server.running:
                break
            for mutant, outcome, folder in server.wait_some():
                results.add(mutant, outcome, folder)
                if arguments.index is not None:
                    print(f"mutant {mutant.index} of {mutant.seed}: {mutant.how}\n"
                          f"{one_line(outcome)}")
                elif outcome["class"] in FAILURES and not arguments.quiet:
                    print(f"  #{mutant.index} {mutant.format}: {one_line(outcome)[:220]}",
                          file=sys.stderr)
            now = time.monotonic()
            if not arguments.quiet and now - last_report >= 5:
                last_report = now
                print(_progress(results, now - started), file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        server.stop()
    elapsed = time.monotonic() - started
    print(_progress(results, elapsed), file=sys.stderr)
    print(results.table())
    for bucket in results.buckets.values():
        saved = f" -> {bucket['saved']}" if bucket["saved"] else ""
        print(f"[{bucket['id']}] {bucket['format']} x{bucket['count']} (first #"
              f"{bucket['first_index']}): {bucket['line']}{saved}")
    if arguments.summary_json:
        arguments.summary_json.write_text(json.dumps(results.summary(elapsed), indent=1))
    return 1 if results.failures else 0


def _count(start: int):
    while True:
        yield start
        start += 1


def _progress(results: Results, elapsed: float) -> str:
    totals = dict.fromkeys(CLASSES, 0)
    for counts in results.counts.values():
        for kind in CLASSES:
            totals[kind] += counts[kind]
    rate = results.total / elapsed if elapsed else 0.0
    return (f"[{elapsed:7.1f} s] {results.total} mutants ({rate:.0f}/s) "
            + " ".join(f"{kind} {totals[kind]}" for kind in CLASSES)
            + f"; buckets {len(results.buckets)}")


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    try:
        return run(arguments)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            print(f"fuzz: disk full: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.modules.setdefault("fuzz", sys.modules["__main__"])  # tools/fuzz_atheris.py imports it
    sys.exit(main())
