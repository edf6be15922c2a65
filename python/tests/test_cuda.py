"""Modules compiled for --target=cuda, called from Python under the
runtime's fake CUDA driver (runtime/tests/fake_cuda.c: device memory in
host memory, launches counted, no PTX run). What is checked is the host
side: device arrays in and out, the launches, the caller's stream, the
status checks, and that every device allocation is freed. The kernels'
numbers are not: no GPU has run them."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

FAKE = Path(os.environ.get("SSM_FAKE_CUDA",
                           REPO / "build" / "lib" / "libssm-fake-cuda.so"))

KERNEL = """
func.func @conv(%x: tensor<?x64x?xf32>, %w: tensor<64x4xf32>,
                %s: tensor<?x64x3xf32>) -> tensor<?x64x?xf32> {
  %y = ssm.causal_conv1d %x, %w init_state(%s) silu
      : (tensor<?x64x?xf32>, tensor<64x4xf32>, tensor<?x64x3xf32>)
      -> tensor<?x64x?xf32>
  return %y : tensor<?x64x?xf32>
}
"""

SCRIPT = """
import ctypes, os, sys
import numpy as np
import ssmc

fake = ctypes.CDLL(os.environ["SSM_CUDA_DRIVER"])
fake.fake_cuda_counter.restype = ctypes.c_int
fake.fake_cuda_counter.argtypes = [ctypes.c_char_p]
fake.fake_cuda_last_launch_stream.restype = ctypes.c_void_p
counter = lambda name: fake.fake_cuda_counter(name.encode())

module = ssmc.compile(sys.argv[1], flags=["--target=cuda"], name="conv.mlir")
x = ssmc.cuda.to_device(np.ones((2, 64, 8), np.float32))
w = ssmc.cuda.to_device(np.ones((64, 4), np.float32))
s = ssmc.cuda.to_device(np.zeros((2, 64, 3), np.float32))
assert np.array_equal(x.numpy(), np.ones((2, 64, 8), np.float32))

y = module.conv(x, w, s)
print("result", type(y).__name__, y.shape, y.dtype, "launches", counter("launches"))
try:  # one state row for two sequences: the kernel's own check
    module.conv(x, w, ssmc.cuda.to_device(np.zeros((1, 64, 3), np.float32)))
except ValueError as e:
    print("refused:", e)
print("launches after the refused call", counter("launches"))
try:
    module.conv(np.ones((2, 64, 8), np.float32), w, s)
except TypeError as e:
    print("host array:", e)

# The caller's stream: a CUstream of the driver's, as PyTorch passes one.
handle = ctypes.c_void_p()
assert fake.cuStreamCreate(ctypes.byref(handle), 0) == 0
with ssmc.cuda.stream(handle.value):
    z = module.conv(x, w, s)
print("on the caller's stream:", fake.fake_cuda_last_launch_stream() == handle.value)
assert fake.cuStreamDestroy_v2(handle) == 0

del x, w, s, y, z
print("live allocations", counter("live_allocations"))
"""


def test_cuda_module_host_side_under_the_fake_driver(tmp_path):
    assert FAKE.exists(), f"no fake CUDA driver at {FAKE}"
    env = dict(os.environ, SSM_CUDA_DRIVER=str(FAKE))
    done = subprocess.run([sys.executable, "-c", SCRIPT, KERNEL], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "result DeviceArray (2, 64, 8) float32 launches 1"
    assert lines[1].startswith("refused: conv.mlir:4:") and \
        "ssm.causal_conv1d: operand 'init_state' dimension 0" in lines[1], \
        lines[1]
    assert lines[2] == "launches after the refused call 1"
    assert "runs on CUDA device 0" in lines[3], lines[3]
    assert lines[4] == "on the caller's stream: True"
    assert lines[5] == "live allocations 0"
