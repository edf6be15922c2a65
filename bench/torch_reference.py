#!/usr/bin/env python3
"""PyTorch timings of the GPU benchmark's cases, printed as bench/gpu_bench.cpp
prints its rows (same shapes, dtypes, minimum bytes and ceilings), for a
side-by-side comparison on the same machine.

The references are plain PyTorch (what a model without custom kernels runs):
the decode step as in-place tensor ops, the convolution with F.conv1d, the
selective scan as a loop over time, the SSD in the chunked form of the
Mamba-2 paper's minimal listing. Where mamba_ssm is importable, its
selective_scan_fn and its Triton mamba_chunk_scan_combined are timed too
(never vendored). On a machine without PyTorch or a CUDA device it says so
and exits with 0.

Usage: python3 bench/torch_reference.py [RUNS]
"""

import statistics
import sys
import time

# H100 SXM ceilings of shared/PERFORMANCE.md, as in gpu_bench.cpp.
COPY_BYTES_PER_S = 3.0e12
EXPS_PER_S = 3.9e12
F32_FLOPS_PER_S = 67e12


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"PyTorch reference skipped: PyTorch is not importable ({e})")
        return 0
    if not torch.cuda.is_available():
        print(f"PyTorch reference skipped: no CUDA device (torch {torch.__version__})")
        return 0
    dev = torch.device("cuda")
    bf16, f32 = torch.bfloat16, torch.float32
    torch.manual_seed(0)

    def uniform(shape, dtype, lo=-1.0, hi=1.0):
        return (torch.rand(shape, device=dev, dtype=f32) * (hi - lo) + lo).to(dtype)

    def time_it(fn):
        """Median and minimum seconds of `runs` calls after a warm-up; 3 runs
        when one takes longer than 0.2 s (as gpu_bench.cpp)."""
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        n = min(runs, 3) if time.perf_counter() - start > 0.2 else runs
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        return statistics.median(times), min(times)

    rows = []

    def row(name, shape, fn, nbytes, flops, exps):
        try:
            median, fastest = time_it(fn)
        except Exception as e:  # e.g. out of memory on a smaller GPU
            print(f"{name:<34} {shape:<32} failed: {type(e).__name__}: {e}")
            return
        bound = max(nbytes / COPY_BYTES_PER_S, exps / EXPS_PER_S, flops / F32_FLOPS_PER_S)
        print(f"{name:<34} {shape:<32} {median * 1e6:10.1f} {fastest * 1e6:10.1f} "
              f"{nbytes / median / 1e9:8.0f} {100 * nbytes / median / COPY_BYTES_PER_S:7.1f}% "
              f"{flops / median / 1e9:9.0f} {bound * 1e6:10.1f} {median / bound:7.2f}")
        sys.stdout.flush()

    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}; "
          f"median of {runs} runs (3 for calls over 0.2 s)")
    print(f"{'case':<34} {'shape':<32} {'median us':>10} {'min us':>10} {'GB/s':>8} "
          f"{'%copy':>8} {'GFLOP/s':>9} {'bound us':>10} {'xbound':>7}")

    # Mamba-2 decode step: state [B, H, P, N] f32 updated in place.
    B, H, P, N = 64, 64, 64, 128
    x, z = uniform((B, H, P), f32), uniform((B, H, P), f32)
    dt, A = uniform((B, H), f32, -2.0, 0.5), uniform((H,), f32, -1.5, -0.1)
    Bm, Cm = uniform((B, 1, N), f32), uniform((B, 1, N), f32)
    D, dtb = uniform((H,), f32), uniform((H,), f32, -0.5, 0.5)
    state = uniform((B, H, P, N), f32)

    def decode():
        d = F.softplus(dt + dtb)                                 # [B, H]
        state.mul_(torch.exp(d * A)[:, :, None, None])
        state.add_((d[:, :, None] * x)[..., None] * Bm[:, 0][:, None, None, :])
        y = torch.einsum("bhpn,bn->bhp", state, Cm[:, 0]) + D[:, None] * x
        return y * F.silu(z)

    row("decode (Mamba-2)", "B=64 H=64 P=64 N=128 f32", decode,
        4 * (2 * B * H * P * N + 3 * B * H * P + 2 * B * N), 4 * B * H * P * N, B * H)
    del state

    # Causal conv1d: x [B, D, L] bf16, width 4, bias, SiLU.
    B, D, L, W = 8, 2048, 2048, 4
    xc, wc, bc = uniform((B, D, L), bf16), uniform((D, W), bf16), uniform((D,), bf16)

    def conv():
        out = F.conv1d(xc, wc[:, None, :], bc, padding=W - 1, groups=D)[..., :L]
        return F.silu(out), xc[..., -(W - 1):]

    row("causal_conv1d", "B=8 D=2048 L=2048 W=4 bf16", conv,
        2 * (2 * B * D * L + B * D * (W - 1)), 2 * B * D * L * W, B * D * L)
    del xc

    # Mamba-1 selective scan: u, delta, z [B, D, L]; B, C [B, 1, N, L]; bf16.
    B, D, L, N = 8, 2048, 2048, 16
    u, z = uniform((B, D, L), bf16), uniform((B, D, L), bf16)
    delta = uniform((B, D, L), bf16, -2.0, 0.5)
    A1 = uniform((D, N), bf16, -1.5, -0.1).float()
    B1, C1 = uniform((B, 1, N, L), bf16), uniform((B, 1, N, L), bf16)
    D1, db = uniform((D,), bf16).float(), uniform((D,), bf16, -0.5, 0.5).float()
    scan_bytes = 2 * (4 * B * D * L + 2 * B * N * L + B * D * N)

    def scan_loop():
        d = F.softplus(delta.float() + db[None, :, None])        # [B, D, L]
        h = torch.zeros(B, D, N, device=dev)
        bf, cf, uf = B1[:, 0].float(), C1[:, 0].float(), u.float()
        ys = []
        for t in range(L):
            h = torch.exp(d[:, :, t, None] * A1) * h + \
                (d[:, :, t] * uf[:, :, t])[..., None] * bf[:, None, :, t]
            ys.append(torch.einsum("bdn,bn->bd", h, cf[:, :, t]))
        y = torch.stack(ys, -1) + D1[None, :, None] * uf
        return (y * F.silu(z.float())).to(bf16), h.to(bf16)

    row("selective_scan torch loop", "B=8 D=2048 L=2048 N=16 bf16", scan_loop,
        scan_bytes, 5 * B * D * L * N, B * D * L * N)
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
        row("selective_scan mamba_ssm", "B=8 D=2048 L=2048 N=16 bf16",
            lambda: selective_scan_fn(u, delta, A1, B1, C1, D1, z, db, True, True),
            scan_bytes, 5 * B * D * L * N, B * D * L * N)
    except ImportError as e:
        print(f"{'selective_scan mamba_ssm':<34} skipped: mamba_ssm not importable ({e})")
    del u, z, delta

    def segsum(a):
        """Stable cumulative sums a[..., i] + ... + a[..., j+1] for j < i."""
        T = a.size(-1)
        a = a[..., None].expand(*a.shape, T)
        mask = torch.tril(torch.ones(T, T, device=dev, dtype=torch.bool), diagonal=-1)
        s = torch.cumsum(a.masked_fill(~mask, 0), dim=-2)
        mask = torch.tril(torch.ones(T, T, device=dev, dtype=torch.bool), diagonal=0)
        return s.masked_fill(~mask, -torch.inf)

    # Mamba-2 SSD: x [B, L, H, P]; B, C [B, L, 1, N]; bf16; D per head.
    def ssd_rows(B, L, H, P, N, chunk=64):
        x2 = uniform((B, L, H, P), bf16)
        dt2, A2 = uniform((B, L, H), bf16, -2.0, 0.5), uniform((H,), f32, -1.5, -0.1)
        B2, C2 = uniform((B, L, 1, N), bf16), uniform((B, L, 1, N), bf16)
        D2, dtb2 = uniform((H,), f32), uniform((H,), f32, -0.5, 0.5)
        ssd_bytes = 2 * (2 * B * L * H * P + 2 * B * L * N + B * L * H + B * H * P * N)
        ssd_flops = 5 * B * L * H * P * N
        shape = f"B={B} L={L} H={H} P={P} N={N} bf16"

        def ssd_chunked():
            # The Mamba-2 paper's minimal chunked SSD (ssd_minimal_discrete),
            # with the discretization, D and the final state around it.
            d = F.softplus(dt2.float() + dtb2)                       # [B, L, H]
            X = (x2.float() * d[..., None]).reshape(B, L // chunk, chunk, H, P)
            Adt = (d * A2).reshape(B, L // chunk, chunk, H).permute(0, 3, 1, 2)
            Bc = B2.float().expand(B, L, H, N).reshape(B, L // chunk, chunk, H, N)
            Cc = C2.float().expand(B, L, H, N).reshape(B, L // chunk, chunk, H, N)
            A_cumsum = torch.cumsum(Adt, dim=-1)
            Lmat = torch.exp(segsum(Adt))
            Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cc, Bc, Lmat, X)
            decay_states = torch.exp(A_cumsum[:, :, :, -1:] - A_cumsum)
            states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, decay_states, X)
            states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
            decay_chunk = torch.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))
            new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
            states, final = new_states[:, :-1], new_states[:, -1]
            Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, states, torch.exp(A_cumsum))
            y = (Y_diag + Y_off).reshape(B, L, H, P) + D2[:, None] * x2.float()
            return y.to(bf16), final.to(bf16)

        row(f"ssd torch chunked ({chunk})", shape, ssd_chunked, ssd_bytes, ssd_flops, B * L * H)
        try:
            from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
            row("ssd mamba_chunk_scan_combined", shape,
                lambda: mamba_chunk_scan_combined(x2, dt2, A2, B2, C2, 256, D=D2,
                                                  dt_bias=dtb2, dt_softplus=True,
                                                  return_final_states=True),
                ssd_bytes, ssd_flops, B * L * H)
        except ImportError as e:
            print(f"{'ssd mamba_chunk_scan_combined':<34} skipped: mamba_ssm not importable ({e})")

    # As gpu_bench.cpp: 8 rows of 64 heads, and one mamba2-130m prompt.
    ssd_rows(8, 4096, 64, 64, 128)
    ssd_rows(1, 4096, 24, 64, 128)
    print("bytes, flops and exps per case: the formulas of gpu_bench.cpp's output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
