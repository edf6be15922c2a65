"""ssmc from Python: compile ssm IR or Mamba / Mamba-2 checkpoints with the
ssmc compiler and call the result on NumPy arrays or DLPack tensors, with
no copies. docs/python.md."""

from ._native import CompilerUnavailable
from ._native import runtime_version as _runtime_version
from ._native import set_num_threads as _set_num_threads
from .compiler import (Artifacts, CompileError, Function, Module, Session,
                       compile, emit, load)
from . import cuda
from .model import Model

# The runtime's, which the compiler and the package share.
__version__ = _runtime_version().decode()


def set_num_threads(count):
    """Threads of the runtime's pool for the kernels (SSM_NUM_THREADS)."""
    if _set_num_threads(int(count)) != 0:
        from ._native import last_error
        raise ValueError(last_error().decode())


__all__ = ["cuda", "Artifacts", "CompileError", "CompilerUnavailable",
           "Function", "Model", "Module",
           "Session", "compile", "emit", "load", "set_num_threads"]
