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
