"""Make the PyTorch -> ONNX fixtures the ONNX importer is tested on (fixtures/torch_onnx/).

Runs in the environment with torch installed, from the repository root:

    /work/kenv/bin/python tools/torch_onnx_fixtures.py

Writes, for each model (a small MLP, a small CNN: Conv-BN-ReLU-MaxPool-Conv-ReLU-
GlobalAvgPool-Linear on 1x3x16x16 inputs, and a small RNN: bidirectional LSTM, GRU, Linear on
the last step), `<name>.onnx` exported by `torch.onnx.export` (opset
17, dynamic batch, the classic TorchScript exporter) in eval mode from a fixed seed, and
`<name>.npz` holding `input:<onnx input name>` (a batch of 2) and `output:0`, the output torch
computed for it.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "torch_onnx"
OPSET = 17


class SmallMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(8, 16)
        self.out = nn.Linear(16, 4)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(self.conv2(x))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.head(x)


class SmallRNN(nn.Module):
    """A bidirectional LSTM then a GRU over (batch, steps, features), read at the last step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(12, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        x, _ = self.lstm(x)
        x, _ = self.gru(x)
        return self.head(x[:, -1])


def _randomize_batch_norm(model: nn.Module, generator: torch.Generator) -> None:
    """Non-trivial running statistics and affine parameters, so BatchNormalization is tested."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(torch.randn(size, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(size, generator=generator) * 0.5 + 1)
            module.bias.data.copy_(torch.randn(size, generator=generator) * 0.2)


def export(name: str, model: nn.Module, sample_shape: tuple, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    _randomize_batch_norm(model, generator)
    model.eval()
    inputs = torch.randn(*sample_shape, generator=generator)
    with torch.no_grad():
        outputs = model(inputs)
    path = OUT / f"{name}.onnx"
    # PRESERVE (the model is in eval mode) keeps BatchNormalization as its own node instead of
    # folding it into the convolution, so the importer's BatchNormalization is exercised.
    torch.onnx.export(model, (inputs,), str(path), opset_version=OPSET, dynamo=False,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.savez(OUT / f"{name}.npz", **{"input:input": inputs.numpy(),
                                     "output:0": outputs.numpy()})
    print(f"{path.name}: {path.stat().st_size} bytes, output {tuple(outputs.shape)}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    export("mlp", SmallMLP(), (2, 8), seed=1)
    torch.manual_seed(0)
    export("small_cnn", SmallCNN(), (2, 3, 16, 16), seed=2)
    torch.manual_seed(0)
    export("small_rnn", SmallRNN(), (2, 7, 4), seed=3)


if __name__ == "__main__":
    main()
