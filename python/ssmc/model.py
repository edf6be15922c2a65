"""Hugging Face Mamba / Mamba-2 checkpoints, compiled and run.

    model = ssmc.Model.load("mamba-130m-hf")       # compiled once, cached
    print(model.generate("The state space", max_new_tokens=20))

A model folder (config.json, safetensors, and tokenizer.json for text) is
compiled with the compiler's C API into a shared library and a weights file,
kept in a cache; entry points follow the model ABI of ssm/model_abi.h
(docs/models.md): `<name>_prefill` and `<name>_decode` take the weights, the
token ids, the two caches and the logits buffer.
"""

import ctypes
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from . import _native
from .compiler import Session, cache_root, load

# ssm/model_abi.h.
_FORMAT_VERSION = 2
(_INFO_FORMAT, _INFO_TYPE, _INFO_LAYERS, _INFO_HIDDEN, _INFO_VOCAB,
 _INFO_CONV_FLOATS, _INFO_SSM_FLOATS, _INFO_WEIGHT_FLOATS,
 _INFO_WEIGHTS_HASH) = range(9)
_INFO_FIELDS = 16


def _compile_folder(folder, flags, name):
    """The library, interface and weights of `folder`, compiled into the
    cache unless an entry for the same files, flags and compiler is there."""
    folder = Path(folder).resolve()
    key = hashlib.sha256()
    key.update(_native.compiler_stamp())
    key.update(repr((str(folder), list(flags), name)).encode())
    for entry in sorted(folder.iterdir()):
        if entry.suffix in (".json", ".safetensors"):
            stat = entry.stat()
            key.update(repr((entry.name, stat.st_size,
                             stat.st_mtime_ns)).encode())
    cached = cache_root() / f"python-{folder.name}-{key.hexdigest()[:16]}"
    library = cached / f"lib{name}.so"
    interface = cached / f"{name}.json"
    weights = cached / f"lib{name}.weights"
    if not (library.exists() and interface.exists() and weights.exists()):
        cached.mkdir(parents=True, exist_ok=True)
        session = Session(["--emit=shared", f"--model-name={name}", *flags])
        artifacts = session.compile(folder)
        # Each file appears complete or not at all.
        for kind, path in ((_native.WEIGHTS, weights),
                           (_native.INTERFACE, interface),
                           (_native.OUTPUT, library)):
            partial = path.with_name(path.name + f".{os.getpid()}.tmp")
            artifacts.write(kind, partial, session)
            os.replace(partial, path)
    return library, interface, weights


class Model:
    """A compiled model with its caches; one batch of sequences at a time."""

    def __init__(self, library, interface, weights, name="model",
                 tokenizer=None, config=None):
        # A bad SSM_Q8_0_A, SSM_Q4_0_A or SSM_BF16_A would abort the
        # process at the first packed product: refuse it here instead.
        if _native.packed_check_environment() != _native.OK:
            raise ValueError(_native.last_error().decode())
        self.module = load(library, interface)
        self.name = name
        info_address = ctypes.c_void_p.in_dll(self.module._library,
                                              f"{name}_info")
        self.info = np.ctypeslib.as_array(
            (ctypes.c_int64 * _INFO_FIELDS).from_address(
                ctypes.addressof(info_address))).copy()
        if self.info[_INFO_FORMAT] != _FORMAT_VERSION:
            raise ValueError(f"{library} has model format "
                             f"{self.info[_INFO_FORMAT]}, this package reads "
                             f"format {_FORMAT_VERSION}: recompile it")
        handle = ctypes.c_void_p()
        if _native.weights_open(os.fsencode(weights),
                                int(self.info[_INFO_WEIGHT_FLOATS]),
                                int(self.info[_INFO_WEIGHTS_HASH]),
                                ctypes.byref(handle)) != _native.OK:
            raise ValueError(_native.last_error().decode())
        self._weights_handle = handle
        data = _native.weights_data(handle)
        self._weights = np.ctypeslib.as_array(
            data, shape=(int(self.info[_INFO_WEIGHT_FLOATS]),))
        self._weights.flags.writeable = False
        self.vocab = int(self.info[_INFO_VOCAB])
        self.layers = int(self.info[_INFO_LAYERS])
        self.hidden = int(self.info[_INFO_HIDDEN])
        self.tokenizer = tokenizer
        self.config = config or {}
        self._prefill = self.module[f"{name}_prefill"]
        self._decode = self.module[f"{name}_decode"]
        self.conv_cache = self.ssm_cache = None

    def __del__(self):
        if getattr(self, "_weights_handle", None):
            self._weights = None
            _native.weights_close(self._weights_handle)
            self._weights_handle = None

    @classmethod
    def load(cls, path, flags=(), name="model", tokenizer=None):
        """A model folder (compiled into the cache, SSM_CACHE_DIR or
        ~/.cache/ssmc, unless it is there), or a library compiled by
        `ssmc <folder> --emit=shared -o lib<x>.so --interface=<x>.json`
        with its .weights and .json beside it. `tokenizer`: a path to a
        tokenizer.json, an object with encode/decode, or None for the
        folder's tokenizer.json if it has one."""
        path = Path(path)
        config = None
        if path.is_dir():
            library, interface, weights = _compile_folder(path, flags, name)
            config_path = path / "config.json"
            config = json.loads(config_path.read_text())
            if tokenizer is None and (path / "tokenizer.json").exists():
                tokenizer = path / "tokenizer.json"
        else:
            library = path
            interface = path.with_suffix(".json")
            weights = path.with_suffix(".weights")
        if isinstance(tokenizer, (str, os.PathLike)):
            try:
                from tokenizers import Tokenizer
            except ImportError as e:
                raise ImportError("text in and out needs the `tokenizers` "
                                  "package: pip install tokenizers "
                                  "(or ssmc[text])") from e
            tokenizer = Tokenizer.from_file(os.fspath(tokenizer))
        return cls(library, interface, weights, name, tokenizer, config)

    def _check_ids(self, ids):
        ids = np.asarray(ids, dtype=np.int64)
        # (ascontiguousarray would make a scalar one-dimensional.)
        ids = np.ascontiguousarray(ids) if ids.ndim else ids
        bad = (ids < 0) | (ids >= self.vocab)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"token id {int(ids[where])} at {where} is "
                             f"outside the vocabulary [0, {self.vocab})")
        return ids

    def prefill(self, ids):
        """Runs prompts `ids` [batch, length] (or [length]) from empty
        caches; returns the logits of each prompt's last position [batch,
        vocab] (or [vocab])."""
        ids = self._check_ids(ids)
        single = ids.ndim == 1
        ids = ids[None, :] if single else ids
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise ValueError("prefill takes ids of shape [batch, length] "
                             "with length >= 1")
        batch = ids.shape[0]
        self.conv_cache = np.zeros((batch, int(self.info[_INFO_CONV_FLOATS])),
                                   np.float32)
        self.ssm_cache = np.zeros((batch, int(self.info[_INFO_SSM_FLOATS])),
                                  np.float32)
        logits = np.empty((batch, self.vocab), np.float32)
        self._prefill(self._weights, ids, self.conv_cache, self.ssm_cache,
                      logits)
        return logits[0] if single else logits

    def decode(self, ids):
        """One token per sequence (`ids` [batch], or a scalar for batch 1)
        after prefill; updates the caches, returns the logits."""
        if self.conv_cache is None:
            raise RuntimeError("decode needs a prefill first")
        ids = self._check_ids(ids)
        single = ids.ndim == 0
        ids = ids.reshape(-1)
        if ids.shape[0] != self.conv_cache.shape[0]:
            raise ValueError(f"decode got {ids.shape[0]} ids for a batch of "
                             f"{self.conv_cache.shape[0]}")
        logits = np.empty((ids.shape[0], self.vocab), np.float32)
        self._decode(self._weights, ids, self.conv_cache, self.ssm_cache,
                     logits)
        return logits[0] if single else logits

    def generate(self, prompt, max_new_tokens=32, stop_at_eos=True):
        """Greedy decoding. `prompt` is text (needs a tokenizer) or a list
        of token ids; returns the generated text, or the new ids. N new
        tokens take one prefill and N - 1 decode steps."""
        text = isinstance(prompt, str)
        if text:
            if self.tokenizer is None:
                raise ValueError("text needs a tokenizer (the folder's "
                                 "tokenizer.json, or Model.load(tokenizer=))")
            ids = self.tokenizer.encode(prompt).ids
        else:
            ids = [int(i) for i in prompt]
        if not ids:
            raise ValueError("the prompt holds no tokens")
        eos = self.config.get("eos_token_id") if stop_at_eos else None
        new = []
        logits = self.prefill(np.array(ids, np.int64))
        while len(new) < max_new_tokens:
            token = int(np.argmax(logits))
            new.append(token)
            if token == eos or len(new) == max_new_tokens:
                break
            logits = self.decode(np.int64(token))
        return self.tokenizer.decode(new) if text else new
