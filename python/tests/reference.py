"""Float64 NumPy references of the kernels' semantics (FIELD.md), written
step by step from the definitions, independent of ssmc."""

import numpy as np


def softplus(v):
    return np.log1p(np.exp(v))


def silu(v):
    return v / (1.0 + np.exp(-v))


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                   delta_softplus=False, h0=None):
    """Mamba-1: u, delta [B, D, L]; A [D, N]; B, C [B, G, N, L]."""
    u, delta, A, B, C = (np.asarray(a, np.float64) for a in (u, delta, A, B, C))
    batch, channels, length = u.shape
    per_group = channels // B.shape[1]
    dt = delta + (0 if delta_bias is None else np.asarray(delta_bias)[:, None])
    dt = softplus(dt) if delta_softplus else dt
    h = (np.zeros((batch, channels, A.shape[1])) if h0 is None
         else np.array(h0, np.float64))
    y = np.zeros_like(u)
    for b in range(batch):
        for d in range(channels):
            g = d // per_group
            for t in range(length):
                h[b, d] = (np.exp(dt[b, d, t] * A[d]) * h[b, d] +
                           dt[b, d, t] * B[b, g, :, t] * u[b, d, t])
                y[b, d, t] = C[b, g, :, t] @ h[b, d]
                if D is not None:
                    y[b, d, t] += D[d] * u[b, d, t]
                if z is not None:
                    y[b, d, t] *= silu(float(z[b, d, t]))
    return y, h


def ssd(x, dt, A, B, C, D=None, z=None, dt_bias=None, initial_states=None,
        dt_softplus=False, dt_limit=(0.0, np.inf)):
    """Mamba-2: x [B, L, H, P]; dt [B, L, H]; A [H]; B, C [B, L, G, N]."""
    x, dt, A, B, C = (np.asarray(a, np.float64) for a in (x, dt, A, B, C))
    batch, length, heads, head_dim = x.shape
    per_group = heads // B.shape[2]
    delta = dt + (0 if dt_bias is None else np.asarray(dt_bias))
    delta = softplus(delta) if dt_softplus else delta
    delta = np.clip(delta, dt_limit[0], dt_limit[1])
    h = (np.zeros((batch, heads, head_dim, B.shape[3])) if initial_states is None
         else np.array(initial_states, np.float64))
    y = np.zeros_like(x)
    for b in range(batch):
        for hd in range(heads):
            g = hd // per_group
            for t in range(length):
                d = delta[b, t, hd]
                h[b, hd] = (np.exp(d * A[hd]) * h[b, hd] +
                            d * np.outer(x[b, t, hd], B[b, t, g]))
                y[b, t, hd] = h[b, hd] @ C[b, t, g]
                if D is not None:
                    skip = np.asarray(D, np.float64)
                    y[b, t, hd] += (skip[hd] if skip.ndim == 1 else
                                    skip[hd]) * x[b, t, hd]
                if z is not None:
                    y[b, t, hd] *= silu(np.asarray(z[b, t, hd], np.float64))
    return y, h


def causal_conv1d(x, weight, bias=None, initial_states=None, silu_after=False):
    """x [B, D, L]; weight [D, W]; initial_states [B, D, W - 1]."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    batch, channels, length = x.shape
    width = weight.shape[1]
    before = (np.zeros((batch, channels, width - 1)) if initial_states is None
              else np.asarray(initial_states, np.float64))
    padded = np.concatenate([before, x], axis=2)
    out = np.zeros_like(x)
    for t in range(length):
        out[:, :, t] = (padded[:, :, t:t + width] * weight).sum(axis=2)
    if bias is not None:
        out += np.asarray(bias, np.float64)[:, None]
    if silu_after:
        out = silu(out)
    return out, padded[:, :, length:]


def close(actual, expected, tolerance=1e-5):
    """Within `tolerance` of max(1, max |expected|)."""
    actual = np.asarray(actual, np.float64)
    scale = max(1.0, float(np.abs(expected).max()))
    return float(np.abs(actual - expected).max()) <= tolerance * scale
