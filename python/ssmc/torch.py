"""PyTorch custom ops with the signatures of mamba_ssm's and causal-conv1d's
kernels, computed by kernels that ssmc compiles (on first use, once per
dtype and option set; every size is dynamic).

    from ssmc.torch import selective_scan_fn, mamba_chunk_scan_combined
    y = selective_scan_fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus=True)

The kernels are kept in ssmc's cache (ssmc.compile(cache=True)), so a
new process loads them instead of compiling them again.

Each is registered as `torch.ops.ssmc.<name>` with `torch.library` (with a
fake implementation for torch.compile's tracing), so a model or a serving
engine that calls mamba_ssm's functions can call these instead. Tensors go
to the kernels and results come back without copies. CPU tensors run on
the CPU; tensors on CUDA device 0 run kernels compiled with --target=cuda
for the device's architecture, queued on PyTorch's current stream (no GPU
has run this path yet: docs/python.md). No backward.
"""

from typing import Optional, Tuple

import numpy as np
import torch

from . import compiler
from . import cuda as _cuda
from ._buffers import numpy_dtype

_ELEMENT = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
            torch.float64: "f64", torch.int32: "i32", torch.int64: "i64"}
_modules = {}


def _element(tensor, what):
    if tensor.dtype not in _ELEMENT:
        raise TypeError(f"{what} is {tensor.dtype}; ssmc's kernels take "
                        "float32, float16, bfloat16 or float64 (and int32 or "
                        "int64 indices)")
    return _ELEMENT[tensor.dtype]


def _type(rank, element, shape=None):
    """A tensor type of `rank` dynamic sizes, or of `shape` (None for a
    dynamic size)."""
    shape = shape if shape is not None else (None,) * rank
    return ("tensor<" + "".join("?x" if s is None else f"{s}x" for s in shape)
            + element + ">")


def cuda_arch(capability):
    """ssmc's --cuda-arch for a device of compute capability (major, minor):
    sm_90a (wgmma) on Hopper, portable sm_90 PTX above it, sm_80 PTX on
    Ampere and Ada (the driver compiles PTX for the device)."""
    major, minor = capability
    if major == 9:
        return "sm_90a"
    if major > 9:
        return "sm_90"
    if major == 8:
        return "sm_80"
    raise NotImplementedError(f"a CUDA device of compute capability "
                              f"{major}.{minor}: ssmc's GPU kernels need 8.0 "
                              "or newer")


def _device(present):
    """The device all of `present` [(name, tensor)] are on: "cpu", or CUDA
    device 0, the one ssmc's generated code runs on."""
    name, first = present[0]
    for other, t in present[1:]:
        if t.device != first.device:
            raise ValueError(f"{other} is on {t.device} and {name} on "
                             f"{first.device}: pass all tensors on one device")
    device = first.device
    if device.type == "cpu":
        return device
    if device.type != "cuda" or (device.index or 0) != _cuda.DEVICE:
        raise NotImplementedError(f"{name} is on {device}: ssmc.torch runs on "
                                  f"the CPU and on cuda:{_cuda.DEVICE}")
    return device


def _cuda_view(tensor, element):
    """`tensor` (dense, on CUDA device 0) as an ssmc.cuda.DeviceArray that
    does not own it; bf16 travels as its raw 16-bit patterns."""
    return _cuda.DeviceArray(tensor.data_ptr(), tensor.shape, numpy_dtype(element))


def _call(kind, operands, build, *extra_key, state_dims=()):
    """Calls the kernel of `kind` for `operands` [(name, tensor or None)],
    compiled once per device kind, element types, ranks, state size and
    `extra_key`: `build(types)` gets {name: MLIR type} of the present
    operands and returns the MLIR function @kernel taking them in order.
    Every size is dynamic but the state size N, at the (name, dimension)
    pairs of `state_dims`: the GPU keeps a state in registers and needs it
    static. Results are CPU tensors or CUDA tensors, on the operands'
    device."""
    present = [(name, t) for name, t in operands if t is not None]
    device = _device(present)
    flags = []
    if device.type == "cuda":
        arch = cuda_arch(torch.cuda.get_device_capability(device))
        flags = ["--target=cuda", f"--cuda-arch={arch}"]
    static = {(name, dim % operand.dim())
              for name, dim in state_dims
              for other, operand in present if other == name}
    signature = tuple(
        (name, tuple(size if (name, d) in static else None
                     for d, size in enumerate(t.shape)), _element(t, name))
        for name, t in present)
    key = (kind, signature, extra_key, tuple(flags))
    if key not in _modules:
        types = {name: _type(len(shape), element, shape)
                 for name, shape, element in signature}
        _modules[key] = compiler.compile(build(types), flags=flags,
                                         name=f"ssmc.torch.{kind}", cache=True)
    tensors = [t.detach().contiguous() for _, t in present]
    if device.type == "cpu":
        return _modules[key].kernel(*tensors)
    views = [_cuda_view(t, element)
             for t, (_, _, element) in zip(tensors, signature)]
    with _cuda.stream(torch.cuda.current_stream(device).cuda_stream):
        results = _modules[key].kernel(*views)
    if results is None:
        return None
    if not isinstance(results, tuple):
        return torch.as_tensor(results, device=device)
    return tuple(torch.as_tensor(r, device=device) for r in results)


def _function(types, op, results):
    """@kernel(<types in order>) { <op> ; return <results> }."""
    params = ", ".join(f"%{name}: {t}" for name, t in types.items())
    result_types = ", ".join(t for _, t in results)
    values = ", ".join(v for v, _ in results)
    return (f"func.func @kernel({params}) -> ({result_types}) {{\n  {op}\n"
            f"  return {values} : {result_types}\n}}\n")


def _operands_text(types):
    return ", ".join(types.values())


def _tensor(result, dtype):
    """A result of _call (a NumPy array or a CUDA tensor) as a tensor of
    `dtype` (bf16 comes back as its raw bits)."""
    if isinstance(result, np.ndarray):
        result = torch.from_numpy(result)
    return result.view(dtype) if dtype == torch.bfloat16 else result


def _optional(types, pairs):
    """` word(%name)` for each present optional operand."""
    return "".join(f" {word}(%{name})" for name, word in pairs if name in types)


# --- mamba_ssm: selective_scan_fn -------------------------------------------

@torch.library.custom_op("ssmc::selective_scan", mutates_args=())
def _selective_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor,
                    B: torch.Tensor, C: torch.Tensor, D: Optional[torch.Tensor],
                    z: Optional[torch.Tensor],
                    delta_bias: Optional[torch.Tensor],
                    delta_softplus: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    if A.is_complex():
        raise NotImplementedError("complex A: ssmc's selective scan is real")
    # mamba_ssm's [B, N, L] is one group.
    B = B.unsqueeze(1) if B.dim() == 3 else B
    C = C.unsqueeze(1) if C.dim() == 3 else C

    def build(types):
        y = types["u"]
        op = ("%y, %h = ssm.selective_scan %u, %delta, %A, %B, %C" +
              _optional(types, [("D", "skip"), ("z", "gate"),
                                ("delta_bias", "delta_bias")]) +
              (" delta_softplus" if delta_softplus else "") +
              f" : ({_operands_text(types)}) -> ({y}, {_type(3, 'f32')})")
        return _function(types, op, [("%y", y), ("%h", _type(3, "f32"))])

    y, h = _call("selective_scan",
                 [("u", u), ("delta", delta), ("A", A), ("B", B), ("C", C),
                  ("D", D), ("z", z), ("delta_bias", delta_bias)],
                 build, delta_softplus,
                 state_dims=[("A", -1), ("B", 2), ("C", 2)])
    return _tensor(y, u.dtype), _tensor(h, torch.float32)


@_selective_scan.register_fake
def _(u, delta, A, B, C, D, z, delta_bias, delta_softplus):
    return (torch.empty_like(u),
            u.new_empty((u.shape[0], u.shape[1], A.shape[-1]),
                        dtype=torch.float32))


def selective_scan_fn(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                      delta_softplus=False, return_last_state=False):
    """mamba_ssm's selective_scan_fn: u, delta [B, D, L]; A [D, N] (real);
    B, C [B, G, N, L] or [B, N, L] (input-dependent); D, delta_bias [D]; z
    [B, D, L]. Returns y [B, D, L] in u's dtype and, with
    return_last_state, the last state [B, D, N] in float32."""
    y, last = _selective_scan(u, delta, A, B, C, D, z, delta_bias,
                              bool(delta_softplus))
    return (y, last) if return_last_state else y


# --- mamba_ssm: mamba_chunk_scan_combined -----------------------------------

@torch.library.custom_op("ssmc::chunk_scan", mutates_args=())
def _chunk_scan(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor,
                B: torch.Tensor, C: torch.Tensor, chunk_size: int,
                D: Optional[torch.Tensor], z: Optional[torch.Tensor],
                dt_bias: Optional[torch.Tensor],
                initial_states: Optional[torch.Tensor],
                seq_idx: Optional[torch.Tensor],
                cu_seqlens: Optional[torch.Tensor], dt_softplus: bool,
                dt_min: float, dt_max: float) -> Tuple[torch.Tensor,
                                                       torch.Tensor]:
    limited = dt_min > 0.0 or dt_max != float("inf")

    def build(types):
        y = types["x"]
        state = _type(4, "f32")
        op = ("%y, %h = ssm.ssd %x, %dt, %A, %B, %C" +
              _optional(types, [("D", "skip"), ("z", "gate"),
                                ("dt_bias", "dt_bias"),
                                ("initial_states", "init"),
                                ("seq_idx", "seq_idx"),
                                ("cu_seqlens", "cu_seqlens")]) +
              (" dt_softplus" if dt_softplus else "") +
              (f" dt_limit [{dt_min!r}, {dt_max!r}]" if limited else "") +
              f" {{chunk_size = {int(chunk_size)} : i64}}"
              f" : ({_operands_text(types)}) -> ({y}, {state})")
        return _function(types, op, [("%y", y), ("%h", state)])

    y, h = _call("chunk_scan",
                 [("x", x), ("dt", dt), ("A", A), ("B", B), ("C", C),
                  ("D", D), ("z", z), ("dt_bias", dt_bias),
                  ("initial_states", initial_states), ("seq_idx", seq_idx),
                  ("cu_seqlens", cu_seqlens)],
                 build, chunk_size, dt_softplus, dt_min, dt_max,
                 state_dims=[("B", -1), ("C", -1), ("initial_states", -1)])
    return _tensor(y, x.dtype), _tensor(h, torch.float32)


@_chunk_scan.register_fake
def _(x, dt, A, B, C, chunk_size, D, z, dt_bias, initial_states, seq_idx,
      cu_seqlens, dt_softplus, dt_min, dt_max):
    rows = cu_seqlens.shape[0] - 1 if cu_seqlens is not None else x.shape[0]
    return (torch.empty_like(x),
            x.new_empty((rows, x.shape[2], x.shape[3], B.shape[-1]),
                        dtype=torch.float32))


def mamba_chunk_scan_combined(x, dt, A, B, C, chunk_size, D=None, z=None,
                              dt_bias=None, initial_states=None, seq_idx=None,
                              cu_seqlens=None, dt_softplus=False,
                              dt_limit=(0.0, float("inf")),
                              return_final_states=False,
                              return_varlen_states=False):
    """mamba_ssm's mamba_chunk_scan_combined: x [B, L, H, P]; dt [B, L, H];
    A [H]; B, C [B, L, G, N]; D [H] or [H, P]; z [B, L, H, P]; dt_bias [H];
    initial_states [B, H, P, N]; seq_idx [B, L]; or cu_seqlens [S + 1] with
    B = 1 and return_varlen_states, for packed sequences. Returns y in x's
    dtype, then the final states [B, H, P, N] (return_final_states) or the
    states of each packed sequence [S, H, P, N] (return_varlen_states), in
    float32."""
    if cu_seqlens is not None and (return_final_states or
                                   not return_varlen_states):
        raise NotImplementedError(
            "with cu_seqlens, ssmc returns the states of each sequence: "
            "pass return_varlen_states=True and return_final_states=False")
    if cu_seqlens is None and return_varlen_states:
        raise ValueError("return_varlen_states needs cu_seqlens")
    y, states = _chunk_scan(x, dt, A, B, C, int(chunk_size), D, z, dt_bias,
                            initial_states, seq_idx, cu_seqlens,
                            bool(dt_softplus), float(dt_limit[0]),
                            float(dt_limit[1]))
    return (y, states) if return_final_states or return_varlen_states else y


# --- mamba_ssm: selective_state_update --------------------------------------

def _untied(t, dims, what):
    """`t` without the dimensions `dims`, along which mamba_ssm's Mamba-2
    callers repeat one value per head (stride 0): ssmc's Mamba-2 step takes
    that value."""
    index = tuple(0 if d in dims else slice(None) for d in range(t.dim()))
    head = t[index]
    if not torch.equal(t, head.reshape([1 if d in dims else s
                                        for d, s in enumerate(t.shape)])
                       .expand_as(t)):
        raise NotImplementedError(
            f"{what} varies within a head: ssmc's Mamba-2 step has one value "
            "per head (mamba_ssm's tie_hdim)")
    return head


@torch.library.custom_op("ssmc::state_update", mutates_args=("state",))
def _state_update(state: torch.Tensor, x: torch.Tensor, dt: torch.Tensor,
                  A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                  D: Optional[torch.Tensor], z: Optional[torch.Tensor],
                  dt_bias: Optional[torch.Tensor],
                  dt_softplus: bool) -> torch.Tensor:
    if not state.is_contiguous():
        raise ValueError("state is updated in place and must be contiguous")
    B = B.unsqueeze(1) if B.dim() == 2 else B
    C = C.unsqueeze(1) if C.dim() == 2 else C
    if state.dim() == 4:
        # Mamba-2: dt [B, H, P], A [H, P, N], dt_bias [H, P] repeat one
        # value per head.
        dt = _untied(dt, (2,), "dt") if dt.dim() == 3 else dt
        A = _untied(A, (1, 2), "A") if A.dim() == 3 else A
        if dt_bias is not None and dt_bias.dim() == 2:
            dt_bias = _untied(dt_bias, (1,), "dt_bias")

    def build(types):
        y = types["x"]
        ins = ["x", "dt", "A", "B", "C"]
        op = (f"%h, %out = ssm.state_update ins(" +
              ", ".join(f"%{n}" for n in ins) + " : " +
              ", ".join(types[n] for n in ins) + ")" +
              "".join(f" {word}(%{n} : {types[n]})"
                      for n, word in (("D", "skip"), ("z", "gate"),
                                      ("dt_bias", "dt_bias")) if n in types) +
              (" dt_softplus" if dt_softplus else "") +
              f" outs(%state, %y : {types['state']}, {y})")
        # Both results are the destinations: the compiled function writes
        # them in place and returns nothing (ssm-drop-argument-results).
        return _function(types, op, [("%h", types["state"]), ("%out", y)])

    y = torch.empty_like(x)
    _call("state_update",
          [("x", x), ("dt", dt), ("A", A), ("B", B), ("C", C), ("D", D),
           ("z", z), ("dt_bias", dt_bias), ("state", state), ("y", y)],
          build, dt_softplus,
          state_dims=[("state", -1), ("B", -1), ("C", -1)] +
          ([("A", -1)] if A.dim() == 2 else []))
    return y


@_state_update.register_fake
def _(state, x, dt, A, B, C, D, z, dt_bias, dt_softplus):
    return torch.empty_like(x)


def selective_state_update(state, x, dt, A, B, C, D=None, z=None,
                           dt_bias=None, dt_softplus=False):
    """mamba_ssm's selective_state_update, one decode step. Mamba-1: state
    [B, D, N], x and dt [B, D], A [D, N], B and C [B, N] or [B, G, N], D and
    dt_bias [D], z [B, D]. Mamba-2: state [B, H, P, N], x [B, H, P], dt
    [B, H, P] or [B, H], A [H, P, N] or [H] (one value per head), D [H, P]
    or [H], dt_bias [H, P] or [H], z [B, H, P]. Updates `state` in place and
    returns y shaped like x."""
    return _state_update(state, x, dt, A, B, C, D, z, dt_bias,
                         bool(dt_softplus))


# --- causal-conv1d: causal_conv1d_fn, causal_conv1d_update -----------------

def _activation(activation):
    if activation not in (None, "silu", "swish"):
        raise ValueError(f"activation must be None, 'silu' or 'swish', not "
                         f"{activation!r}")
    return activation is not None


@torch.library.custom_op("ssmc::causal_conv1d", mutates_args=())
def _causal_conv1d(x: torch.Tensor, weight: torch.Tensor,
                   bias: Optional[torch.Tensor],
                   initial_states: Optional[torch.Tensor],
                   silu: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    def build(types):
        out = types["x"]
        state = types["x"]
        op = ("%out, %s = ssm.causal_conv1d %x, %weight" +
              _optional(types, [("bias", "bias"),
                                ("initial_states", "init_state")]) +
              (" silu" if silu else "") +
              f" : ({_operands_text(types)}) -> ({out}, {state})")
        return _function(types, op, [("%out", out), ("%s", state)])

    out, final = _call("causal_conv1d",
                       [("x", x), ("weight", weight), ("bias", bias),
                        ("initial_states", initial_states)], build, silu)
    return _tensor(out, x.dtype), _tensor(final, x.dtype)


@_causal_conv1d.register_fake
def _(x, weight, bias, initial_states, silu):
    return (torch.empty_like(x),
            x.new_empty((x.shape[0], x.shape[1], weight.shape[-1] - 1)))


def causal_conv1d_fn(x, weight, bias=None, seq_idx=None, initial_states=None,
                     return_final_states=False, final_states_out=None,
                     activation=None):
    """causal-conv1d's causal_conv1d_fn: x [B, D, L], weight [D, W], bias
    [D], initial_states [B, D, W - 1]; activation None, 'silu' or 'swish'.
    Returns out [B, D, L] and, with return_final_states, the last W - 1
    inputs [B, D, W - 1] (written into final_states_out when given)."""
    if seq_idx is not None:
        raise NotImplementedError("seq_idx: ssmc's convolution has no "
                                  "sequence boundaries inside a row yet")
    out, final = _causal_conv1d(x, weight, bias, initial_states,
                                _activation(activation))
    if not return_final_states:
        return out
    if final_states_out is not None:
        final_states_out.copy_(final)
        final = final_states_out
    return out, final


def causal_conv1d_update(x, conv_state, weight, bias=None, activation=None,
                         cache_seqlens=None):
    """causal-conv1d's causal_conv1d_update, one step (x [B, D]) or a few
    (x [B, D, L]): conv_state [B, D, W - 1] holds the last inputs and is
    updated in place. Returns out shaped like x."""
    if cache_seqlens is not None:
        raise NotImplementedError("cache_seqlens (a circular conv_state)")
    if conv_state.shape[-1] != weight.shape[-1] - 1:
        raise NotImplementedError(
            f"conv_state holds {conv_state.shape[-1]} steps; ssmc keeps the "
            f"last W - 1 = {weight.shape[-1] - 1}")
    steps = x.unsqueeze(-1) if x.dim() == 2 else x
    out, final = _causal_conv1d(steps, weight, bias, conv_state,
                                _activation(activation))
    conv_state.copy_(final)
    return out.squeeze(-1) if x.dim() == 2 else out


__all__ = ["causal_conv1d_fn", "causal_conv1d_update",
           "mamba_chunk_scan_combined", "selective_scan_fn",
           "selective_state_update"]
