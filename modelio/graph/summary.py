"""`model.summary()`: the Keras 3 style table of layers, output shapes and parameter counts."""

from .tree import flatten


def summary_text(model, line_length: int | None = None) -> str:
    """The summary table of `model` as one string (what `model.summary()` prints)."""
    connected = type(model).__name__ != "Sequential"
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    rows = [_layer_row(model, layer, connected) for layer in _summary_layers(model)]
    widths = [max(len(headers[i]), *(len(line) for row in rows for line in row[i])) + 2
              for i in range(len(headers))]
    if line_length:
        widths[0] = max(widths[0], line_length - sum(widths[1:]) - len(widths) - 1)

    def rule(left, mid, right, fill):
        return left + mid.join(fill * width for width in widths) + right

    def cells(values, border, numeric_column=2):
        parts = []
        for i, (value, width) in enumerate(zip(values, widths)):
            text = value.rjust(width - 2) if i == numeric_column else value.ljust(width - 2)
            parts.append(" " + text + " ")
        return border + border.join(parts) + border

    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━"), cells(headers, "┃", -1),
             rule("┡", "╇", "┩", "━")]
    for index, row in enumerate(rows):
        height = max(len(column) for column in row)
        for line in range(height):
            lines.append(cells([column[line] if line < len(column) else "" for column in row], "│"))
        if index < len(rows) - 1:
            lines.append(rule("├", "┼", "┤", "─"))
    lines.append(rule("└", "┴", "┘", "─"))
    trainable = sum(weight.value.size for weight in model.trainable_weights)
    total = model.count_params()
    total_bytes = sum(weight.value.nbytes for weight in model.weights)
    trainable_bytes = sum(weight.value.nbytes for weight in model.trainable_weights)
    lines.append(f" Total params: {total:,} ({_bytes_text(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_bytes_text(trainable_bytes)})")
    lines.append(f" Non-trainable params: {total - trainable:,} "
                 f"({_bytes_text(total_bytes - trainable_bytes)})")
    return "\n".join(lines)


def _summary_layers(model):
    if type(model).__name__ == "Sequential":
        return model.layers
    return model._layers


def _layer_row(model, layer, connected: bool) -> list[list[str]]:
    nodes = [node for node in layer._inbound_nodes if node in model._network_nodes]
    shapes = []
    for node in nodes:
        for tensor in node.outputs:
            text = _shape_text(tensor.shape)
            if text not in shapes:
                shapes.append(text)
    params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
    row = [[f"{layer.name} ({type(layer).__name__})"], shapes or ["?"], [params]]
    if connected:
        sources = []
        for node in nodes:  # positional inputs only: masks passed as keywords are not inputs
            for tensor in [leaf for leaf in flatten(node.call_args) if hasattr(leaf, "_keras_history")]:
                source, node_index, tensor_index = tensor._keras_history
                sources.append(f"{source.name}[{node_index}][{tensor_index}]")
        row.append(sources or ["-"])
    return row


def _shape_text(shape) -> str:
    dims = ", ".join("None" if dim is None else str(dim) for dim in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _bytes_text(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.2f} {unit}"
        count /= 1024
    return f"{count:.2f} GB"
