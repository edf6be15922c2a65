"""Arrays in and out of compiled entry points, without copies.

An entry point takes MLIR memref descriptors (allocated and aligned
pointers, offset, sizes, strides; docs/sdk.md). A NumPy array, or any
object that speaks DLPack (a PyTorch tensor, CuPy, JAX), is described in
place; results the code allocates become NumPy arrays that own their memory
and free it when the last reference goes.
"""

import ctypes
import weakref

import numpy as np

from . import _native

# The interface's dtypes (ssm-c/Compiler.h's JSON) as NumPy dtypes. bf16 has
# none in NumPy: its raw 16-bit patterns travel as uint16, or as
# ml_dtypes.bfloat16 where that is installed.
_NUMPY = {
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16),
    "i1": np.dtype(np.bool_),
    "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
}

# DLPack's (type code, bits) of each dtype (dlpack.h: kDLInt 0, kDLUInt 1,
# kDLFloat 2, kDLBfloat 4, kDLBool 6).
_DLPACK = {
    "f32": {(2, 32)},
    "f64": {(2, 64)},
    "f16": {(2, 16)},
    "bf16": {(4, 16), (1, 16)},
    "i1": {(6, 8), (1, 8)},
    "i32": {(0, 32)},
    "i64": {(0, 64)},
}

_DEVICE_NAMES = {1: "cpu", 2: "cuda", 3: "cuda_host", 13: "cuda_managed"}


def numpy_dtype(dtype):
    return _NUMPY[dtype]


def _accepts(dtype, array_dtype):
    if dtype == "bf16":
        return array_dtype.itemsize == 2 and array_dtype.name in ("bfloat16",
                                                                  "uint16")
    return array_dtype == _NUMPY[dtype]


_descriptors = {}


def descriptor_type(rank):
    """The ctypes struct of a rank-`rank` descriptor (ssmc_memref_<r>d_*)."""
    if rank not in _descriptors:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _descriptors[rank] = type(f"memref_{rank}d", (ctypes.Structure,),
                                  {"_fields_": fields})
    return _descriptors[rank]


def _row_major(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return list(reversed(strides))


def _check_shape(what, spec, shape):
    expected = spec["shape"]
    if len(shape) != len(expected):
        raise ValueError(f"{what} has {len(shape)} dimensions, the signature "
                         f"{_shape_text(expected)} has {len(expected)}")
    for i, (size, want) in enumerate(zip(shape, expected)):
        if want is not None and size != want:
            raise ValueError(f"{what} dimension {i} is {size}, the signature "
                             f"{_shape_text(expected)} says {want}")


def _shape_text(shape):
    return "[" + ", ".join("?" if s is None else str(s) for s in shape) + "]"


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32), ("ndim", ctypes.c_int32),
                ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class Argument:
    """One argument, described for a call; keeps what it points into alive."""

    def __init__(self, value, spec, function, device="cpu"):
        self.spec = spec
        what = f"{function}: argument '{spec['name']}'"
        writes = spec["role"] in ("in_place", "output")
        if device == "cuda":
            if hasattr(value, "__cuda_array_interface__"):
                self._from_cuda_array(value, what)
            elif hasattr(value, "__dlpack__") and not isinstance(value,
                                                                 np.ndarray):
                self._from_dlpack(value, what, device)
            else:
                raise TypeError(f"{what}: this module runs on CUDA device 0; "
                                "pass a device array (ssmc.cuda.to_device, "
                                "a CUDA tensor), not host memory")
        elif isinstance(value, np.ndarray) or not hasattr(value, "__dlpack__"):
            if hasattr(value, "__cuda_array_interface__"):
                raise TypeError(f"{what} is in device memory, but this module "
                                "runs on the CPU")
            self._from_numpy(value, what, writes)
        else:
            self._from_dlpack(value, what, device)

    def _from_numpy(self, value, what, writes):
        dtype = self.spec["dtype"]
        if not isinstance(value, np.ndarray):
            if writes:
                raise TypeError(f"{what} is written by the call: pass a NumPy "
                                f"array of {dtype}, not {type(value).__name__}")
            value = np.asarray(value, dtype=_NUMPY[dtype])
        if not _accepts(dtype, value.dtype):
            raise TypeError(f"{what} is {value.dtype}, the signature says "
                            f"{dtype}" + (" (raw bits as uint16, or "
                                          "ml_dtypes.bfloat16)" if dtype ==
                                          "bf16" else ""))
        _check_shape(what, self.spec, value.shape)
        if writes:
            if not value.flags.writeable:
                raise ValueError(f"{what} is written by the call, but the "
                                 "array is read-only")
            if not value.flags.c_contiguous:
                raise ValueError(f"{what} is written by the call and must be "
                                 "C-contiguous (np.ascontiguousarray)")
        elif not value.flags.c_contiguous:
            # An input may be any view: it is read from a dense copy.
            value = np.ascontiguousarray(value)
        self.keep = value
        self._describe(value.ctypes.data, value.shape)

    def _from_cuda_array(self, value, what):
        interface = value.__cuda_array_interface__
        dtype = np.dtype(interface["typestr"])
        if not _accepts(self.spec["dtype"], dtype):
            raise TypeError(f"{what} is {dtype}, the signature says "
                            f"{self.spec['dtype']}")
        shape = [int(s) for s in interface["shape"]]
        _check_shape(what, self.spec, shape)
        strides = interface.get("strides")
        if strides is not None and list(strides) != [
                s * dtype.itemsize for s in _row_major(shape)]:
            raise ValueError(f"{what} is not contiguous (strides {strides})")
        self.keep = value
        self._describe(interface["data"][0], shape)

    def _from_dlpack(self, value, what, device="cpu"):
        dtype = self.spec["dtype"]
        capsule = value.__dlpack__()
        managed = _capsule_pointer(capsule, b"dltensor")
        tensor = _DLTensor.from_address(managed)
        found = _DEVICE_NAMES.get(tensor.device_type,
                                  f"device type {tensor.device_type}")
        wanted = (2,) if device == "cuda" else (1, 3)
        if tensor.device_type not in wanted or (device == "cuda" and
                                                tensor.device_id != 0):
            raise TypeError(f"{what} is on {found} {tensor.device_id}, but "
                            "this module runs on " +
                            ("CUDA device 0" if device == "cuda" else "the CPU"))
        if (tensor.code, tensor.bits) not in _DLPACK[dtype] or tensor.lanes != 1:
            raise TypeError(f"{what} has DLPack dtype (code {tensor.code}, "
                            f"{tensor.bits} bits), the signature says {dtype}")
        shape = [tensor.shape[i] for i in range(tensor.ndim)]
        _check_shape(what, self.spec, shape)
        if tensor.strides:
            strides = [tensor.strides[i] for i in range(tensor.ndim)]
            dense = _row_major(shape)
            if any(s != d and n > 1 for s, d, n in zip(strides, dense, shape)):
                raise ValueError(f"{what} is not contiguous (strides "
                                 f"{strides}): pass a contiguous tensor "
                                 "(.contiguous())")
        # The capsule owns the producer's reference until it is collected
        # (its destructor calls the DLPack deleter).
        self.keep = capsule
        self._describe(tensor.data + tensor.byte_offset, shape)

    def _describe(self, address, shape):
        rank = len(shape)
        self.descriptor = descriptor_type(rank)()
        self.descriptor.allocated = address
        self.descriptor.aligned = address
        self.descriptor.offset = 0
        if rank:
            self.descriptor.sizes[:] = list(shape)
            self.descriptor.strides[:] = _row_major(shape)

    def pointer(self):
        return ctypes.addressof(self.descriptor)


class _Allocation:
    """Frees what compiled code allocated when the last array using it goes."""

    def __init__(self, address):
        weakref.finalize(self, _native.free, address)


def adopt(descriptor, dtype):
    """A NumPy array over a result the code allocated, which it then owns."""
    rank = len(descriptor.sizes) if hasattr(descriptor, "sizes") else 0
    shape = tuple(descriptor.sizes) if rank else ()
    np_dtype = _NUMPY[dtype]
    count = int(np.prod(shape, dtype=np.int64)) if rank else 1
    owner = _Allocation(descriptor.allocated)
    if count == 0:
        return np.empty(shape, dtype=np_dtype)
    address = descriptor.aligned + descriptor.offset * np_dtype.itemsize
    buffer = (ctypes.c_char * (count * np_dtype.itemsize)).from_address(address)
    buffer._owner = owner
    return np.frombuffer(buffer, dtype=np_dtype).reshape(shape)


def release(descriptor):
    """Frees a result that is not handed to the caller (a failed call's)."""
    _native.free(descriptor.allocated)
