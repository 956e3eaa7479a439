"""Unique names: for the values and nodes of an ONNX graph being built or rewritten, and for the
layers an ONNX import makes."""

from collections.abc import Iterable


class UniqueNames:
    """The names taken so far; `fresh(hint)` gives `hint`, or `hint_1`, `hint_2`, ... when that is
    taken, and takes it."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken: set[str] = set(taken)

    def fresh(self, hint: str) -> str:
        """A name nobody has taken yet, based on `hint`; taken from now on."""
        name, index = hint, 1
        while name in self.taken:
            name, index = f"{hint}_{index}", index + 1
        self.taken.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Take `name` as it is (a graph input's name) and return it."""
        self.taken.add(name)
        return name
