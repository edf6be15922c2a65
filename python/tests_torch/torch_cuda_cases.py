"""ssmc.torch's ops on CUDA tensors, for a GPU machine without the compiler.

    python3 torch_cuda_cases.py prepare FOLDER   # where ssmc compiles
    python3 torch_cuda_cases.py check FOLDER     # on the GPU machine

`prepare` runs every op on CPU tensors, in the variants that
test_torch_ops.py checks against float64 references, and keeps the inputs
and results in FOLDER/cases.pt; it compiles each kernel the ops built for
every architecture ssmc.torch picks (`ssmc.torch.cuda_arch`) into the cache
FOLDER/cache. `check` runs the same ops on CUDA device 0 with that cache
(ssmc.compile(cache=True) loads the newest kernel kept for a text where the
compiler is missing) and compares each result with the CPU's. It exits 77
when PyTorch sees no GPU or NumPy is missing. scripts/gpu-bundle.sh and
scripts/gpu-check.sh run the two halves.
"""

import contextlib
import os
import sys
from pathlib import Path

import torch

ARCHS = ("sm_80", "sm_90", "sm_90a")


@contextlib.contextmanager
def _cache_in(folder):
    """ssmc's cache in `folder` (SSM_CACHE_DIR) while inside."""
    before = os.environ.get("SSM_CACHE_DIR")
    os.environ["SSM_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            del os.environ["SSM_CACHE_DIR"]
        else:
            os.environ["SSM_CACHE_DIR"] = before


def make_inputs():
    """Random inputs of every op, on the CPU."""
    g = torch.Generator().manual_seed(0)

    def randn(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=g).to(dtype)

    def decays(*shape):
        return -torch.rand(*shape, generator=g) - 0.1

    b, d, n, l, groups, h, p = 2, 8, 4, 11, 2, 4, 8
    return dict(
        u=randn(b, d, l), delta=randn(b, d, l), z=randn(b, d, l),
        A1=decays(d, n), B1=randn(b, groups, n, l), C1=randn(b, groups, n, l),
        D1=randn(d), bias1=randn(d), u16=randn(b, d, l, dtype=torch.bfloat16),
        x=randn(b, l, h, p), dt=randn(b, l, h), A2=decays(h),
        B2=randn(b, l, groups, 16), C2=randn(b, l, groups, 16), D2=randn(h),
        z2=randn(b, l, h, p), dt_bias=randn(h), h0=randn(b, h, p, 16),
        seq_idx=torch.tensor([[0] * 5 + [1] * 6] * b, dtype=torch.int32),
        cu_seqlens=torch.tensor([0, 4, 11], dtype=torch.int32),
        state1=randn(b, d, n), xs=randn(b, d), dts=randn(b, d), Bs=randn(b, n),
        Cs=randn(b, n), state2=randn(b, h, p, 16), x2=randn(b, h, p),
        dt2=randn(b, h), Bs2=randn(b, groups, 16), Cs2=randn(b, groups, 16),
        conv_w=randn(d, 4), conv_b=randn(d), conv_s=randn(b, d, 3))


def run_all(inputs, device):
    """Each op in several variants on copies of `inputs` on `device`;
    returns {case: (tensors)}."""
    from ssmc.torch import (causal_conv1d_fn, causal_conv1d_update,
                            mamba_chunk_scan_combined, selective_scan_fn,
                            selective_state_update)
    t = {name: value.to(device) for name, value in inputs.items()}
    out = {}
    out["scan"] = selective_scan_fn(
        t["u"], t["delta"], t["A1"], t["B1"], t["C1"], t["D1"], t["z"],
        t["bias1"], delta_softplus=True, return_last_state=True)
    out["scan one group"] = (selective_scan_fn(
        t["u"], t["delta"], t["A1"], t["B1"][:, 0], t["C1"][:, 0]),)
    out["scan bf16"] = (selective_scan_fn(
        t["u16"], t["delta"].bfloat16(), t["A1"], t["B1"].bfloat16(),
        t["C1"].bfloat16(), delta_softplus=True),)
    out["ssd"] = mamba_chunk_scan_combined(
        t["x"], t["dt"], t["A2"], t["B2"], t["C2"], chunk_size=16, D=t["D2"],
        z=t["z2"], dt_bias=t["dt_bias"], initial_states=t["h0"],
        seq_idx=t["seq_idx"], dt_softplus=True, dt_limit=(0.0, 2.0),
        return_final_states=True)
    out["ssd packed"] = mamba_chunk_scan_combined(
        t["x"][:1], t["dt"][:1], t["A2"], t["B2"][:1], t["C2"][:1],
        chunk_size=16, cu_seqlens=t["cu_seqlens"], return_varlen_states=True)
    state1 = t["state1"].clone()
    y1 = selective_state_update(state1, t["xs"], t["dts"], t["A1"], t["Bs"],
                                t["Cs"], t["D1"], t["xs"], t["bias1"],
                                dt_softplus=True)
    out["step mamba-1"] = (y1, state1)
    state2 = t["state2"].clone()
    y2 = selective_state_update(state2, t["x2"], t["dt2"], t["A2"], t["Bs2"],
                                t["Cs2"], t["D2"], dt_softplus=True)
    out["step mamba-2"] = (y2, state2)
    out["conv"] = causal_conv1d_fn(t["u"], t["conv_w"], t["conv_b"],
                                   initial_states=t["conv_s"],
                                   return_final_states=True, activation="silu")
    conv_state = t["conv_s"].clone()
    out["conv step"] = (causal_conv1d_update(t["xs"], conv_state, t["conv_w"],
                                             t["conv_b"], "silu"), conv_state)
    return out


def prepare(folder):
    """Runs the CPU cases and compiles their kernels for the GPU into
    `folder`; returns the (text, name) of each kernel."""
    from ssmc import compiler
    import ssmc.torch
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seen = []
    original = compiler.compile

    def recording(source, flags=(), name=None, cache=False):
        seen.append((source, name))
        return original(source, flags=flags, name=name, cache=cache)

    inputs = make_inputs()
    with _cache_in(folder / "cache"):
        ssmc.torch._modules.clear()
        compiler.compile = recording
        try:
            expected = run_all(inputs, "cpu")
        finally:
            compiler.compile = original
            ssmc.torch._modules.clear()
        for text, name in seen:
            for arch in ARCHS:
                compiler.compile(text, flags=["--target=cuda",
                                              f"--cuda-arch={arch}"],
                                 name=name, cache=True)
    torch.save({"inputs": inputs, "expected": expected}, folder / "cases.pt")
    return seen


def check(folder):
    """Runs the cases of `prepare` on CUDA device 0 and compares them with
    the CPU's results; returns a list of failures (empty when all agree)."""
    folder = Path(folder)
    cases = torch.load(folder / "cases.pt")
    with _cache_in(folder / "cache"):
        got = run_all(cases["inputs"], "cuda")
    failures = []
    for case, expected in cases["expected"].items():
        for i, (want, have) in enumerate(zip(expected, got[case])):
            if have.device.type != "cuda":
                failures.append(f"{case}[{i}] is on {have.device}")
                continue
            have = have.cpu()
            # f32 results to 1e-4 of the largest (another order of sums);
            # bf16 ones to their rounding, 2^-8 relative.
            tolerance = 1e-2 if want.dtype == torch.bfloat16 else 1e-4
            scale = max(1.0, want.float().abs().max().item())
            error = (have.float() - want.float()).abs().max().item()
            status = "ok" if error <= tolerance * scale else "FAILED"
            print(f"{case}[{i}] {tuple(want.shape)} {want.dtype}: max |error| "
                  f"{error:.3g} (tolerance {tolerance * scale:.3g}) {status}")
            if status != "ok":
                failures.append(f"{case}[{i}]: max |error| {error:.3g}")
    return failures


def main(argv):
    if len(argv) != 3 or argv[1] not in ("prepare", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "prepare":
        kernels = prepare(argv[2])
        print(f"{len(kernels)} kernels compiled for {', '.join(ARCHS)} "
              f"into {argv[2]}")
        return 0
    if not torch.cuda.is_available():
        print("SKIPPED: PyTorch sees no CUDA device")
        return 77
    try:
        import numpy  # noqa: F401  (ssmc's package needs it; torch does not)
    except ImportError:
        print("SKIPPED: NumPy is not installed; ssmc's Python package needs it")
        return 77
    failures = check(argv[2])
    print("\n".join(failures) if failures else "all cases agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
