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


@pytest.fixture(autouse=True, scope="session")
def _stage_cache_in_a_temporary_folder(tmp_path_factory):
    """Builds run by tests (and their subprocesses) never touch the user's stage cache."""
    previous = os.environ.get("COIG_CACHE_DIR")
    os.environ["COIG_CACHE_DIR"] = str(tmp_path_factory.mktemp("stage-cache"))
    yield
    if previous is None:
        os.environ.pop("COIG_CACHE_DIR", None)
    else:
        os.environ["COIG_CACHE_DIR"] = previous
