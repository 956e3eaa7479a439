"""The modelio version (one place, so submodules can import it)."""

__version__ = "0.1.0"
