"""Fixtures for the layers tests: `forbidden_calls` blocks and records any attempt to run code."""

from config_safety_support import forbidden_calls  # noqa: F401 - registers the fixture
