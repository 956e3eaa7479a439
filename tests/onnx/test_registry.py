"""The ONNX registries (lowering by layer class, converter by op type) refuse a second
registration of the same key, and leave the first one in place."""

import pytest

from modelio import layers
from modelio.errors import UnsupportedError
from modelio.onnx import export, importer, registry  # noqa: F401 - export and importer fill the registries
from modelio.onnx.registry import (
    CONVERTERS,
    LOWERINGS,
    DuplicateRegistration,
    converts,
    lowering_for,
    lowers,
    lowers_float32,
)


class NewLayer(layers.Layer):
    pass


class OtherNewLayer(layers.Layer):
    pass


@pytest.fixture
def scratch_registries(monkeypatch):
    """The real registries' contents in copies the test may add to."""
    monkeypatch.setattr(registry, "LOWERINGS", dict(LOWERINGS))
    monkeypatch.setattr(registry, "CONVERTERS", dict(CONVERTERS))
    return registry


def lower_a(graph, node, args, kwargs):
    return []


def lower_b(graph, node, args, kwargs):
    return []


def convert_a(context, node):
    return []


def convert_b(context, node):
    return []


def test_a_second_lowering_for_a_layer_class_raises_and_keeps_the_first(scratch_registries):
    lowers(NewLayer)(lower_a)
    with pytest.raises(DuplicateRegistration, match="NewLayer is registered twice"):
        lowers(NewLayer)(lower_b)
    assert scratch_registries.LOWERINGS[NewLayer] is lower_a


def test_a_second_lowering_for_a_class_modelio_already_lowers_raises(scratch_registries):
    before = lowering_for(layers.Dense(2))
    with pytest.raises(DuplicateRegistration, match="Dense is registered twice"):
        lowers(layers.Dense)(lower_b)
    assert lowering_for(layers.Dense(2)) is before


def test_a_float32_lowering_is_refused_for_a_class_that_has_one(scratch_registries):
    with pytest.raises(DuplicateRegistration, match="Conv2D is registered twice"):
        lowers_float32(layers.Conv2D)(lower_b)


def test_a_refused_registration_registers_none_of_its_classes(scratch_registries):
    with pytest.raises(DuplicateRegistration):
        lowers(OtherNewLayer, layers.Dense)(lower_b)
    assert OtherNewLayer not in scratch_registries.LOWERINGS


def test_one_class_named_twice_in_one_registration_raises(scratch_registries):
    with pytest.raises(DuplicateRegistration):
        lowers(NewLayer, NewLayer)(lower_a)
    assert NewLayer not in scratch_registries.LOWERINGS


def test_a_subclass_may_have_its_own_lowering_beside_its_parents(scratch_registries):
    lowers(NewLayer)(lower_a)

    class Child(NewLayer):
        pass

    assert lowering_for(Child()) is lower_a
    lowers(Child)(lower_b)
    assert lowering_for(Child()) is lower_b
    assert lowering_for(NewLayer()) is lower_a


def test_a_second_converter_for_an_op_type_raises_and_keeps_the_first(scratch_registries):
    converts("ModelioTestOp")(convert_a)
    with pytest.raises(DuplicateRegistration, match="ModelioTestOp is registered twice"):
        converts("ModelioTestOp")(convert_b)
    assert scratch_registries.CONVERTERS["ModelioTestOp"] is convert_a


def test_a_second_converter_for_an_op_type_modelio_already_imports_raises(scratch_registries):
    before = CONVERTERS["Conv"]
    with pytest.raises(DuplicateRegistration, match="Conv is registered twice"):
        converts("Conv")(convert_b)
    assert scratch_registries.CONVERTERS["Conv"] is before


def test_the_error_names_both_registering_functions(scratch_registries):
    converts("ModelioTestOp")(convert_a)
    with pytest.raises(DuplicateRegistration) as caught:
        converts("ModelioTestOp")(convert_b)
    assert "convert_a" in str(caught.value) and "convert_b" in str(caught.value)


def test_a_float32_lowering_refuses_a_layer_computing_in_another_dtype(scratch_registries):
    lowers_float32(NewLayer)(lower_a)
    lowering = lowering_for(NewLayer())
    assert lowering.__name__ == "lower_a"

    class Node:
        layer = NewLayer(dtype="float16", name="half")

    with pytest.raises(UnsupportedError, match="layer 'half': exporting a float16 NewLayer"):
        lowering(None, Node(), [], {})
    Node.layer = NewLayer(name="single")
    assert lowering(None, Node(), [], {}) == []
