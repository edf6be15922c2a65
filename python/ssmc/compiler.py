"""Compiling ssm IR and calling what it compiles to.

    import numpy as np, ssmc
    module = ssmc.compile(open("scan.mlir").read())
    y = module.scan(u, delta, A, B, C)          # NumPy arrays or DLPack tensors

Everything goes through the compiler's C API (ssm-c/Compiler.h), with the
flags of the ssmc command line.
"""

import ctypes
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

from . import _buffers, _native
from . import cuda as _cuda


class CompileError(Exception):
    """The input did not compile; `diagnostics` holds each error as ssmc
    prints it (location, message, source line)."""

    def __init__(self, diagnostics):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(self.diagnostics) or "compilation failed")


class Artifacts:
    """The products of one compilation, in memory (ssmc_artifacts_t)."""

    def __init__(self, handle, session):
        self._handle = handle
        # The C artifacts report through the session's callback: the
        # session (which owns the callback) lives as long as they do.
        self._session = session

    def __del__(self):
        if getattr(self, "_handle", None):
            _native.artifacts_destroy(self._handle)
            self._handle = None

    def has(self, kind):
        return bool(_native.artifacts_has(self._handle, kind))

    def get(self, kind, session=None):
        session = session or self._session
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        status = _native.artifacts_get(self._handle, kind, ctypes.byref(data),
                                       ctypes.byref(size))
        session.raise_errors(status)
        return ctypes.string_at(data, size.value) if size.value else b""

    def write(self, kind, path, session=None):
        session = session or self._session
        status = _native.artifacts_write(self._handle, kind,
                                         os.fsencode(path))
        session.raise_errors(status)


class Session:
    """A compiler session: flags and the diagnostics of what it compiles.
    Artifacts report their own diagnostics through the session's callback
    and keep their session alive."""

    def __init__(self, flags=()):
        handle = ctypes.c_void_p()
        if _native.session_create(ctypes.byref(handle)) != _native.OK:
            raise RuntimeError("ssmc: cannot create a compiler session")
        self._handle = handle
        self.errors = []
        self._callback = _native.DiagnosticCallback(self._diagnostic)
        _native.session_set_diagnostic_callback(handle, self._callback, None)
        encoded = [os.fsencode(str(flag)) for flag in flags]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        self.raise_errors(_native.session_set_flags(handle, len(encoded),
                                                    array), ValueError)

    def __del__(self):
        if getattr(self, "_handle", None):
            _native.session_destroy(self._handle)
            self._handle = None

    def _diagnostic(self, severity, message, _user):
        text = message.decode(errors="replace")
        if severity == _native.ERROR:
            self.errors.append(text)
        elif severity == _native.WARNING:
            warnings.warn(text, stacklevel=2)

    def raise_errors(self, status, kind=CompileError):
        errors, self.errors = self.errors, []
        if status != _native.OK:
            if kind is CompileError:
                raise CompileError(errors)
            raise kind("\n".join(errors) or f"ssmc: status {status}")

    def compile(self, source, name=None):
        """Compiles MLIR text (str or bytes) or the file or model folder at
        a path (pathlib.Path, or a str naming an existing path)."""
        handle = ctypes.c_void_p()
        if isinstance(source, os.PathLike) or (
                isinstance(source, str) and "\n" not in source
                and os.path.exists(source)):
            status = _native.compile_file(self._handle,
                                          os.fsencode(os.fspath(source)),
                                          ctypes.byref(handle))
        else:
            data = source.encode() if isinstance(source, str) else bytes(source)
            status = _native.compile_source(
                self._handle, (name or "<source>").encode(), data, len(data),
                ctypes.byref(handle))
        self.raise_errors(status)
        return Artifacts(handle, self)


def _has_flag(flags, name):
    return any(str(f) == name or str(f).startswith(name + "=") for f in flags)


def emit(source, kind="llvm", flags=(), name=None):
    """What `ssmc --emit=<kind>` writes for `source` (text for imported,
    bufferized, mlir, llvm, asm and ptx; bytes for obj and shared)."""
    session = Session([f"--emit={kind}", *flags])
    data = session.compile(source, name).get(_native.OUTPUT, session)
    return data if kind in ("obj", "shared") else data.decode()


def cache_root():
    """Where compiled models and cached modules are kept: $SSM_CACHE_DIR,
    else $XDG_CACHE_HOME/ssmc or ~/.cache/ssmc."""
    root = os.environ.get("SSM_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME",
                               Path.home() / ".cache")) / "ssmc"


def write_whole(path, data):
    """Writes `data` so that `path` appears complete or not at all."""
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


def compile(source, flags=(), name=None, cache=False):
    """Compiles MLIR text, an .mlir file or a model folder into a loaded
    Module. `flags` are ssmc's (`--mcpu=znver4`, `--ssd-algorithm=chunked`).
    A failed run-time check raises ValueError (--checks=status) unless
    `flags` choose otherwise. With --target=cuda the module takes and
    returns device arrays (ssmc.cuda). With `cache=True` (MLIR text only)
    the compiled library is kept in cache_root(), keyed by the text, the
    flags, the name and the compiler library, and later calls, in this
    process or another, load it instead of compiling. Where the compiler
    cannot be opened (a machine with the runtime alone, and a cache folder
    copied from another), the newest library any compiler kept for the
    text, flags and name is loaded."""
    flags = list(flags)
    if _has_flag(flags, "--emit"):
        raise ValueError("ssmc.compile makes a shared library; use "
                         "ssmc.emit for other outputs")
    if not _has_flag(flags, "--checks"):
        flags.append("--checks=status")
    entry = newest = None
    if cache:
        if not isinstance(source, (str, bytes)) or (
                isinstance(source, str) and "\n" not in source):
            raise ValueError("ssmc.compile caches MLIR text only (a file or "
                             "folder can change under the same name)")
        text = hashlib.sha256(repr((flags, name)).encode())
        text.update(source.encode() if isinstance(source, str) else source)
        # Names the entry of the compiler that last compiled the text.
        newest = cache_root() / f"python-module-{text.hexdigest()[:24]}.newest"
        try:
            key = hashlib.sha256(_native.compiler_stamp() + text.digest())
            entry = cache_root() / f"python-module-{key.hexdigest()[:24]}"
            if _complete(entry):
                return _load_entry(entry)
        except _native.CompilerUnavailable:
            pass
    try:
        session = Session(["--emit=shared", *flags])
    except _native.CompilerUnavailable:
        if newest is not None and newest.exists():
            kept = cache_root() / newest.read_text(encoding="utf-8").strip()
            if _complete(kept):
                return _load_entry(kept)
        raise
    artifacts = session.compile(source, name)
    library = artifacts.get(_native.OUTPUT, session)
    interface_text = artifacts.get(_native.INTERFACE, session)
    header = artifacts.get(_native.HEADER, session).decode()
    if entry is not None:
        entry.mkdir(parents=True, exist_ok=True)
        # The library last: a reader takes the entry once it is there.
        write_whole(entry / "header.h", header.encode())
        write_whole(entry / "interface.json", interface_text)
        write_whole(entry / "module.so", library)
        write_whole(newest, entry.name.encode())
    return Module(library, json.loads(interface_text), header)


_ENTRY_FILES = ("module.so", "interface.json", "header.h")


def _complete(entry):
    return all((entry / f).exists() for f in _ENTRY_FILES)


def _load_entry(entry):
    return Module((entry / "module.so").read_bytes(),
                  json.loads((entry / "interface.json").read_text(
                      encoding="utf-8")),
                  (entry / "header.h").read_text(encoding="utf-8"))


def load(library, interface):
    """A Module from a shared library and its interface (the JSON file of
    `ssmc --emit=shared --interface=<file>`), both paths."""
    with open(interface, encoding="utf-8") as f:
        spec = json.load(f)
    return Module(Path(library).read_bytes(), spec, header=None)


class Module:
    """A compiled, loaded shared library: each public function of the
    source is a callable attribute (and an item: module["scan"])."""

    def __init__(self, library, interface, header):
        self.interface = interface
        self.header = header
        self.library = library
        self.device = "cuda" if interface["runtime"] == "cuda" else "cpu"
        # dlopen needs a file; it can go once the library is loaded.
        with tempfile.TemporaryDirectory(prefix="ssmc-") as folder:
            path = Path(folder) / "module.so"
            path.write_bytes(library)
            self._library = ctypes.CDLL(str(path), mode=os.RTLD_LOCAL)
        self.functions = {
            spec["name"]: Function(self, spec,
                                   getattr(self._library, spec["symbol"]))
            for spec in interface["functions"]
        }

    def save(self, path):
        """Writes the shared library, to be loaded with ssmc.load or linked."""
        Path(path).write_bytes(self.library)

    def __getattr__(self, name):
        functions = self.__dict__.get("functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"the module has no function '{name}' "
                             f"(it has: {', '.join(functions) or 'none'})")

    def __getitem__(self, name):
        return self.functions[name]

    def __dir__(self):
        return list(super().__dir__()) + list(self.functions)


class Function:
    """One entry point. Arguments by position or by the source's names;
    results come back as NumPy arrays (a tuple for several, None for
    none). Arguments the call updates in place are changed in place."""

    def __init__(self, module, spec, symbol):
        self.module = module
        self.name = spec["name"]
        self.arguments = spec["arguments"]
        self.results = spec["results"]
        self._status = module.interface.get("status_checks", False)
        self._symbol = symbol
        symbol.restype = None
        count = len(self.arguments) + (1 if self.results else 0)
        symbol.argtypes = [ctypes.c_void_p] * count
        if len(self.results) > 1:
            fields = [(f"r{i}", _buffers.descriptor_type(len(r["shape"])))
                      for i, r in enumerate(self.results)]
            self._results_type = type(f"{self.name}_results",
                                      (ctypes.Structure,), {"_fields_": fields})
        elif self.results:
            self._results_type = _buffers.descriptor_type(
                len(self.results[0]["shape"]))

    def signature(self):
        def text(v):
            return f"{v['name']}: {v['dtype']}{_buffers._shape_text(v['shape'])}"
        args = ", ".join(text(a) + ("" if a["role"] == "input"
                                    else f" ({a['role']})")
                         for a in self.arguments)
        results = ", ".join(text(r) for r in self.results)
        return f"{self.name}({args}) -> ({results})"

    def __repr__(self):
        return f"<ssmc function {self.signature()}>"

    def _bind(self, args, kwargs):
        names = [a["name"] for a in self.arguments]
        if len(args) > len(names):
            raise TypeError(f"{self.name}() takes {len(names)} arguments "
                            f"({', '.join(names)}), {len(args)} given")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{self.name}() has no argument '{key}' "
                                f"({', '.join(names)})")
            if key in values:
                raise TypeError(f"{self.name}() got '{key}' twice")
            values[key] = value
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f"{self.name}() is missing {', '.join(missing)}")
        return [values[n] for n in names]

    def __call__(self, *args, **kwargs):
        values = self._bind(args, kwargs)
        device = self.module.device
        described = [_buffers.Argument(v, spec, self.name, device)
                     for v, spec in zip(values, self.arguments)]
        pointers = [a.pointer() for a in described]
        results = self._results_type() if self.results else None
        if results is not None:
            pointers.insert(0, ctypes.addressof(results))
        self._symbol(*pointers)
        error = _native.last_error() if self._status else b""
        if not self.results:
            descriptors = []
        elif len(self.results) == 1:
            descriptors = [results]
        else:
            descriptors = [getattr(results, f"r{i}")
                           for i in range(len(self.results))]
        memory = _cuda if device == "cuda" else _buffers
        if error:
            for d in descriptors:
                memory.release(d)
            raise ValueError(error.decode(errors="replace"))
        arrays = [memory.adopt(d, spec["dtype"])
                  for d, spec in zip(descriptors, self.results)]
        if not arrays:
            return None
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
