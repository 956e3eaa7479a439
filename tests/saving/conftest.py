import pytest
from save_crash_support import SaveKiller


@pytest.fixture(scope="session")
def save_killer():
    """One helper process for every test that kills a save (see tests/save_crash_support.py)."""
    killer = SaveKiller()
    yield killer
    killer.close()
