"""ssmc.torch's ops (mamba_ssm's and causal-conv1d's signatures) against
the float64 references of python/tests/reference.py. Run by
scripts/test-torch.sh, which installs PyTorch."""

import numpy as np
import pytest
import torch

import reference
import ssmc
from ssmc.torch import (causal_conv1d_fn, causal_conv1d_update,
                        mamba_chunk_scan_combined, selective_scan_fn,
                        selective_state_update)


def randn(*shape, generator):
    return torch.randn(*shape, generator=generator, dtype=torch.float32)


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def test_selective_scan_fn(g):
    b, d, n, l, groups = 2, 8, 4, 11, 2
    u, delta, z = (randn(b, d, l, generator=g) for _ in range(3))
    A = -torch.rand(d, n, generator=g) - 0.1
    B, C = (randn(b, groups, n, l, generator=g) for _ in range(2))
    D, bias = randn(d, generator=g), randn(d, generator=g)
    y, last = selective_scan_fn(u, delta, A, B, C, D, z, bias,
                                delta_softplus=True, return_last_state=True)
    y_ref, h_ref = reference.selective_scan(u, delta, A, B, C, D, z, bias,
                                            delta_softplus=True)
    assert y.dtype == torch.float32 and last.shape == (b, d, n)
    assert reference.close(y, y_ref) and reference.close(last, h_ref)
    # mamba_ssm's [B, N, L] is one group; the op is also torch.ops.ssmc.*.
    y1 = selective_scan_fn(u, delta, A, B[:, 0], C[:, 0])
    y1_ref, _ = reference.selective_scan(u, delta, A, B[:, :1], C[:, :1])
    assert reference.close(y1, y1_ref)
    y2, _ = torch.ops.ssmc.selective_scan(u, delta, A, B[:, :1], C[:, :1],
                                          None, None, None, False)
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)


def test_selective_scan_bf16_inputs(g):
    b, d, n, l = 1, 4, 4, 7
    u, delta = (randn(b, d, l, generator=g).to(torch.bfloat16) for _ in range(2))
    A = -torch.rand(d, n, generator=g)
    B, C = (randn(b, 1, n, l, generator=g).to(torch.bfloat16) for _ in range(2))
    y = selective_scan_fn(u, delta, A, B, C, delta_softplus=True)
    y_ref, _ = reference.selective_scan(u.float(), delta.float(), A, B.float(),
                                        C.float(), delta_softplus=True)
    assert y.dtype == torch.bfloat16
    # bf16 storage of y: 2^-8 relative.
    assert reference.close(y.float(), y_ref, tolerance=1e-2)


def test_mamba_chunk_scan_combined(g):
    b, l, h, p, groups, n = 2, 37, 4, 8, 2, 16
    x, z = (randn(b, l, h, p, generator=g) for _ in range(2))
    dt = randn(b, l, h, generator=g)
    A = -torch.rand(h, generator=g) - 0.5
    B, C = (randn(b, l, groups, n, generator=g) for _ in range(2))
    D, dt_bias = randn(h, generator=g), randn(h, generator=g)
    h0 = randn(b, h, p, n, generator=g)
    y, final = mamba_chunk_scan_combined(
        x, dt, A, B, C, chunk_size=16, D=D, z=z, dt_bias=dt_bias,
        initial_states=h0, dt_softplus=True, dt_limit=(0.0, 2.0),
        return_final_states=True)
    y_ref, h_ref = reference.ssd(x, dt, A, B, C, D, z, dt_bias, h0,
                                 dt_softplus=True, dt_limit=(0.0, 2.0))
    assert reference.close(y, y_ref, 1e-4) and reference.close(final, h_ref, 1e-4)
    assert mamba_chunk_scan_combined(x, dt, A, B, C, 16).shape == x.shape


def test_packed_sequences_match_separate_ones(g):
    h, p, groups, n = 2, 4, 1, 8
    lengths = [5, 9]
    x = randn(1, sum(lengths), h, p, generator=g)
    dt = randn(1, sum(lengths), h, generator=g)
    A = -torch.rand(h, generator=g) - 0.5
    B, C = (randn(1, sum(lengths), groups, n, generator=g) for _ in range(2))
    cu = torch.tensor([0, 5, 14], dtype=torch.int32)
    y, states = mamba_chunk_scan_combined(x, dt, A, B, C, 8, cu_seqlens=cu,
                                          dt_softplus=True,
                                          return_varlen_states=True)
    assert states.shape == (2, h, p, n)
    for s, (begin, end) in enumerate(zip(cu[:-1], cu[1:])):
        y_ref, h_ref = reference.ssd(x[:, begin:end], dt[:, begin:end], A,
                                     B[:, begin:end], C[:, begin:end],
                                     dt_softplus=True)
        assert reference.close(y[:, begin:end], y_ref, 1e-4)
        assert reference.close(states[s], h_ref[0], 1e-4)


def test_selective_state_update_mamba1(g):
    b, d, n = 3, 8, 4
    state = randn(b, d, n, generator=g)
    x, dt, z = (randn(b, d, generator=g) for _ in range(3))
    A = -torch.rand(d, n, generator=g)
    B, C = (randn(b, n, generator=g) for _ in range(2))
    D, bias = randn(d, generator=g), randn(d, generator=g)
    before = state.clone()
    y = selective_state_update(state, x, dt, A, B, C, D, z, bias,
                               dt_softplus=True)
    y_ref, h_ref = reference.selective_scan(
        x[:, :, None], dt[:, :, None], A, B[:, None, :, None],
        C[:, None, :, None], D, z[:, :, None], bias, delta_softplus=True,
        h0=before)
    assert reference.close(y, y_ref[:, :, 0]) and reference.close(state, h_ref)


def test_selective_state_update_mamba2_tied_heads(g):
    """Mamba-2 callers pass dt, A and dt_bias repeated over the head's
    channels (mamba_ssm's tie_hdim); the step reads one value per head."""
    b, h, p, n = 2, 4, 8, 16
    state = randn(b, h, p, n, generator=g)
    x = randn(b, h, p, generator=g)
    dt = randn(b, h, generator=g)
    A = -torch.rand(h, generator=g) - 0.5
    B, C = (randn(b, 1, n, generator=g) for _ in range(2))
    D, bias = randn(h, generator=g), randn(h, generator=g)
    before = state.clone()
    y = selective_state_update(
        state, x, dt[:, :, None].expand(b, h, p), A[:, None, None].expand(h, p, n),
        B, C, D[:, None].expand(h, p), None, bias[:, None].expand(h, p),
        dt_softplus=True)
    y_ref, h_ref = reference.ssd(x[:, None], dt[:, None], A, B[:, None],
                                 C[:, None], D, None, bias, before,
                                 dt_softplus=True)
    assert reference.close(y, y_ref[:, 0]) and reference.close(state, h_ref)
    with pytest.raises(NotImplementedError, match="varies within a head"):
        selective_state_update(state, x, randn(b, h, p, generator=g),
                               A, B, C)


def test_causal_conv1d(g):
    b, d, l, w = 2, 6, 13, 4
    x = randn(b, d, l, generator=g)
    weight, bias = randn(d, w, generator=g), randn(d, generator=g)
    s0 = randn(b, d, w - 1, generator=g)
    out, final = causal_conv1d_fn(x, weight, bias, initial_states=s0,
                                  return_final_states=True, activation="silu")
    out_ref, final_ref = reference.causal_conv1d(x, weight, bias, s0, True)
    assert reference.close(out, out_ref) and reference.close(final, final_ref)
    # Decoding the same sequence step by step gives the same outputs.
    state = torch.zeros(b, d, w - 1)
    steps = [causal_conv1d_update(x[:, :, t], state, weight, bias, "silu")
             for t in range(l)]
    whole = causal_conv1d_fn(x, weight, bias, activation="silu")
    torch.testing.assert_close(torch.stack(steps, dim=2), whole,
                               rtol=1e-6, atol=1e-6)


def test_errors_are_exceptions(g):
    x = randn(1, 2, 3, generator=g)
    with pytest.raises(ValueError, match="activation"):
        causal_conv1d_fn(x, randn(2, 4, generator=g), activation="relu")
    with pytest.raises(ValueError, match="dimension"):
        # delta one step short: the kernel's own check, not a crash.
        selective_scan_fn(x, x[:, :, :2].contiguous(), -torch.ones(2, 4),
                          randn(1, 1, 4, 3, generator=g),
                          randn(1, 1, 4, 3, generator=g))
    # The op's verifier, through ssmc's diagnostics.
    with pytest.raises(ssmc.CompileError, match="operand #0 must be"):
        selective_scan_fn(x.long(), x, -torch.ones(2, 4),
                          randn(1, 1, 4, 3, generator=g),
                          randn(1, 1, 4, 3, generator=g))


def test_ops_pass_torch_library_opcheck(g):
    """Schemas, fake (meta) implementations and mutation annotations as
    torch.compile and other tracers rely on them."""
    b, d, n, l = 1, 4, 4, 5
    u, delta = (randn(b, d, l, generator=g) for _ in range(2))
    A = -torch.rand(d, n, generator=g)
    B, C = (randn(b, 1, n, l, generator=g) for _ in range(2))
    torch.library.opcheck(torch.ops.ssmc.selective_scan.default,
                          (u, delta, A, B, C, None, None, None, True))
    x = randn(b, d, l, generator=g)
    torch.library.opcheck(torch.ops.ssmc.causal_conv1d.default,
                          (x, randn(d, 3, generator=g), None, None, True))
    xs = randn(b, l, 2, 4, generator=g)
    torch.library.opcheck(torch.ops.ssmc.chunk_scan.default,
                          (xs, randn(b, l, 2, generator=g), -torch.rand(2),
                           randn(b, l, 1, n, generator=g),
                           randn(b, l, 1, n, generator=g), 4, None, None, None,
                           None, None, None, True, 0.0, float("inf")))
    state = randn(b, d, n, generator=g)
    torch.library.opcheck(torch.ops.ssmc.state_update.default,
                          (state, u[:, :, 0], delta[:, :, 0], A, B[:, :, :, 0],
                           C[:, :, :, 0], None, None, None, False))
