import pytest

import modelio


@pytest.fixture(autouse=True)
def fresh_names():
    """Every test starts with Keras-style automatic names counting from scratch."""
    modelio.clear_session()
    yield
