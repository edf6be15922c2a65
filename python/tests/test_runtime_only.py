"""A machine with the runtime but not the compiler (no LLVM/MLIR): the
package imports, loads and calls libraries compiled elsewhere, and says
clearly that compiling needs the compiler."""

import json
import os
import subprocess
import sys

import numpy as np

import ssmc
from test_compile import SQUARES

SCRIPT = """
import sys
import numpy as np
import ssmc

module = ssmc.load(sys.argv[1], sys.argv[2])
x = np.arange(32, dtype=np.float32).reshape(4, 8)
assert np.array_equal(module.squares(x), x * x)
print("called", ssmc.__version__)
cached = ssmc.compile(sys.argv[3], cache=True)  # kept by the compiler
assert np.array_equal(cached.squares(x), x * x)
try:
    ssmc.compile("func.func @f() {\\n  return\\n}\\n", cache=True)
except ssmc.CompilerUnavailable as error:
    print("refused:", error)
"""


def test_compiled_libraries_run_without_the_compiler(tmp_path):
    module = ssmc.compile(SQUARES, cache=True)
    library, interface = tmp_path / "libsquares.so", tmp_path / "squares.json"
    module.save(library)
    interface.write_text(json.dumps(module.interface))
    # A library folder with the runtime alone.
    runtime_only = tmp_path / "lib"
    runtime_only.mkdir()
    runtime = ssmc._native.library_dir() / "libssm_runtime.so.1"
    os.symlink(runtime.resolve(), runtime_only / "libssm_runtime.so.1")
    env = dict(os.environ, SSMC_LIBRARY_DIR=str(runtime_only))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(library),
                           str(interface), SQUARES], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"called {ssmc.__version__}"
    assert lines[1].startswith("refused: ssmc: cannot open the compiler")
    assert "loading compiled libraries (ssmc.load" in lines[1]
