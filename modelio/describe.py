"""What `modelio summary` prints about a model file: the layer table, the inputs and outputs,
the file's format and producer; or the same as plain data for `--json`."""

from .graph.summary import summary_text
from .inputs import shape_text
from .saving import producer_text


def summary_report(model, metadata: dict) -> str:
    """The layer table of `model` followed by its inputs, outputs, the file format and producer
    (`metadata` is what `modelio.saving.file_metadata` returns for the file)."""
    saved = f", saved {metadata['date_saved']}" if metadata["date_saved"] else ""
    return "\n".join([
        summary_text(model),
        f" Inputs: {endpoints_text(model.input_names, model.inputs)}",
        f" Outputs: {endpoints_text(model.output_names, model.outputs)}",
        f" Format: {metadata['format_description']}",
        f" Producer: {producer_text(metadata)}{saved}",
    ])


def summary_document(model, metadata: dict) -> dict:
    """`summary_record(model)` with the file's `format` and `producer` (Keras version, backend,
    date saved, and for ONNX files the ONNX producer, opset and IR version)."""
    record = summary_record(model)
    record["format"] = metadata["format"]
    record["producer"] = {key: metadata[key] for key in ("keras_version", "backend", "date_saved")}
    if "onnx" in metadata:
        record["producer"]["onnx"] = metadata["onnx"]
    return record


def summary_record(model) -> dict:
    """The summary as plain data: one entry per layer, totals, inputs and outputs."""
    network_nodes = model.network_nodes
    layers = []
    for layer in model.layers:
        nodes = [node for node in layer.inbound_nodes if node in network_nodes]
        layers.append({
            "name": layer.name,
            "class_name": type(layer).__name__,
            "output_shapes": [list(tensor.shape) for node in nodes for tensor in node.outputs],
            "params": layer.count_params() if layer.built else 0,
            "inbound": [f"{tensor.keras_history.layer.name}[{tensor.keras_history.node_index}]"
                        f"[{tensor.keras_history.tensor_index}]"
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


def endpoints_text(names: list[str], tensors: list) -> str:
    """`image (None, 28, 28, 1) float32, mask (None, 4) bool`: inputs or outputs, one line."""
    return ", ".join(f"{name} {shape_text(tensor.shape)} {tensor.dtype}"
                     for name, tensor in zip(names, tensors))
