"""The two native libraries the package drives, through ctypes.

libssmc_compiler.so is the compiler's C API (include/ssm-c/Compiler.h);
libssm_runtime.so.1 is the runtime that compiled code links against. Both
are copied into ssmc/_lib/ when the package is built (setup.py); for work in
a source tree, SSMC_LIBRARY_DIR may name a build's lib/ folder instead.
No compiled extension module: the package works with any CPython 3.

The compiler is opened on first use, not at import: it needs LLVM/MLIR's
shared libraries, and a machine without them can still load and call
libraries compiled elsewhere (ssmc.load, Model.load of a library, the
modules ssmc.compile(cache=True) kept).
"""

import ctypes
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def library_dir() -> Path:
    """The folder holding libssmc_compiler.so and libssm_runtime.so."""
    override = os.environ.get("SSMC_LIBRARY_DIR")
    folder = Path(override).resolve() if override else _HERE / "_lib"
    if not (folder / "libssm_runtime.so.1").exists():
        raise ImportError(
            f"ssmc: no libssm_runtime.so.1 in {folder}: install the package "
            "with `pip install .` from the ssmc repository, or set "
            "SSMC_LIBRARY_DIR to a build's lib/ folder")
    return folder


# The runtime first, by its soname: libraries that ssmc compiles name it
# (DT_NEEDED libssm_runtime.so.1), and the loader gives them this copy, so
# that ssm_last_error() read here is the one their checks set.
runtime = ctypes.CDLL(str(library_dir() / "libssm_runtime.so.1"))
compiler_path = library_dir() / "libssmc_compiler.so.0"
_compiler = None


class CompilerUnavailable(RuntimeError):
    """The compiler library could not be opened (compiling needs it;
    calling compiled libraries does not)."""


def compiler():
    """The compiler's C API library, opened on first use."""
    global _compiler
    if _compiler is None:
        try:
            _compiler = ctypes.CDLL(str(compiler_path))
        except OSError as error:
            raise CompilerUnavailable(
                f"ssmc: cannot open the compiler ({compiler_path}): {error}. "
                "Compiling needs it and LLVM/MLIR 22's shared libraries; "
                "loading compiled libraries (ssmc.load, Model.load of a "
                "library) does not") from None
    return _compiler


def compiler_stamp() -> bytes:
    """The compiler's identity for cache keys: its library's resolved path,
    size and modification time. ssmc_version() stays the same across
    rebuilds and reinstalls, so a key on it alone would reuse what an older
    compiler made."""
    try:
        path = compiler_path.resolve(strict=True)
        stat = path.stat()
    except OSError as error:
        raise CompilerUnavailable(
            f"ssmc: no compiler ({compiler_path}): {error}") from None
    return repr((str(path), stat.st_size, stat.st_mtime_ns)).encode()


c_char_p, c_int, c_size_t, c_void_p = (ctypes.c_char_p, ctypes.c_int,
                                       ctypes.c_size_t, ctypes.c_void_p)
POINTER = ctypes.POINTER

DiagnosticCallback = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)

# ssmc_status_t, ssmc_severity_t, ssmc_artifact_kind_t (Compiler.h).
OK, INVALID_ARGUMENT, COMPILATION, UNAVAILABLE = 0, 1, 2, 3
NOTE, WARNING, ERROR, REMARK = 0, 1, 2, 3
OUTPUT, HEADER, INTERFACE, WEIGHTS = 0, 1, 2, 3


def _declare(library, name, result, *arguments):
    function = getattr(library, name)
    function.restype = result
    function.argtypes = list(arguments)
    return function


# The compiler's functions: (symbol, result, arguments), declared on first
# use through the module's __getattr__.
_COMPILER_FUNCTIONS = {
    "ssmc_version": ("ssmc_version", c_char_p, ()),
    "session_create": ("ssmc_session_create", c_int, (POINTER(c_void_p),)),
    "session_destroy": ("ssmc_session_destroy", None, (c_void_p,)),
    "session_set_diagnostic_callback": (
        "ssmc_session_set_diagnostic_callback", None,
        (c_void_p, DiagnosticCallback, c_void_p)),
    "session_set_flags": ("ssmc_session_set_flags", c_int,
                          (c_void_p, c_int, POINTER(c_char_p))),
    "compile_file": ("ssmc_compile_file", c_int,
                     (c_void_p, c_char_p, POINTER(c_void_p))),
    "compile_source": ("ssmc_compile_source", c_int,
                       (c_void_p, c_char_p, c_char_p, c_size_t,
                        POINTER(c_void_p))),
    "artifacts_get": ("ssmc_artifacts_get", c_int,
                      (c_void_p, c_int, POINTER(c_void_p),
                       POINTER(c_size_t))),
    "artifacts_write": ("ssmc_artifacts_write", c_int,
                        (c_void_p, c_int, c_char_p)),
    "artifacts_has": ("ssmc_artifacts_has", c_int, (c_void_p, c_int)),
    "artifacts_destroy": ("ssmc_artifacts_destroy", None, (c_void_p,)),
}


def __getattr__(name):
    if name not in _COMPILER_FUNCTIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    symbol, result, arguments = _COMPILER_FUNCTIONS[name]
    function = _declare(compiler(), symbol, result, *arguments)
    globals()[name] = function
    return function


runtime_version = _declare(runtime, "ssm_runtime_version", c_char_p)

last_error = _declare(runtime, "ssm_last_error", c_char_p)
set_num_threads = _declare(runtime, "ssm_set_num_threads", c_int,
                           ctypes.c_int32)
weights_open = _declare(runtime, "ssm_weights_open", c_int, c_char_p,
                        ctypes.c_int64, ctypes.c_int64, POINTER(c_void_p))
weights_data = _declare(runtime, "ssm_weights_data", POINTER(ctypes.c_float),
                        c_void_p)
weights_close = _declare(runtime, "ssm_weights_close", c_int, c_void_p)
packed_check_environment = _declare(runtime, "ssm_packed_check_environment",
                                    c_int)

# Results that compiled code allocates (aligned_alloc) are released with
# the C library's free.
libc = ctypes.CDLL(None)
free = _declare(libc, "free", None, c_void_p)

# The runtime's CUDA functions (ssm/runtime_cuda.h): device buffers and the
# caller's stream. They open the CUDA driver on first use.
cuda_status = _declare(runtime, "ssm_cuda_status", c_int)
cuda_alloc = _declare(runtime, "ssm_cuda_alloc", c_int, ctypes.c_int32,
                      c_size_t, POINTER(ctypes.c_uint64))
cuda_free = _declare(runtime, "ssm_cuda_free", c_int, ctypes.c_int32,
                     ctypes.c_uint64)
cuda_copy_to_device = _declare(runtime, "ssm_cuda_copy_to_device", c_int,
                               ctypes.c_int32, ctypes.c_uint64, c_void_p,
                               c_size_t)
cuda_copy_to_host = _declare(runtime, "ssm_cuda_copy_to_host", c_int,
                             ctypes.c_int32, c_void_p, ctypes.c_uint64,
                             c_size_t)
cuda_stream_wrap = _declare(runtime, "ssm_cuda_stream_wrap", c_int,
                            ctypes.c_int32, c_void_p, POINTER(c_void_p))
cuda_stream_destroy = _declare(runtime, "ssm_cuda_stream_destroy", c_int,
                               c_void_p)
cuda_set_call_stream = _declare(runtime, "ssm_cuda_set_call_stream", c_int,
                                c_void_p)
cuda_call_stream = _declare(runtime, "ssm_cuda_call_stream", c_void_p)
