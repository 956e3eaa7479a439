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
from .custom_objects_option import CUSTOM_OBJECTS_HELP, import_custom_objects
from .describe import summary_document, summary_report
from .diff import diff_models
from .errors import FormatError, ModelioError
from .graph.custom_objects import custom_object_scope
from .inputs import random_inputs, read_inputs, read_reference, recording_beside, shape_text
from .outputs import check_npz_path, predict_outputs, save_npz, unique_output_names
from .plot import write_plot
from .saving import (
    TEXT_WRITERS,
    convert_to_onnx,
    file_metadata,
    load_model,
    save_model,
    save_weights,
    sibling_weights_path,
)
from .verify import require_onnxruntime, verify_model, worst_difference
from .version import __version__

# What each command says in `modelio --help` (one line) and `modelio COMMAND --help`.
HELP = {
    "convert": (
        "convert a model file to another format (.onnx, .keras, .h5, .json, .yaml)",
        "Read SRC in any format modelio reads (a file, or an unzipped Keras model folder) and "
        "write DST in the format its extension names: .onnx, .keras, .h5, .json or .yaml (+ DST's "
        ".weights.h5), .weights.h5 (weights only), .weights.json with --max-shard-size (sharded "
        "weights), or a model folder with --unzipped. ONNX graphs keep the model's layout and a "
        "symbolic batch."),
    "summary": (
        "print the layer table, shapes, parameter counts and producer of a model file",
        "Print a Keras-style table of a model's layers (name, class, output shape, parameters, "
        "inbound layers), the totals, the inputs and outputs, the file format and the Keras "
        "version that wrote the file."),
    "run": (
        "run a model on .npy/.npz inputs with numpy kernels and save the outputs",
        "Run SRC on the arrays in the --input files and save every output in OUT.npz under the "
        "model's output names."),
    "verify": (
        "check that the exported ONNX graph computes what modelio's numpy kernels do",
        "Export SRC to ONNX in memory, run the same inputs through modelio's numpy kernels and "
        "onnxruntime, and print the largest difference per output. With Keras-recorded outputs "
        "(--reference, or SRC.npz beside SRC, keys 'input:<name>' and 'output:<i>') the recorded "
        "inputs are used and each output is also compared with what Keras computed; otherwise "
        "random inputs. Exit status 1 when a difference exceeds --atol."),
    "plot": (
        "draw the layer graph as Graphviz DOT, SVG or PNG",
        "Write the layer graph of SRC (layer names, classes, output shapes; an edge per inbound "
        "tensor; nested models as clusters). .dot is written by modelio; .svg and .png are rendered "
        "by Graphviz's 'dot' program."),
    "diff": (
        "compare two model files: architecture by layer, then weights",
        "Compare the models in A and B: added and removed layers, class, config and connectivity "
        "changes, weight shape changes and the largest absolute difference of every weight."),
}

EXAMPLES = {
    "convert": "examples:\n"
               "  modelio convert fixtures/keras3_files/mlp.keras mlp.onnx\n"
               "  modelio convert mlp.keras mlp_folder --unzipped     # Keras's zipped=False\n"
               "  modelio convert mlp.keras mlp.weights.json --max-shard-size 0.5   # GB\n"
               "  modelio convert custom.keras custom.onnx --custom-objects my_objects:CUSTOM\n"
               "  modelio convert model.h5 model.keras --force\n"
               "  modelio convert model.keras model.h5 --keras-version 2   # for tf-keras\n"
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


INPUT_SHAPE_HELP = ("fix the sizes of an ONNX model's input NAME (symbolic, -1 or 0 dims); '?' "
                    "leaves one free; repeat for each input")


def input_shape(text: str) -> tuple:
    """NAME=1,3,640,640 -> (NAME, (1, 3, 640, 640)); '?' leaves a size free."""
    name, separator, dims = text.rpartition("=")
    try:
        shape = tuple(None if dim.strip() == "?" else int(dim) for dim in dims.split(",")) \
            if dims.strip() else ()
    except ValueError:
        shape = None
    if not separator or not name or shape is None or any(
            dim is not None and dim < 1 for dim in shape):
        raise argparse.ArgumentTypeError(f"expected NAME=SIZE,SIZE,... with positive sizes, "
                                         f"got {text!r}")
    return name, shape


def _input_shapes(args) -> dict | None:
    """The --input-shape options as load_model's input_shapes (None when not given)."""
    pairs = getattr(args, "input_shapes", [])
    if not pairs:
        return None
    shapes = {}
    for name, shape in pairs:
        if name in shapes and shapes[name] != shape:
            raise FormatError(f"--input-shape gives input '{name}' twice")
        shapes[name] = shape
    return shapes


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
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

    def command(name: str, handler, source: str | None = None):
        """A subcommand running `handler`, with its texts, the common options and, when `source`
        is given, the SRC argument it describes."""
        sub = commands.add_parser(name, help=HELP[name][0], description=HELP[name][1],
                                  epilog=EXAMPLES[name],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common_options(sub, default=argparse.SUPPRESS)
        sub.add_argument("--custom-objects", dest="custom_objects", action="append", default=[],
                         metavar="MODULE:NAME", help=CUSTOM_OBJECTS_HELP)
        sub.add_argument("--input-shape", dest="input_shapes", action="append", default=[],
                         type=input_shape, metavar="NAME=1,3,640,640", help=INPUT_SHAPE_HELP)
        if source is not None:
            sub.add_argument("source", metavar="SRC", help=source)
        sub.set_defaults(handler=handler)
        return sub

    convert = command("convert", run_convert, source="model file to read")
    convert.add_argument("destination", metavar="DST", help="file to write; its extension picks the format")
    convert.add_argument("--opset", type=int, default=None, help="ONNX opset, 13 to 26 (default 17)")
    convert.add_argument("--nchw", action="store_true",
                         help="ONNX inputs/outputs channels-first (the model stays channels-last inside)")
    convert.add_argument("--batch", type=positive_int, default=None,
                         help="fix the ONNX batch size (default: dynamic)")
    convert.add_argument("--external-data", action="store_true",
                         help="write ONNX weights to DST.data (automatic above 1.8 GiB)")
    convert.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    convert.add_argument("--unzipped", action="store_true",
                         help="write DST as an unzipped Keras model folder (Keras's zipped=False; "
                              "DST must not end in .keras)")
    convert.add_argument("--keras-version", type=int, choices=(2, 3), default=None,
                         help="config dialect of a .h5/.json/.yaml DST: 2 = tf-keras's (tf-keras "
                              "and Keras 3 load it), 3 = Keras 3's (default: SRC's dialect)")
    convert.add_argument("--max-shard-size", type=positive_float, default=None, metavar="GB",
                         help="write DST (*.weights.json) as sharded weights, each shard at most "
                              "GB gigabytes (Keras's save_weights(max_shard_size=...))")

    summary = command("summary", run_summary, source="model file (.keras, .h5, .json, .yaml)")
    summary.add_argument("--json", action="store_true", help="print machine-readable JSON instead")

    run = command("run", run_run, source="model file to run")
    run.add_argument("--input", dest="inputs", action="append", required=True, metavar="X.npy|X.npz",
                     help="input arrays; repeat for several .npy files (in input order)")
    run.add_argument("--output", required=True, metavar="OUT.npz", help="where to save the outputs")
    run.add_argument("--batch-size", type=positive_int, default=32,
                     help="samples computed at once (default 32)")

    verify = command("verify", run_verify, source="model file to check")
    verify.add_argument("--opset", type=int, default=None, help="ONNX opset, 13 to 26 (default 17)")
    verify.add_argument("--atol", type=non_negative_float, default=1e-4,
                        help="largest allowed difference (default 1e-4)")
    verify.add_argument("--batch", type=positive_int, default=2,
                        help="batch size of the random inputs (default 2)")
    verify.add_argument("--reference", metavar="REF.npz", default=None,
                        help="recorded inputs and outputs (default: SRC.npz when it exists)")

    plot = command("plot", run_plot, source="model file to draw")
    plot.add_argument("-o", "--output", required=True, metavar="OUT.{dot,svg,png}",
                      help="file to write; its extension picks DOT, SVG or PNG")

    diff = command("diff", run_diff)
    diff.add_argument("first", metavar="A", help="model file")
    diff.add_argument("second", metavar="B", help="model file to compare with A")
    diff.add_argument("--atol", type=non_negative_float, default=0.0,
                      help="weights differing by at most this count as equal (default 0)")
    return parser


def _add_common_options(parser: argparse.ArgumentParser, default) -> None:
    # Accepted before or after the command; SUPPRESS keeps a subcommand from resetting them.
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="print no informational output and no progress")
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show a traceback on errors")


# ----- commands -----------------------------------------------------------------------------------

def run_convert(args) -> int:
    destination = Path(args.destination)
    if args.destination == "-" or args.source == "-":
        raise FormatError("'-' is not a file: give file paths for SRC and DST")
    if destination.exists() and not args.force:
        raise FormatError(f"{destination}: already exists (use --force to overwrite)")
    weights_beside = _sibling_weights(destination)
    if weights_beside is not None and weights_beside.exists() and not args.force:
        raise FormatError(f"{weights_beside}: already exists and would be replaced by the weights of "
                          f"{destination} (use --force to overwrite)")
    if args.unzipped and args.max_shard_size is not None:
        raise FormatError("--unzipped writes a model folder and --max-shard-size sharded weights: "
                          "give one of them")
    if args.max_shard_size is not None and not destination.name.lower().endswith(".weights.json"):
        raise FormatError(f"{destination}: --max-shard-size writes a *.weights.json index")
    is_onnx = destination.suffix.lower() == ".onnx" and not args.unzipped
    if args.keras_version is not None and (
            args.unzipped or args.max_shard_size is not None
            or destination.suffix.lower() not in (".h5", ".hdf5", *TEXT_WRITERS)
            or destination.name.lower().endswith(".weights.h5")):
        raise FormatError("--keras-version applies to .h5, .json and .yaml model destinations only")
    if not is_onnx and (args.opset is not None or args.batch is not None or args.external_data
                        or args.nchw):
        raise FormatError("--opset, --batch, --nchw and --external-data apply to .onnx "
                          "destinations only")
    if is_onnx:
        # convert_to_onnx holds the model only while lowering it: half the peak memory
        with progress.step(f"converting {args.source} to {destination}"):
            convert_to_onnx(args.source, destination, opset=args.opset, batch_size=args.batch,
                            external_data=args.external_data or None, nchw=args.nchw,
                            input_shapes=_input_shapes(args))
        say(args, f"wrote {destination}")
        return 0
    model = load_with_progress(args.source, args)
    if args.unzipped:
        with progress.step(f"writing {destination}"):
            save_model(model, destination, zipped=False)
    elif args.max_shard_size is not None:
        with progress.step(f"writing {destination}"):
            save_weights(model, destination, max_shard_size=args.max_shard_size)
    elif destination.name.lower().endswith(".weights.h5"):
        with progress.step(f"writing {destination}"):
            save_weights(model, destination)
    else:
        with progress.step(f"writing {destination}"):
            save_model(model, destination, keras_version=args.keras_version)
        if weights_beside is not None and not model.weights and weights_beside.exists():
            weights_beside.unlink()  # stale: load_model(DST) would apply it to this model
    say(args, f"wrote {destination}")
    return 0


def run_summary(args) -> int:
    model = load_with_progress(args.source, args)
    metadata = file_metadata(args.source)
    if args.json:
        print(json.dumps(summary_document(model, metadata), indent=2))
    else:
        print(summary_report(model, metadata))
    return 0


def run_run(args) -> int:
    output = check_npz_path(args.output)
    model = load_with_progress(args.source, args)
    arrays = read_inputs(model, args.inputs)
    with progress.step(f"running {model.name}"):
        outputs = predict_outputs(model, arrays, args.batch_size)
    named = dict(zip(unique_output_names(model), outputs))
    save_npz(output, named)
    say(args, f"wrote {output}: " + ", ".join(f"{name} {shape_text(value.shape)} {value.dtype}"
                                              for name, value in named.items()))
    return 0


def run_verify(args) -> int:
    require_onnxruntime()
    model = load_with_progress(args.source, args)
    reference = Path(args.reference) if args.reference is not None else recording_beside(args.source)
    if reference is not None:
        inputs, recorded = read_reference(model, reference)
        say(args, f"reference: {reference} ({len(inputs[0]) if inputs[0].ndim else 1} recorded "
                  f"sample(s))")
    else:
        inputs, recorded = random_inputs(model, args.batch), None
    checks = verify_model(model, inputs, recorded, opset=args.opset, atol=args.atol,
                          source=args.source)
    for check in checks:
        say(args, f"{check.name}: " + ", ".join(f"max |numpy - {what}| = {value:.3g}"
                                                for what, value in check.differences)
            + f" ({'ok' if check.passed else 'MISMATCH'})")
    if not all(check.passed for check in checks):
        if not args.quiet:
            print(f"modelio: verify failed: {worst_difference(checks):.3g} > atol {args.atol:g}",
                  file=sys.stderr)
        return 1
    return 0


def run_plot(args) -> int:
    model = load_with_progress(args.source, args)
    write_plot(model, args.output)
    say(args, f"wrote {args.output}")
    return 0


def run_diff(args) -> int:
    first = load_with_progress(args.first, args)
    second = load_with_progress(args.second, args)
    differences = diff_models(first, second, atol=args.atol)
    for difference in differences:
        say(args, str(difference))
    if differences:
        say(args, f"{len(differences)} difference(s) between {args.first} and {args.second}")
        return 1
    say(args, f"equal: {args.first} and {args.second} hold the same model")
    return 0


# ----- helpers ------------------------------------------------------------------------------------

def say(args, text: str) -> None:
    """Print an informational line, unless -q."""
    if not args.quiet:
        print(text)


def _sibling_weights(destination: Path) -> Path | None:
    """The `<stem>.weights.h5` that saving a .json/.yaml architecture writes beside it."""
    if destination.suffix.lower() in TEXT_WRITERS:
        return sibling_weights_path(destination)
    return None


def load_with_progress(path, args=None):
    """Load `path` with the command's --input-shape options (for `diff`, given to its ONNX
    files, refused when neither is ONNX)."""
    shapes = _input_shapes(args) if args is not None else None
    if shapes is not None and args.command == "diff":
        if not any(str(other).lower().endswith(".onnx") for other in (args.first, args.second)):
            raise FormatError("--input-shape applies to ONNX files only, and neither model is one")
        if not str(path).lower().endswith(".onnx"):
            shapes = None
    with progress.step(f"loading {path}"):
        return load_model(path) if shapes is None else load_model(path, input_shapes=shapes)


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
        with custom_object_scope(import_custom_objects(getattr(args, "custom_objects", []))):
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
    # One line whatever the message holds (a library's multi-line text quoted in it, a file name
    # with a newline): scripts read the error from the first line of stderr.
    print(f"modelio: error: {_one_line(message)}", file=sys.stderr)
    return 2


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


if __name__ == "__main__":
    sys.exit(main())
