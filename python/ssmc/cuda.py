"""Device buffers and the caller's stream, for modules compiled with
--target=cuda (docs/python.md). Generated code runs on CUDA device 0.

    module = ssmc.compile(text, flags=["--target=cuda", "--cuda-arch=sm_90"])
    y = module.conv(ssmc.cuda.to_device(x), ssmc.cuda.to_device(w))
    print(y.numpy())

Arguments are any object with __cuda_array_interface__ or a CUDA DLPack
tensor (PyTorch's, CuPy's); results are DeviceArray, which PyTorch reads
without a copy (torch.as_tensor(y, device="cuda")).
"""

import contextlib
import ctypes

import numpy as np

from . import _native
from ._buffers import numpy_dtype

DEVICE = 0  # where generated code runs


def _check(status, what):
    if status != _native.OK:
        raise RuntimeError(f"{what}: {_native.last_error().decode()}")


class DeviceArray:
    """A dense, row-major buffer in the memory of CUDA device 0. It frees
    the memory when the last reference goes, if it owns it."""

    def __init__(self, address, shape, dtype, allocation=None):
        self.address = int(address)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        # What to free (the allocation the data lies in), or None.
        self._allocation = allocation

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str,
                "data": (self.address, False), "strides": None,
                "version": 3}

    def numpy(self):
        """A host copy (waits for the device)."""
        out = np.empty(self.shape, self.dtype)
        if out.nbytes:
            _check(_native.cuda_copy_to_host(DEVICE, out.ctypes.data,
                                             self.address, out.nbytes),
                   "DeviceArray.numpy")
        return out

    def __del__(self):
        if getattr(self, "_allocation", None):
            _native.cuda_free(DEVICE, self._allocation)
            self._allocation = None

    def __repr__(self):
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype})"


def empty(shape, dtype=np.float32):
    """An uninitialized DeviceArray."""
    array = DeviceArray(0, shape, dtype)
    address = ctypes.c_uint64()
    _check(_native.cuda_alloc(DEVICE, array.nbytes, ctypes.byref(address)),
           "ssmc.cuda.empty")
    array.address = array._allocation = address.value
    return array


def to_device(host):
    """A DeviceArray holding a copy of the NumPy array `host`."""
    host = np.ascontiguousarray(host)
    array = empty(host.shape, host.dtype)
    if host.nbytes:
        _check(_native.cuda_copy_to_device(DEVICE, array.address,
                                           host.ctypes.data, host.nbytes),
               "ssmc.cuda.to_device")
    return array


@contextlib.contextmanager
def stream(cu_stream):
    """Runs the calls made inside on the CUstream `cu_stream` (an int, e.g.
    torch.cuda.current_stream().cuda_stream; 0 is the default stream) of
    device 0, this thread only: they queue their kernels after the work
    already there and return without waiting, as PyTorch's own kernels
    do. Outside, each call runs on a stream of its own and waits for it."""
    handle = ctypes.c_void_p()
    _check(_native.cuda_stream_wrap(DEVICE, ctypes.c_void_p(int(cu_stream)),
                                    ctypes.byref(handle)), "ssmc.cuda.stream")
    previous = _native.cuda_call_stream()
    try:
        _check(_native.cuda_set_call_stream(handle), "ssmc.cuda.stream")
        yield
    finally:
        _native.cuda_set_call_stream(previous)
        _native.cuda_stream_destroy(handle)


def adopt(descriptor, dtype):
    """A DeviceArray over a result the code allocated on the device."""
    rank = len(descriptor.sizes) if hasattr(descriptor, "sizes") else 0
    shape = tuple(descriptor.sizes) if rank else ()
    np_dtype = numpy_dtype(dtype)
    return DeviceArray((descriptor.aligned or 0) + descriptor.offset *
                       np_dtype.itemsize, shape, np_dtype,
                       allocation=descriptor.allocated or None)


def release(descriptor):
    _native.cuda_free(DEVICE, descriptor.allocated or 0)
