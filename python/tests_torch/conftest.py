"""The PyTorch tests share python/tests' references, and compile into a
cache of their own (ssmc.torch keeps its kernels in ssmc's cache)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SSM_CACHE_DIR",
                       str(tmp_path_factory.getbasetemp() / "cache"))
