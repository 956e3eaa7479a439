"""Load and save speed and peak memory for a ResNet50-sized model (about 25.6 million
parameters, built with modelio) in every format, beside plain h5py writing and reading the same
arrays in the same run. Imported by tools/bench.py."""

import tempfile
import time
import tracemalloc
from pathlib import Path

import h5py

import modelio
from modelio import layers


def resnet50() -> modelio.Model:
    """ResNet50's layer graph (bottleneck blocks 3-4-6-3), 224x224x3 -> 1000 classes."""
    def bottleneck(x, filters, strides, project):
        shortcut = x
        y = layers.Conv2D(filters, 1, strides=strides)(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.Conv2D(filters, 3, padding="same")(y)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1)(y))
        if project:
            shortcut = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1, strides=strides)(x))
        return layers.ReLU()(layers.Add()([y, shortcut]))

    image = modelio.Input((224, 224, 3))
    x = layers.ZeroPadding2D(3)(image)
    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(64, 7, strides=2)(x)))
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for filters, blocks, strides in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for index in range(blocks):
            x = bottleneck(x, filters, strides if index == 0 else 1, project=index == 0)
    x = layers.GlobalAveragePooling2D()(x)
    return modelio.Model(image, layers.Dense(1000, activation="softmax")(x), name="resnet50")


def measured(function):
    """(seconds, peak bytes allocated by Python/numpy while it ran). Timed in a first run without
    tracemalloc (which slows Python code a lot), memory traced in a second run."""
    start = time.perf_counter()
    function()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    result = function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, result


def raw_h5py(arrays: list, path: Path) -> tuple[float, float]:
    def write():
        with h5py.File(path, "w") as handle:
            for index, array in enumerate(arrays):
                handle.create_dataset(str(index), data=array)

    def read():
        with h5py.File(path, "r") as handle:
            return [handle[str(index)][()] for index in range(len(arrays))]

    return measured(write)[0], measured(read)[0]


def io_report() -> list[str]:
    model = resnet50()
    weights = model.get_weights()
    weight_bytes = sum(array.nbytes for array in weights)
    lines = [f"ResNet50-sized model: {model.count_params():,} parameters, "
             f"{weight_bytes / 2**20:.1f} MiB of weights, {len(weights)} arrays"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        raw_write, raw_read = raw_h5py(weights, folder / "raw.h5")
        lines.append(f"{'format':<22}{'save':>9}{'vs h5py':>9}{'load':>9}{'vs h5py':>9}"
                     f"{'peak mem (load)':>18}")
        lines.append(f"{'plain h5py':<22}{raw_write:>8.2f}s{'1.00x':>9}{raw_read:>8.2f}s{'1.00x':>9}")
        for label, filename, save, load in (
            (".keras", "m.keras", modelio.save_model, modelio.load_model),
            (".h5 (full model)", "m.h5", modelio.save_model, modelio.load_model),
            (".weights.h5", "m.weights.h5", lambda m, p: m.save_weights(p),
             lambda p: model.load_weights(p)),
            (".h5 (Keras 2 weights)", "w.h5", lambda m, p: m.save_weights(p),
             lambda p: model.load_weights(p)),
            (".json + .weights.h5", "m.json", modelio.save_model, modelio.load_model),
        ):
            path = folder / filename
            save_seconds = measured(lambda save=save, path=path: save(model, path))[0]
            load_seconds, peak, _ = measured(lambda load=load, path=path: load(path))
            lines.append(f"{label:<22}{save_seconds:>8.2f}s{save_seconds / raw_write:>8.2f}x"
                         f"{load_seconds:>8.2f}s{load_seconds / raw_read:>8.2f}x"
                         f"{peak / weight_bytes:>12.2f}x wts")
        lines.extend(isolation_report(folder / "m.h5"))
    return lines


def isolation_report(path: Path) -> list[str]:
    """What parsing untrusted HDF5 in a child process costs: the isolated read of `path` beside
    the same walk done in this process (what an unprotected reader would pay)."""
    from modelio.formats import hdf5_isolated
    from modelio.formats.hdf5_tree import TreeEncoder

    def in_process():
        request = {"path": str(path), "byte_range": None, "name": str(path), "read_data": True,
                   "data_budget": 1 << 40}
        hdf5_isolated._Walker(request, TreeEncoder()).walk()

    direct = min(measured(in_process)[0] for _ in range(3))
    isolated = min(measured(lambda: hdf5_isolated.read_hdf5_tree(path))[0] for _ in range(3))
    return [f"HDF5 parse of m.h5: in a child process {isolated:.3f}s, in this process "
            f"{direct:.3f}s: isolation costs {isolated / direct:.2f}x "
            f"(+{(isolated - direct) * 1000:.0f} ms)"]


if __name__ == "__main__":
    print("\n".join(io_report()))
