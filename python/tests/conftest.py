"""Shared fixtures: the repository's test inputs, a private model cache."""

import json
import shutil
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


@pytest.fixture
def folder_with_tokenizer(tmp_path):
    """mamba1-n16 with a word-level tokenizer.json (made by the tokenizers
    library): "w0" ... "w255" are the ids 0 ... 255."""
    import tokenizers
    folder = tmp_path / "mamba1-n16"
    folder.mkdir()
    for file in ("config.json", "model.safetensors"):
        shutil.copyfile(MODELS / "mamba1-n16" / file, folder / file)
    vocab = {f"w{i}": i for i in range(256)}
    tokenizer = tokenizers.Tokenizer(
        tokenizers.models.WordLevel(vocab, unk_token="w0"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = tokenizers.decoders.WordPiece()
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder
