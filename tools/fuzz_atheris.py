"""Coverage-guided mode of tools/fuzz.py, with atheris (libFuzzer for Python); optional:

    pip install atheris
    python3 tools/fuzz.py --atheris --formats h5 --seconds 3600 --timeout 10 --memory-mb 2048 \\
        --out fuzz-atheris [more libFuzzer flags, e.g. -fork=2 -ignore_crashes=1]

One format per run. The corpus starts from the committed fixtures of that format (kept in
OUT/corpus-FORMAT between runs); inputs are changed by the same format-aware mutations as the
random mode (a `.keras` member re-zipped with correct CRCs, a config changed as a document, ...)
or by libFuzzer's own byte mutations, and libFuzzer keeps those that reach new Python lines.
Loads run in this process, as libFuzzer wants: an exception other than a ModelioError (MemoryError
included) stops the run and saves the input under OUT (`crash-*`); so do a signal, a load slower
than --timeout (`timeout-*`) and a resident size over --memory-mb + 512 MB (`oom-*`). The
resident size is the whole process's, memory the allocator kept from earlier inputs included, so
an `oom-*` file may not be the input that allocated: replay every artifact in random mode
(`python3 tools/fuzz.py --replay DIR/model.h5`, after copying it there under the format's file
name), which runs it alone in a child with an address-space limit. libFuzzer's -fork=N keeps going
after a failure. Random mode (the default) forks per mutant instead and never stops.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import atheris
import fuzz
from fuzz_mutators import (
    mutate_hdf5,
    mutate_keras,
    mutate_onnx,
    mutate_text_config,
    read_zip_members,
)

import modelio

MAX_SIZE_FACTOR = 2  # inputs may grow to twice the largest seed


def _format_aware(form: str, data: bytes, rng: random.Random) -> bytes:
    """The random mode's mutation of `data` for `form` (raises when `data` no longer parses)."""
    if form == "h5":
        return mutate_hdf5(rng, data)[0]
    if form == "onnx":
        return mutate_onnx(rng, data)[0]
    if form == "keras":
        return mutate_keras(rng, data, read_zip_members(data), {})[0]
    return mutate_text_config(rng, data, form)[0]


def run(arguments, seeds: dict[str, list]) -> int:
    """Fuzz the one format in `arguments.formats` until libFuzzer stops; its exit status."""
    if len(arguments.formats) != 1:
        print("--atheris fuzzes one format at a time: pass --formats with one name",
              file=sys.stderr)
        return 2
    form = arguments.formats[0]
    out = arguments.out or Path(tempfile.mkdtemp(prefix="modelio-atheris-"))
    corpus = out / f"corpus-{form}"
    corpus.mkdir(parents=True, exist_ok=True)
    main_name = fuzz.MAIN_FILE[form]
    for seed in seeds[form]:
        (corpus / seed.name.replace("/", "_")).write_bytes(seed.files[main_name])
    folder = Path(tempfile.mkdtemp(prefix="modelio-atheris-load-"))
    sibling = next((s.files[fuzz.SIBLING_WEIGHTS] for s in seeds[form]
                    if fuzz.SIBLING_WEIGHTS in s.files), None)
    if sibling is not None:  # configs load with Keras's weights beside them, as in random mode
        (folder / fuzz.SIBLING_WEIGHTS).write_bytes(sibling)
    target = folder / main_name

    def test_one_input(data: bytes) -> None:
        target.write_bytes(data)
        try:
            model = modelio.load_model(target)
            arrays, _ = fuzz.zeros_for(model)
            if arrays:
                model.predict(arrays if len(arrays) > 1 else arrays[0])
        except modelio.ModelioError:
            pass

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < 0.7:
            try:
                mutated = _format_aware(form, data, rng)
                if len(mutated) <= max_size:
                    return mutated
            except Exception:  # the input no longer parses as its format: bytes instead
                pass
        return atheris.Mutate(data, max_size)

    largest = max(len(seed.files[main_name]) for seed in seeds[form])
    flags = [f"-timeout={int(max(1, arguments.timeout))}",
             f"-rss_limit_mb={arguments.memory_mb + 512}",
             f"-max_len={largest * MAX_SIZE_FACTOR}", f"-seed={arguments.seed or 1}",
             f"-artifact_prefix={out}/"]
    if arguments.seconds:
        flags.append(f"-max_total_time={int(arguments.seconds)}")
    if arguments.iterations:
        flags.append(f"-runs={arguments.iterations}")
    atheris.Setup([sys.argv[0], *flags, *arguments.libfuzzer_arguments, str(corpus)],
                  test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
    return 0
