"""The `modelio` command line: parse arguments, call the library, print, exit with a status.

Exit status: 0 success; 1 a check failed (`verify` above --atol, `diff` found differences); 2 bad
usage or bad input (one line `modelio: error: ...` on stderr, no traceback unless --debug).
"""

import argparse
import json
import sys
import traceback
from pathlib import Path

from . import progress
from .errors import FormatError, ModelioError, UnsupportedError
from .saving import load_model
from .version import __version__

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"

EXAMPLES = {
    "convert": "examples:\n"
               "  modelio convert fixtures/keras3_files/mlp.keras mlp.onnx\n"
               "  modelio convert model.h5 model.keras --force\n"
               "  modelio convert model.keras model.onnx --opset 13 --batch 1 --nchw",
    "summary": "examples:\n"
               "  modelio summary fixtures/keras3/mlp.json\n"
               "  modelio summary model.h5 --json",
    "run": "examples:\n"
           "  modelio run fixtures/keras2_files/mlp.h5 --input fixtures/keras2_files/mlp.h5.npz "
           "--output y.npz\n"
           "  modelio run model.keras --input image.npy --input mask.npy --output y.npz\n\n"
           ".npy inputs are matched to the model's inputs by position, .npz arrays by name (a key is "
           "an input name, or 'input:<name>').",
    "verify": "examples:\n"
              "  modelio verify fixtures/keras2_files/mlp.h5      # also compares with mlp.h5.npz\n"
              "  modelio verify model.keras --opset 13 --atol 1e-5 --reference recorded.npz",
    "plot": "examples:\n"
            "  modelio plot fixtures/keras3_files/nested_sequential.keras -o model.dot\n"
            "  modelio plot model.h5 -o model.svg        # needs Graphviz's 'dot' program",
    "diff": "examples:\n"
            "  modelio diff fixtures/keras3_files/mlp.keras mlp.h5\n"
            "  modelio diff old.keras new.keras --atol 1e-6\n\n"
            "exit status: 0 equal, 1 different, 2 bad input.",
}


class CommandLineParser(argparse.ArgumentParser):
    """argparse with modelio's one-line usage errors (exit status 2)."""

    def error(self, message: str):
        print(f"modelio: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(
        prog="modelio",
        description="Read, write, run and convert Keras-style models without TensorFlow.",
        epilog="Run 'modelio COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"modelio {__version__}")
    _add_common_options(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def command(name: str, help_text: str, description: str):
        sub = commands.add_parser(name, help=help_text, description=description,
                                  epilog=EXAMPLES[name],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common_options(sub, default=argparse.SUPPRESS)
        return sub

    convert = command(
        "convert", "convert a model file to another format (.onnx, .keras, .h5, .json, .yaml)",
        "Read SRC in any format modelio reads and write DST in the format its extension names: "
        ".onnx, .keras, .h5, .json or .yaml (+ DST's .weights.h5), or .weights.h5 (weights only). "
        "ONNX graphs keep the model's layout and a symbolic batch.")
    convert.add_argument("source", metavar="SRC", help="model file to read")
    convert.add_argument("destination", metavar="DST", help="file to write; its extension picks the format")
    convert.add_argument("--opset", type=int, default=None, help="ONNX opset, 13 to 26 (default 17)")
    convert.add_argument("--nchw", action="store_true",
                         help="ONNX inputs/outputs channels-first (the model stays channels-last inside)")
    convert.add_argument("--batch", type=positive_int, default=None,
                         help="fix the ONNX batch size (default: dynamic)")
    convert.add_argument("--external-data", action="store_true",
                         help="write ONNX weights to DST.data (automatic above 1.8 GiB)")
    convert.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    convert.set_defaults(handler=run_convert)

    summary = command(
        "summary", "print the layer table, shapes, parameter counts and producer of a model file",
        "Print a Keras-style table of a model's layers (name, class, output shape, parameters, "
        "inbound layers), the totals, the inputs and outputs, the file format and the Keras "
        "version that wrote the file.")
    summary.add_argument("source", metavar="SRC", help="model file (.keras, .h5, .json, .yaml)")
    summary.add_argument("--json", action="store_true", help="print machine-readable JSON instead")
    summary.set_defaults(handler=run_summary)

    run = command(
        "run", "run a model on .npy/.npz inputs with numpy kernels and save the outputs",
        "Run SRC on the arrays in the --input files and save every output in OUT.npz under the "
        "model's output names.")
    run.add_argument("source", metavar="SRC", help="model file to run")
    run.add_argument("--input", dest="inputs", action="append", required=True, metavar="X.npy|X.npz",
                     help="input arrays; repeat for several .npy files (in input order)")
    run.add_argument("--output", required=True, metavar="OUT.npz", help="where to save the outputs")
    run.add_argument("--batch-size", type=positive_int, default=32,
                     help="samples computed at once (default 32)")
    run.set_defaults(handler=run_run)

    verify = command(
        "verify", "check that the exported ONNX graph computes what modelio's numpy kernels do",
        "Export SRC to ONNX in memory, run the same inputs through modelio's numpy kernels and "
        "onnxruntime, and print the largest difference per output. With Keras-recorded outputs "
        "(--reference, or SRC.npz beside SRC, keys 'input:<name>' and 'output:<i>') the recorded "
        "inputs are used and each output is also compared with what Keras computed; otherwise "
        "random inputs. Exit status 1 when a difference exceeds --atol.")
    verify.add_argument("source", metavar="SRC", help="model file to check")
    verify.add_argument("--opset", type=int, default=None, help="ONNX opset, 13 to 26 (default 17)")
    verify.add_argument("--atol", type=non_negative_float, default=1e-4,
                        help="largest allowed difference (default 1e-4)")
    verify.add_argument("--batch", type=positive_int, default=2,
                        help="batch size of the random inputs (default 2)")
    verify.add_argument("--reference", metavar="REF.npz", default=None,
                        help="recorded inputs and outputs (default: SRC.npz when it exists)")
    verify.set_defaults(handler=run_verify)

    plot = command(
        "plot", "draw the layer graph as Graphviz DOT, SVG or PNG",
        "Write the layer graph of SRC (layer names, classes, output shapes; an edge per inbound "
        "tensor; nested models as clusters). .dot is written by modelio; .svg and .png are rendered "
        "by Graphviz's 'dot' program.")
    plot.add_argument("source", metavar="SRC", help="model file to draw")
    plot.add_argument("-o", "--output", required=True, metavar="OUT.{dot,svg,png}",
                      help="file to write; its extension picks DOT, SVG or PNG")
    plot.set_defaults(handler=run_plot)

    diff = command(
        "diff", "compare two model files: architecture by layer, then weights",
        "Compare the models in A and B: added and removed layers, class, config and connectivity "
        "changes, weight shape changes and the largest absolute difference of every weight.")
    diff.add_argument("first", metavar="A", help="model file")
    diff.add_argument("second", metavar="B", help="model file to compare with A")
    diff.add_argument("--atol", type=non_negative_float, default=0.0,
                      help="weights differing by at most this count as equal (default 0)")
    diff.set_defaults(handler=run_diff)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, default) -> None:
    # Accepted before or after the command; SUPPRESS keeps a subcommand from resetting them.
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="print no informational output and no progress")
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show a traceback on errors")


# ----- commands -----------------------------------------------------------------------------------

def run_convert(args) -> int:
    from .saving import save_model, save_weights

    destination = Path(args.destination)
    if args.destination == "-" or args.source == "-":
        raise FormatError("'-' is not a file: give file paths for SRC and DST")
    if destination.exists() and not args.force:
        raise FormatError(f"{destination}: already exists (use --force to overwrite)")
    weights_beside = _sibling_weights(destination)
    if weights_beside is not None and weights_beside.exists() and not args.force:
        raise FormatError(f"{weights_beside}: already exists and would be replaced by the weights of "
                          f"{destination} (use --force to overwrite)")
    is_onnx = destination.suffix.lower() == ".onnx"
    if not is_onnx and (args.opset is not None or args.batch is not None or args.external_data
                        or args.nchw):
        raise FormatError("--opset, --batch, --nchw and --external-data apply to .onnx "
                          "destinations only")
    if is_onnx:
        from .saving import convert_to_onnx

        # convert_to_onnx holds the model only while lowering it: half the peak memory
        with progress.step(f"converting {args.source} to {destination}"):
            convert_to_onnx(args.source, destination, opset=args.opset, batch_size=args.batch,
                            external_data=args.external_data or None, nchw=args.nchw)
        say(args, f"wrote {destination}")
        return 0
    model = load_with_progress(args.source)
    if destination.name.lower().endswith(".weights.h5"):
        with progress.step(f"writing {destination}"):
            save_weights(model, destination)
    else:
        with progress.step(f"writing {destination}"):
            save_model(model, destination)
        if weights_beside is not None and not model.weights and weights_beside.exists():
            weights_beside.unlink()  # stale: load_model(DST) would apply it to this model
    say(args, f"wrote {destination}")
    return 0


def run_summary(args) -> int:
    from .graph.summary import summary_text
    from .saving import file_metadata, producer_text

    model = load_with_progress(args.source)
    metadata = file_metadata(args.source)
    if args.json:
        record = summary_record(model)
        record["format"] = metadata["format"]
        record["producer"] = {key: metadata[key] for key in ("keras_version", "backend", "date_saved")}
        if "onnx" in metadata:
            record["producer"]["onnx"] = metadata["onnx"]
        print(json.dumps(record, indent=2))
        return 0
    print(summary_text(model))
    print(f" Inputs: {_endpoints_text(model.input_names, model.inputs)}")
    print(f" Outputs: {_endpoints_text(model.output_names, model.outputs)}")
    print(f" Format: {metadata['format_description']}")
    saved = f", saved {metadata['date_saved']}" if metadata["date_saved"] else ""
    print(f" Producer: {producer_text(metadata)}{saved}")
    return 0


def run_run(args) -> int:
    import numpy as np

    from .atomic import atomic_path

    output = Path(args.output)
    if output.suffix.lower() != ".npz":
        raise FormatError(f"{output}: --output must be an .npz file")
    model = load_with_progress(args.source)
    arrays = read_inputs(model, args.inputs)
    with progress.step(f"running {model.name}"):
        outputs = predict_outputs(model, arrays, args.batch_size)
    named = dict(zip(unique_output_names(model), outputs))
    with atomic_path(output) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, **named)
    say(args, f"wrote {output}: " + ", ".join(f"{name} {_shape_text(value.shape)} {value.dtype}"
                                              for name, value in named.items()))
    return 0


def run_verify(args) -> int:
    import numpy as np

    try:
        import onnxruntime
    except ImportError as exc:
        raise UnsupportedError("verify needs onnxruntime: pip install onnxruntime") from exc
    model = load_with_progress(args.source)
    reference = _reference_path(args)
    if reference is not None:
        inputs, recorded = read_reference(model, reference)
        say(args, f"reference: {reference} ({len(inputs[0]) if inputs[0].ndim else 1} recorded "
                  f"sample(s))")
    else:
        inputs, recorded = random_inputs(model, args.batch), None
    from .onnx import export_onnx

    with progress.step("exporting to ONNX"):
        proto = export_onnx(model, opset=args.opset)
    try:
        session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        onnx_outputs = session.run(None, {entry.name: array for entry, array
                                          in zip(session.get_inputs(), inputs)})
    except Exception as exc:  # onnxruntime raises its own exception types
        raise UnsupportedError(f"{args.source}: onnxruntime could not run the exported graph "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    numpy_outputs = predict_outputs(model, inputs, batch_size=None)
    worst, failed = 0.0, False
    for index, name in enumerate(unique_output_names(model)):
        mine = np.asarray(numpy_outputs[index], np.float64)
        differences = [("onnxruntime", largest_difference(mine, onnx_outputs[index]))]
        if recorded is not None:
            differences.append(("recorded", largest_difference(mine, recorded[index])))
        largest = max(value for _, value in differences)
        worst = max(worst, largest)
        passed = all(value <= args.atol for _, value in differences)  # False for nan
        failed = failed or not passed
        status = "ok" if passed else "MISMATCH"
        say(args, f"{name}: " + ", ".join(f"max |numpy - {what}| = {value:.3g}"
                                          for what, value in differences) + f" ({status})")
    if failed:
        if not args.quiet:
            print(f"modelio: verify failed: {worst:.3g} > atol {args.atol:g}", file=sys.stderr)
        return 1
    return 0


def run_plot(args) -> int:
    from .plot import write_plot

    model = load_with_progress(args.source)
    write_plot(model, args.output)
    say(args, f"wrote {args.output}")
    return 0


def run_diff(args) -> int:
    from .diff import diff_models

    first = load_with_progress(args.first)
    second = load_with_progress(args.second)
    differences = diff_models(first, second, atol=args.atol)
    for difference in differences:
        say(args, str(difference))
    if differences:
        say(args, f"{len(differences)} difference(s) between {args.first} and {args.second}")
        return 1
    say(args, f"equal: {args.first} and {args.second} hold the same model")
    return 0


# ----- inputs, outputs and helpers ----------------------------------------------------------------

def say(args, text: str) -> None:
    """Print an informational line, unless -q."""
    if not args.quiet:
        print(text)


def _sibling_weights(destination: Path) -> Path | None:
    """The `<stem>.weights.h5` that saving a .json/.yaml architecture writes beside it."""
    from .saving import TEXT_WRITERS, sibling_weights_path

    if destination.suffix.lower() in TEXT_WRITERS:
        return sibling_weights_path(destination)
    return None


def load_with_progress(path):
    with progress.step(f"loading {path}"):
        return load_model(path)


def read_inputs(model, paths: list[str]) -> list:
    """The arrays for `model.inputs`, in order, from .npy files (by position) or .npz files (by
    name: keys are input names or 'input:<name>'). Each is checked against the input's shape and
    cast to its dtype; a problem is a FormatError naming the input and the file."""
    kinds = {Path(path).suffix.lower() for path in paths}
    unknown = kinds - {".npy", ".npz"}
    if unknown:
        raise FormatError(f"--input takes .npy or .npz files, got {', '.join(sorted(unknown))}")
    if kinds == {".npy", ".npz"}:
        raise FormatError("give the inputs either as .npy files (by position) or as .npz files "
                          "(by name), not both")
    names = model.input_names
    if kinds == {".npy"}:
        sources = [(path, _load_npy(path)) for path in paths]
        if len(paths) != len(names):
            raise FormatError(f"model '{model.name}' has {len(names)} input(s) ({', '.join(names)}); "
                              f"got {len(paths)} .npy file(s)")
    else:
        found = {}
        for path in paths:
            for key, array in _load_npz(path).items():
                name = key[len("input:"):] if key.startswith("input:") else key
                found.setdefault(name, (path, array))
        missing = [name for name in names if name not in found]
        if missing:
            raise FormatError(f"no array for input(s) {', '.join(map(repr, missing))} in "
                              f"{', '.join(paths)} (it holds {', '.join(sorted(found)) or 'nothing'}; "
                              f"the model's inputs are {', '.join(names)})")
        sources = [found[name] for name in names]
    arrays = [checked_input(name, tensor, array, path)
              for name, tensor, (path, array) in zip(names, model.inputs, sources)]
    batch_sizes = {array.shape[0] for array in arrays}
    if len(batch_sizes) > 1:
        raise FormatError("the inputs have different batch sizes: "
                          + ", ".join(f"{name} {array.shape[0]}" for name, array in zip(names, arrays)))
    return arrays


def checked_input(name: str, tensor, array, source: str):
    """`array` cast to the model input's dtype, after checking its shape and kind of values."""
    import numpy as np

    expected_shape, expected_dtype = tuple(tensor.shape), np.dtype(tensor.dtype)
    wanted = (f"input '{name}' expects {expected_dtype.name} values of shape "
              f"{_shape_text(expected_shape)} (None = any size)")
    given = f"{source} gives {array.dtype} values of shape {_shape_text(array.shape)}"
    if array.ndim != len(expected_shape) or any(
            want is not None and want != got for want, got in zip(expected_shape, array.shape)):
        raise FormatError(f"{wanted}; {given}")
    if not _castable(array.dtype, expected_dtype):
        raise FormatError(f"{wanted}; {given} ({array.dtype} cannot be used as "
                          f"{expected_dtype.name})")
    return array.astype(expected_dtype, copy=False)


def _castable(given, expected) -> bool:
    if expected.kind == "f":
        return given.kind in "biuf"
    if expected.kind in "iu":
        return given.kind in "biu"
    if expected.kind == "b":
        return given.kind == "b"
    return given == expected


def _load_npy(path: str):
    import numpy as np

    _check_input_file(path)
    if not _starts_with(path, NPY_MAGIC):
        raise FormatError(f"{path}: not a .npy file (the .npy signature is missing)")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"{path}: not a readable .npy array ({_first_line(exc)})") from exc
    if not isinstance(array, np.ndarray):
        raise FormatError(f"{path}: not a .npy array")
    return array


def _load_npz(path: str) -> dict:
    import zipfile

    import numpy as np

    _check_input_file(path)
    if not _starts_with(path, ZIP_MAGIC):
        raise FormatError(f"{path}: not an .npz file (it is not a zip archive)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise FormatError(f"{path}: a .npy array, not an .npz archive")
    with loaded:
        try:
            return {key: loaded[key] for key in loaded.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FormatError(f"{path}: not a readable .npz archive ({_first_line(exc)})") from exc


def _starts_with(path: str, magic: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _check_input_file(path: str) -> None:
    from .formats.probe import check_regular_file

    check_regular_file(Path(path))


def predict_outputs(model, arrays: list, batch_size: int | None) -> list:
    """`model.predict` on the arrays (in input order), every output as an array in output order."""
    from .graph.tree import flatten

    result = model.predict(arrays if len(arrays) > 1 else arrays[0], batch_size=batch_size)
    return [value for value in flatten(result)]


def unique_output_names(model) -> list[str]:
    """The model's output names, with `:<i>` added to a name already used (a layer with several
    outputs)."""
    names, seen = [], set()
    for index, name in enumerate(model.output_names):
        unique = name if name not in seen else f"{name}:{index}"
        seen.add(unique)
        names.append(unique)
    return names


def random_inputs(model, batch: int) -> list:
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = []
    for tensor in model.inputs:
        shape = (batch, *[dim or 1 for dim in tensor.shape[1:]])
        if np.dtype(tensor.dtype).kind in "iub":
            arrays.append(rng.integers(0, 2, shape).astype(tensor.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(tensor.dtype))
    return arrays


def read_reference(model, path: Path) -> tuple[list, list]:
    """Recorded inputs (in input order) and outputs (in output order) from an .npz with keys
    'input:<name>' and 'output:<i>' (as fixtures/keras2_files/*.h5.npz)."""
    stored = _load_npz(str(path))
    inputs = read_inputs_from_arrays(model, stored, str(path))
    outputs = []
    for index in range(len(model.outputs)):
        key = f"output:{index}"
        if key not in stored:
            raise FormatError(f"{path}: no recorded output '{key}' (keys: {', '.join(sorted(stored))})")
        outputs.append(stored[key])
    return inputs, outputs


def read_inputs_from_arrays(model, stored: dict, source: str) -> list:
    arrays = []
    for name, tensor in zip(model.input_names, model.inputs):
        key = f"input:{name}" if f"input:{name}" in stored else name
        if key not in stored:
            raise FormatError(f"{source}: no recorded input '{name}' (keys: {', '.join(sorted(stored))})")
        arrays.append(checked_input(name, tensor, stored[key], source))
    return arrays


def _reference_path(args) -> Path | None:
    if args.reference is not None:
        return Path(args.reference)
    sibling = Path(str(args.source) + ".npz")
    return sibling if sibling.is_file() else None


def largest_difference(mine, theirs) -> float:
    import numpy as np

    theirs = np.asarray(theirs, np.float64)
    if mine.shape != theirs.shape:
        raise FormatError(f"output shapes differ: numpy {mine.shape}, compared with {theirs.shape}")
    return float(np.max(np.abs(mine - theirs))) if mine.size else 0.0


def summary_record(model) -> dict:
    """The summary as plain data: one entry per layer, totals, inputs and outputs."""
    network_nodes = getattr(model, "_network_nodes", set())
    layers = []
    for layer in model.layers:
        nodes = [node for node in layer._inbound_nodes if node in network_nodes]
        layers.append({
            "name": layer.name,
            "class_name": type(layer).__name__,
            "output_shapes": [list(tensor.shape) for node in nodes for tensor in node.outputs],
            "params": layer.count_params() if layer.built else 0,
            "inbound": [f"{tensor._keras_history.layer.name}[{tensor._keras_history.node_index}]"
                        f"[{tensor._keras_history.tensor_index}]"
                        for node in nodes for tensor in node.input_tensors],
        })
    trainable = sum(weight.value.size for weight in model.trainable_weights)
    return {
        "name": model.name,
        "class_name": type(model).__name__,
        "inputs": [{"name": name, "shape": list(tensor.shape), "dtype": tensor.dtype}
                   for name, tensor in zip(model.input_names, model.inputs)],
        "outputs": [{"name": name, "shape": list(tensor.shape), "dtype": tensor.dtype}
                    for name, tensor in zip(model.output_names, model.outputs)],
        "layers": layers,
        "total_params": model.count_params(),
        "trainable_params": int(trainable),
        "non_trainable_params": model.count_params() - int(trainable),
    }


def _endpoints_text(names: list[str], tensors: list) -> str:
    return ", ".join(f"{name} {_shape_text(tensor.shape)} {tensor.dtype}"
                     for name, tensor in zip(names, tensors))


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if dim is None else str(dim) for dim in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ----- entry point --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    progress.set_enabled(not args.quiet)
    try:
        return args.handler(args)
    except ModelioError as exc:
        return _fail(args, str(exc))
    except OSError as exc:  # e.g. no permission to write DST's folder
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return _fail(args, f"{where}{exc.strerror or exc}")
    except MemoryError:
        return _fail(args, "out of memory (try a smaller --batch-size)")
    except KeyboardInterrupt:
        print("modelio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in modelio: still one line, the traceback with --debug
        return _fail(args, f"internal error ({type(exc).__name__}: {_first_line(exc)}); "
                           f"rerun with --debug for the traceback and please report it")


def _fail(args, message: str) -> int:
    if args.debug:
        traceback.print_exc()
    print(f"modelio: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
