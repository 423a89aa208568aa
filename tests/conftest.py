import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    """Small hand-written files in each source's format."""
    return FIXTURES


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real upstream files (COIG_DATA_ROOT); tests that need them skip without it."""
    root = os.environ.get("COIG_DATA_ROOT")
    if not root or not Path(root).is_dir():
        pytest.skip("COIG_DATA_ROOT is not set to a data root holding the real sources")
    return Path(root).resolve()
