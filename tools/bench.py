"""Benchmarks, printed as numbers and ratios measured in one run (never asserted in tests).

    python3 tools/bench.py            # kernels, file I/O, graph scaling at 1k, 10k and 100k layers
    python3 tools/bench.py --quick    # the same, graph scaling at 1k and 10k only
    python3 tools/bench.py --tf2onnx  # also the tf-keras + tf2onnx route (slow)

ONNX import: `modelio.load_model("resnet50.onnx")` time and peak memory beside `onnx.load` +
numpy_helper alone.

ONNX conversion: `modelio convert` of a ResNet50 .keras file as a whole process, beside Keras 3's
own export (../kenv) and optionally tf2onnx (../k2env): wall time, peak memory, graph cleanliness
and onnxruntime inference time on each export.

File I/O: a ResNet50-sized model (25.6M parameters) saved and loaded in every format, beside
plain h5py writing and reading the same arrays, with the peak memory of each load.

Kernels: each numpy kernel beside onnxruntime on the same operation ("vs onnxrt": modelio's time
divided by onnxruntime's) and numpy's matmul at the same FLOP count ("of ceiling": how close the
kernel comes to what one big numpy matmul achieves here).

Graph scaling: time to call N Dense layers on symbolic tensors, build `Model()`, `get_config()`,
`Model.from_config()` and `predict()`; the per-layer cost column shows whether growth is linear.
"""

import argparse
import time

import numpy as np

import modelio
from modelio import layers


def chain_timings(count: int) -> dict:
    modelio.clear_session()
    timings = {}
    start = time.perf_counter()
    x = modelio.Input((4,))
    hidden = x
    for _ in range(count):
        hidden = layers.Dense(4)(hidden)
    timings["layer calls"] = time.perf_counter() - start

    start = time.perf_counter()
    model = modelio.Model(x, hidden)
    timings["Model()"] = time.perf_counter() - start

    start = time.perf_counter()
    config = model.get_config()
    timings["get_config"] = time.perf_counter() - start

    start = time.perf_counter()
    rebuilt = modelio.Model.from_config(config)
    timings["from_config"] = time.perf_counter() - start

    start = time.perf_counter()
    rebuilt.predict(np.ones((8, 4), np.float32))
    timings["predict"] = time.perf_counter() - start
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 100k-layer run")
    parser.add_argument("--skip-convert", action="store_true",
                        help="skip the ResNet50 conversion against the Keras route")
    parser.add_argument("--tf2onnx", action="store_true",
                        help="also time tf-keras + tf2onnx from ../k2env (about 40 s, 7 GB)")
    args = parser.parse_args()
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_kernels import kernel_report
    print("Kernels (best of 5 runs)")
    print("\n".join(kernel_report()))
    print()
    if not args.skip_convert:
        from bench_convert import convert_report
        print("ONNX conversion of a ResNet50 .keras file: modelio convert vs the Keras routes "
              "(whole processes; convert time best of 3 for modelio)")
        print("\n".join(convert_report(with_tf2onnx=args.tf2onnx)))
        print()
    from bench_import import import_report
    print("ONNX import of a ResNet50 exported by modelio (whole processes)")
    print("\n".join(import_report()))
    print()
    from bench_io import io_report
    print("File I/O: save and load times beside plain h5py on the same arrays; peak memory of a")
    print("load (tracemalloc) as a multiple of the weights' size")
    print("\n".join(io_report()))
    print()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    results = {size: chain_timings(size) for size in sizes}
    steps = list(results[sizes[0]])
    print("Graph scaling: a chain of N Dense(4) layers (seconds; µs per layer in brackets)")
    print(f"{'step':<12}" + "".join(f"{f'N={size:,}':>24}" for size in sizes))
    for step in steps:
        cells = "".join(f"{results[size][step]:>12.3f} [{1e6 * results[size][step] / size:>7.1f}]"
                        for size in sizes)
        print(f"{step:<12}{cells}")
    for smaller, larger in zip(sizes, sizes[1:]):
        for step in ("layer calls", "from_config"):
            growth = results[larger][step] / results[smaller][step]
            print(f"{step}: {smaller:,} -> {larger:,} layers took {growth:.1f}x longer "
                  f"(linear: {larger // smaller}x)")


if __name__ == "__main__":
    main()
