"""The case-archive format shared by tools/*_case_fixtures.py (read by tests/case_archive.py):
arrays packed into flat per-dtype buffers, and an npz written with fixed zip timestamps so that
rerunning a generator gives a byte-identical file."""

import io
import os
import zipfile

import numpy as np


class Buffers:
    """Flat per-dtype buffers; `add` returns where an array went."""

    def __init__(self):
        self.parts: dict[str, list] = {}
        self.sizes: dict[str, int] = {}

    def add(self, array: np.ndarray) -> dict:
        dtype = str(array.dtype)
        offset = self.sizes.get(dtype, 0)
        self.parts.setdefault(dtype, []).append(array.reshape(-1))
        self.sizes[dtype] = offset + array.size
        return {"dtype": dtype, "shape": list(array.shape), "offset": offset}

    def arrays(self) -> dict:
        return {f"buffer:{dtype}": np.concatenate(parts) for dtype, parts in self.parts.items()}


def write_npz(path: str, arrays: dict) -> None:
    """Like np.savez_compressed, with fixed zip timestamps so reruns are byte-identical."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def read_case_archive(path: str):
    """`(document, read)` of a case archive `write_npz` wrote: the `cases_json` document and
    `read(case, key)`, the array `key` of `case`."""
    import json

    with np.load(path) as archive:
        buffers = {key.split(":", 1)[1]: archive[key] for key in archive.files
                   if key.startswith("buffer:")}
        document = json.loads(archive["cases_json"].tobytes().decode("utf-8"))

    def read(case: dict, key: str) -> np.ndarray:
        entry = case["arrays"][key]
        size = int(np.prod(entry["shape"]))
        return buffers[entry["dtype"]][entry["offset"]:entry["offset"] + size].reshape(
            entry["shape"])
    return document, read


def record_dialects(argv: list, record, script: str, keras2_python: str) -> None:
    """The `main` of a generator that records Keras 3 here and tf-keras in the tf-keras
    environment: `argv[1:]` names the dialects (default both); `record(dialect)` does the work,
    and when both are asked the keras2 half reruns `script` under `keras2_python`."""
    import subprocess
    import sys

    dialects = argv[1:] or ["keras3", "keras2"]
    if any(dialect not in ("keras3", "keras2") for dialect in dialects):
        sys.exit(f"usage: {os.path.basename(script)} [keras3] [keras2]")
    if "keras3" in dialects:
        record("keras3")
    if "keras2" in dialects:
        if len(dialects) == 1:
            record("keras2")
        else:
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
            subprocess.run([keras2_python, os.path.abspath(script), "keras2"], check=True, env=env)


def write_model_cases(path: str, keras, records: list, arrays: dict, fresh: list) -> None:
    """Write a whole-model case archive (read by tests/case_archive.load_model_cases): the
    `cases_json` document (Keras's version, the case records, configs of freshly made layers)
    beside the `<case id>/<key>` arrays, and say where it went."""
    import json

    document = {"keras_version": f"{keras.__name__} {keras.__version__}", "cases": records,
                "fresh_configs": fresh}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    write_npz(path, arrays)
    print(f"{keras.__name__} {keras.__version__}: {len(records)} cases -> {path} "
          f"({os.path.getsize(path)} bytes)")
