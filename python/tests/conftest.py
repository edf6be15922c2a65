"""Shared fixtures: the repository's test inputs, a private model cache."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "test" / "Models" / "Inputs"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test session compiles models into its own cache."""
    monkeypatch.setenv("SSM_CACHE_DIR",
                       str(tmp_path_factory.getbasetemp() / "cache"))


def read_safetensors(path):
    """F32 tensors of a safetensors file (8-byte header length, JSON
    header, data), read with NumPy only."""
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", name
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], np.float32).reshape(
            entry["shape"])
    return tensors
