"""modelio as an ONNX backend (`onnx.backend.base.Backend`): `prepare(model)` then
`rep.run(inputs)` imports the graph and runs it with modelio's numpy kernels.

Keras-style layers hold their weights as constants, so when an op needs one of the graph's
inputs as a constant (a Conv weight, Pad's pads, Resize's sizes — the ONNX conformance cases pass
those as inputs), the graph is imported for each run with that input fixed to the value given
(`import_onnx(..., bind=...)`), and the others stay model inputs."""

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from ..errors import FormatError
from .import_context import ConstantInputNeeded
from .importer import import_onnx


class ModelioRep(BackendRep):
    """A prepared ONNX model; `run(inputs)` returns the outputs as a tuple of arrays."""

    def __init__(self, model: onnx.ModelProto, source: str = "<onnx model>"):
        self.proto = model
        self.source = source
        self._bound_names: set[str] = set()
        self._model = None
        self.last_model = None  # the modelio model the last `run` used
        self._prepare_without_binding()

    @property
    def bound_names(self) -> set[str]:
        """The graph inputs imported as constants (fixed to each run's values)."""
        return set(self._bound_names)

    def _prepare_without_binding(self) -> None:
        try:
            self._model = import_onnx(self.proto, self.source)
        except ConstantInputNeeded as exc:
            self._bound_names.add(exc.input_name)

    def run(self, inputs, **kwargs):
        names = [info.name for info in self.proto.graph.input
                 if info.name not in {tensor.name for tensor in self.proto.graph.initializer}]
        if isinstance(inputs, dict):
            given = dict(inputs)
        else:
            inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            given = dict(zip(names, inputs))
        model = self._model
        if model is None:
            model = self._import_binding(given)
        self.last_model = model
        feed = [np.asarray(given[tensor_name]) for tensor_name in self._model_input_names(names)]
        outputs = model(feed if len(feed) != 1 else feed[0])
        return tuple(outputs) if isinstance(outputs, (list, tuple)) else (outputs,)

    def _model_input_names(self, names: list[str]) -> list[str]:
        return [name for name in names if name not in self._bound_names]

    def _import_binding(self, given: dict):
        """Import with every input the ops need as constants fixed to this run's values."""
        while True:
            bind = {name: given[name] for name in self._bound_names}
            try:
                return import_onnx(self.proto, self.source, bind=bind)
            except ConstantInputNeeded as exc:
                if exc.input_name in self._bound_names or exc.input_name not in given:
                    raise
                self._bound_names.add(exc.input_name)


class ModelioBackend(Backend):
    """`onnx.backend.base.Backend` running ONNX models through modelio's importer and kernels."""

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs) -> ModelioRep:
        try:
            super().prepare(model, device, **kwargs)  # onnx.checker on the model
        except onnx.checker.ValidationError as exc:
            raise FormatError(f"the ONNX model does not pass onnx.checker: {exc}") from exc
        return ModelioRep(model)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs, device: str = "CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"
