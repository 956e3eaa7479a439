"""The `modelio` command line: parse arguments, call the library, print, exit with a status.

Exit status: 0 success, 2 bad usage or bad input (one line on stderr, no traceback unless --debug).
"""

import argparse
import json
import sys
import traceback

from .errors import FormatError, ModelioError
from .formats.dispatch import load_model
from .graph.summary import summary_text
from .version import __version__

EXAMPLES = {
    "summary": "example:\n  modelio summary fixtures/keras3/mlp.json\n  modelio summary model.yaml --json",
    "verify": "example:\n  modelio verify fixtures/keras3_files/small_resnet.keras\n"
              "  modelio verify model.h5 --opset 13 --atol 1e-5",
    "convert": "example:\n  modelio convert fixtures/keras3_files/mlp.keras mlp.onnx\n"
               "  modelio convert model.h5 model.keras --force",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelio",
        description="Read, write, run and convert Keras-style models without TensorFlow.",
        epilog="Run 'modelio COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"modelio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    convert = commands.add_parser(
        "convert", help="convert a model file to another format (.onnx, .keras, .h5, .json, .yaml)",
        description="Read SRC in any format modelio reads and write DST in the format its "
                    "extension names. ONNX graphs keep the model's layout and a symbolic batch.",
        epilog=EXAMPLES["convert"], formatter_class=argparse.RawDescriptionHelpFormatter)
    convert.add_argument("source", metavar="SRC", help="model file to read")
    convert.add_argument("destination", metavar="DST", help="file to write; its extension picks the format")
    convert.add_argument("--opset", type=int, default=None, help="ONNX opset, 13 to 26 (default 17)")
    convert.add_argument("--batch", type=int, default=None, help="fix the ONNX batch size (default: dynamic)")
    convert.add_argument("--external-data", action="store_true",
                         help="write ONNX weights to DST.data (automatic above 1.8 GiB)")
    convert.add_argument("--force", action="store_true", help="overwrite DST if it exists")
    convert.set_defaults(handler=run_convert)

    verify = commands.add_parser(
        "verify", help="check that the exported ONNX graph computes what modelio's numpy kernels do",
        description="Export SRC to ONNX in memory, run the same random inputs through modelio's "
                    "numpy kernels and onnxruntime, and print the largest difference per output. "
                    "Exit status 1 when a difference exceeds --atol.",
        epilog=EXAMPLES["verify"], formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("source", metavar="SRC", help="model file to check")
    verify.add_argument("--opset", type=int, default=None, help="ONNX opset, 13 to 26 (default 17)")
    verify.add_argument("--atol", type=float, default=1e-4, help="largest allowed difference (default 1e-4)")
    verify.add_argument("--batch", type=int, default=2, help="batch size of the random inputs (default 2)")
    verify.set_defaults(handler=run_verify)

    summary = commands.add_parser(
        "summary", help="print the layer table, shapes and parameter counts of a model file",
        description="Print a Keras-style table of a model's layers: name, class, output shape, "
                    "parameters and inbound layers, then totals.",
        epilog=EXAMPLES["summary"], formatter_class=argparse.RawDescriptionHelpFormatter)
    summary.add_argument("source", metavar="SRC", help="model file (.json, .yaml)")
    summary.add_argument("--json", action="store_true", help="print machine-readable JSON instead")
    summary.set_defaults(handler=run_summary)
    return parser


def run_convert(args) -> int:
    from pathlib import Path

    from .formats.dispatch import save_model
    from .onnx import export_onnx

    destination = Path(args.destination)
    if args.destination == "-" or args.source == "-":
        raise FormatError("'-' is not a file: give file paths for SRC and DST")
    if destination.exists() and not args.force:
        raise FormatError(f"{destination}: already exists (use --force to overwrite)")
    model = load_model(args.source)
    if destination.suffix.lower() == ".onnx":
        export_onnx(model, destination, opset=args.opset, batch_size=args.batch,
                    external_data=args.external_data or None)
    else:
        if args.opset is not None or args.batch is not None or args.external_data:
            raise FormatError("--opset, --batch and --external-data apply to .onnx destinations only")
        save_model(model, destination)
    print(f"wrote {destination}")
    return 0


def run_verify(args) -> int:
    import numpy as np

    from .onnx import export_onnx

    try:
        import onnxruntime
    except ImportError as exc:
        raise FormatError("verify needs onnxruntime: pip install onnxruntime") from exc
    model = load_model(args.source)
    proto = export_onnx(model, opset=args.opset)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {}
    for tensor, name in zip(model.inputs, model.input_names):
        shape = (args.batch, *[dim or 1 for dim in tensor.shape[1:]])
        if np.dtype(tensor.dtype).kind in "iub":
            feed[name] = rng.integers(0, 2, shape).astype(tensor.dtype)
        else:
            feed[name] = rng.standard_normal(shape).astype(tensor.dtype)
    numpy_outputs = model.predict(feed)
    numpy_outputs = list(numpy_outputs.values()) if isinstance(numpy_outputs, dict) else (
        numpy_outputs if isinstance(numpy_outputs, list) else [numpy_outputs])
    onnx_outputs = session.run(None, feed)
    worst = 0.0
    for name, mine, theirs in zip((o.name for o in session.get_outputs()), numpy_outputs, onnx_outputs):
        difference = float(np.max(np.abs(np.asarray(mine, np.float64) - theirs))) if np.size(mine) else 0.0
        worst = max(worst, difference)
        status = "ok" if difference <= args.atol else "MISMATCH"
        print(f"{name}: max |numpy - onnxruntime| = {difference:.3g} ({status})")
    if worst > args.atol:
        print(f"modelio: verify failed: {worst:.3g} > atol {args.atol:g}", file=sys.stderr)
        return 1
    return 0


def run_summary(args) -> int:
    model = load_model(args.source)
    if args.json:
        print(json.dumps(summary_record(model), indent=2))
    else:
        print(summary_text(model))
    return 0


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ModelioError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"modelio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("modelio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
