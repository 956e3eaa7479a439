"""`model_to_dot`: the layer graph of a model as Graphviz DOT text, written by modelio itself.

One box per layer (name, class, output shape), one edge per inbound tensor of every node, nested
models drawn as `subgraph cluster_...` holding their own layers. `write_plot` turns the DOT into
SVG or PNG with the `dot` program when that is installed.
"""

import os
import shutil
import subprocess
from pathlib import Path

from .atomic import write_bytes_atomic, write_text_atomic
from .errors import FormatError, UnsupportedError
from .graph.functional import Functional

RENDERED_FORMATS = (".svg", ".png")
DOT_TIMEOUT_SECONDS = 300


def model_to_dot(model) -> str:
    """The DOT text (a `digraph`) of `model`'s layers and connections; nested models (called any
    number of times) appear once, as a cluster, with edges entering their input layers and
    leaving their output layers."""
    writer = _DotWriter()
    lines = [f"digraph {quote(model.name)} {{",
             "  graph [rankdir=TB, fontname=Helvetica];",
             "  node [shape=box, style=rounded, fontname=Helvetica, fontsize=10];"]
    lines += writer.model_lines(model, indent="  ")
    lines += writer.edge_lines(model)
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_plot(model, path: str | os.PathLike) -> None:
    """Write `model`'s graph to `path`: DOT text for `.dot`/`.gv`, or SVG/PNG rendered by the
    Graphviz `dot` program (a clear UnsupportedError when it is not installed)."""
    path = Path(path)
    suffix = path.suffix.lower()
    text = model_to_dot(model)
    if suffix in (".dot", ".gv"):
        write_text_atomic(path, text)
        return
    if suffix not in RENDERED_FORMATS:
        raise FormatError(f"{path}: plot writes .dot, .gv, .svg or .png, not {suffix or '(none)'!r}")
    program = shutil.which("dot")
    if program is None:
        raise UnsupportedError(f"{path}: rendering {suffix} needs the Graphviz 'dot' program, which "
                               f"is not installed (apt-get install graphviz); write a .dot file instead")
    # dot writes to its standard output: the file is then written atomically by this process
    # (the new file may have no name that another process could open)
    try:
        finished = subprocess.run([program, f"-T{suffix[1:]}"], input=text.encode("utf-8"),
                                  capture_output=True, timeout=DOT_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FormatError(f"{path}: running {program} failed ({exc})") from exc
    if finished.returncode != 0:
        message = finished.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FormatError(f"{path}: {program} failed: {message[0] if message else 'no message'}")
    write_bytes_atomic(path, finished.stdout)


def quote(text: str) -> str:
    """`text` as a DOT quoted string: quotes and backslashes escaped, line breaks as `\\n`."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


class _DotWriter:
    """Gives every layer one DOT id, draws nested models as clusters, resolves edges through them."""

    def __init__(self):
        self.ids: dict[int, str] = {}
        self.clusters = 0
        self.boxes = 0

    def model_lines(self, model, indent: str) -> list[str]:
        lines = []
        for layer in _graph_layers(model):
            if id(layer) in self.ids:  # a layer shared with an enclosing model: drawn there
                continue
            if _is_expanded(layer):
                self.ids[id(layer)] = f"cluster_{self.clusters}"
                self.clusters += 1
                lines.append(f"{indent}subgraph {self.ids[id(layer)]} {{")
                lines.append(f"{indent}  label={quote(f'{layer.name} ({type(layer).__name__})')};")
                lines.append(f"{indent}  style=dashed;")
                lines += self.model_lines(layer, indent + "  ")
                lines.append(f"{indent}}}")
            else:
                self.ids[id(layer)] = f"layer_{self.boxes}"
                self.boxes += 1
                label = f"{layer.name}\n{type(layer).__name__}\n{_shapes_text(model, layer)}"
                lines.append(f"{indent}{self.ids[id(layer)]} [label={quote(label)}];")
        return lines

    def edge_lines(self, model) -> list[str]:
        """Edges of `model` and, after them, of every nested model (each drawn once)."""
        lines, seen_edges, pending, visited = [], set(), [model], set()
        while pending:
            current = pending.pop()
            if id(current) in visited:
                continue
            visited.add(id(current))
            for node in current.nodes_in_order:
                targets = self._targets(node)
                for position, tensor in enumerate(node.input_tensors):
                    source = self._source(tensor)
                    target = targets[position] if position < len(targets) else targets[-1]
                    edge = f"  {source} -> {target};"
                    if edge not in seen_edges:  # a nested model called twice enters once per input
                        seen_edges.add(edge)
                        lines.append(edge)
                if _is_expanded(node.layer):
                    pending.append(node.layer)
        return lines

    def _source(self, tensor) -> str:
        history = tensor.keras_history
        layer, tensor_index = history.layer, history.tensor_index
        while _is_expanded(layer):  # follow into the nested model to the layer that made it
            inner = layer.outputs[tensor_index].keras_history
            layer, tensor_index = inner.layer, inner.tensor_index
        return self.ids[id(layer)]

    def _targets(self, node) -> list[str]:
        layer = node.layer
        if not _is_expanded(layer):
            return [self.ids[id(layer)]]
        targets = []
        for tensor in layer.inputs:
            entry = tensor.keras_history.layer
            targets.append(self.ids[id(entry)])
        return targets


def _is_expanded(layer) -> bool:
    return isinstance(layer, Functional) and getattr(layer, "outputs", None) is not None


def _graph_layers(model) -> list:
    """Every layer and operation of `model` (InputLayers included), in graph order."""
    return list(getattr(model, "operations", None) or model.layers)



def _shapes_text(model, layer) -> str:
    network = model.network_nodes
    shapes = []
    for node in layer.inbound_nodes:
        if node in network:
            for tensor in node.outputs:
                text = "(" + ", ".join("None" if dim is None else str(dim) for dim in tensor.shape) + ")"
                if text not in shapes:
                    shapes.append(text)
    return " ".join(shapes) or "?"
