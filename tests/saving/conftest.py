import pytest
from save_crash_support import NEW_SOURCE, OLD_SOURCE, SaveKiller

import modelio


@pytest.fixture(scope="session")
def save_killer():
    """One helper process for every test that kills a save (see tests/save_crash_support.py)."""
    killer = SaveKiller()
    yield killer
    killer.close()


@pytest.fixture(scope="module")
def old_model():
    """The model every save test starts from (the file a failed save must leave intact)."""
    return modelio.load_model(OLD_SOURCE)


@pytest.fixture(scope="module")
def new_model():
    """The model a save test tries to write over the old one."""
    return modelio.load_model(NEW_SOURCE)
