"""Read the per-layer case archives that tools/*_case_fixtures.py record with real Keras: flat
per-dtype buffers (`buffer:<dtype>`) plus a `cases_json` document whose array entries give a
dtype, a shape and an offset into the buffer."""

import json
import math
from pathlib import Path

import numpy as np


def load_case_archive(path: Path) -> tuple[dict, dict]:
    """`(buffers by dtype, document)` of one archive."""
    with np.load(path) as archive:
        buffers = {key.split(":", 1)[1]: archive[key] for key in archive.files
                   if key.startswith("buffer:")}
        document = json.loads(archive["cases_json"].tobytes().decode("utf-8"))
    return buffers, document


def read_case_array(buffers: dict, case: dict, key: str) -> np.ndarray:
    """A copy of the array `key` of `case`."""
    entry = case["arrays"][key]
    size = math.prod(entry["shape"])
    flat = buffers[entry["dtype"]][entry["offset"]:entry["offset"] + size]
    return flat.reshape(entry["shape"]).copy()


def assert_matches_keras_output(output, expected: np.ndarray, case: dict, **tolerance) -> None:
    """An eager layer output against the one Keras recorded: array type, shape, the dtype Keras
    gave (`case["output_dtype"]`) and values within `tolerance`."""
    assert isinstance(output, np.ndarray)
    assert output.shape == expected.shape
    assert output.dtype == expected.dtype == np.dtype(case["output_dtype"])
    np.testing.assert_allclose(output, expected, **tolerance)


def load_model_cases(path: Path) -> tuple[dict, dict]:
    """(document, {case id: case}) of a whole-model case archive: a `cases_json` document plus
    `<case id>/<key>` arrays, which land in each case's `arrays` under `<key>`."""
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    document = json.loads(arrays.pop("cases_json").tobytes().decode("utf-8"))
    cases = {}
    for case in document["cases"]:
        prefix = f"{case['id']}/"
        case["arrays"] = {key[len(prefix):]: value for key, value in arrays.items()
                          if key.startswith(prefix)}
        cases[case["id"]] = case
    return document, cases
