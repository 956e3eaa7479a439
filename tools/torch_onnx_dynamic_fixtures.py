"""Make the PyTorch -> ONNX fixture with dynamic batch, height and width (fixtures/torch_onnx/).

Runs in the environment with torch installed, from the repository root:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/torch_onnx_dynamic_fixtures.py

Writes `dynamic_cnn.onnx`, exported by `torch.onnx.export` (opset 17, the classic TorchScript
exporter, `dynamic_axes` on batch, height and width) from a tiny conv net whose middle flattens
the spatial axes and views them back from the tensor's own sizes (Shape -> Gather -> Concat ->
Reshape in the graph, which loses the channel count for a shape-unaware importer) before a
second convolution and a 2x nearest upsampling; and `dynamic_cnn.npz` holding two samples of
different sizes, `input:a` / `output:a` (1x3x8x8) and `input:b` / `output:b` (2x3x5x7), with
the outputs torch computed.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "torch_onnx"
OPSET = 17


class DynamicCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(4, 2, kernel_size=3, padding=1)

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        n, c, h, w = y.shape
        flat = torch.softmax(y.flatten(2), dim=-1)  # (n, c, h*w)
        y = flat.view(n, c, h, w)
        y = self.conv2(y)
        return nn.functional.interpolate(y, scale_factor=2.0, mode="nearest")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = DynamicCNN().eval()
    generator = torch.Generator().manual_seed(4)
    samples = {"a": torch.randn(1, 3, 8, 8, generator=generator),
               "b": torch.randn(2, 3, 5, 7, generator=generator)}
    path = OUT / "dynamic_cnn.onnx"
    torch.onnx.export(model, (samples["a"],), str(path), opset_version=OPSET, dynamo=False,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"},
                                    "output": {0: "batch", 2: "out_height", 3: "out_width"}})
    arrays = {}
    with torch.no_grad():
        for key, sample in samples.items():
            arrays[f"input:{key}"] = sample.numpy()
            arrays[f"output:{key}"] = model(sample).numpy()
    np.savez(OUT / "dynamic_cnn.npz", **arrays)
    print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
