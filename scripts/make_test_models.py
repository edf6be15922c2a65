#!/usr/bin/env python3
"""Builds the tiny random Mamba / Mamba-2 checkpoints under test/Models/Inputs
and the logits transformers computes for them, so that ssmc's C++ tests can
compare logits without torch.

Run through scripts/make_test_models.sh (it sets up the venv). For each model
in MODELS this writes test/Models/Inputs/<name>/:

  config.json, model.safetensors   what save_pretrained(safe_serialization=True)
                                   writes for MambaForCausalLM / Mamba2ForCausalLM
  reference.safetensors            F32 prefill_logits [L, V] and decode_logits [S, V]
  reference.json                   prompt_ids, decode_ids, versions, tolerances

The decode logits come from transformers' cache API, one token at a time after
the prefill, with teacher forcing: the fed ids are fixed pseudo-random tokens,
not argmax, so the reference is insensitive to argmax ties.

Every transformers result is checked against an independent numpy float64
implementation written in this file (a sequential recurrence, the safetensors
file parsed by hand), and the script exits non-zero if they disagree by more
than TOLERANCE (relative to the largest |logit|). It also checks that a few
plausible misreadings of the semantics (listed in VARIANTS) are rejected by the
data, i.e. they differ from transformers by far more than the tolerance.
"""

import argparse
import json
import math
import os
import struct
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file as save_numpy_safetensors
from transformers import Mamba2Config, Mamba2ForCausalLM, MambaConfig, MambaForCausalLM

PROMPT_LEN = 20
DECODE_STEPS = 6
# transformers (float32) against numpy (float64): max |diff| / max(1, max |logit|).
TOLERANCE = 1e-5
# A misreading of the semantics must move the logits by at least this much
# (same relative measure) for the data to be said to reject it.
REJECT = 100 * TOLERANCE

MODELS = [
    dict(name="mamba1-n16", family="mamba", seed=1601, vocab_size=256,
         config=dict(hidden_size=64, state_size=16, num_hidden_layers=2, vocab_size=256,
                     conv_kernel=4, expand=2, time_step_rank="auto")),
    dict(name="mamba1-n64-bf16", family="mamba", seed=6402, vocab_size=384, save_dtype="bfloat16",
         config=dict(hidden_size=96, state_size=64, num_hidden_layers=2, vocab_size=384,
                     conv_kernel=4, expand=2, time_step_rank="auto")),
    dict(name="mamba2-n64", family="mamba2", seed=6403, vocab_size=512,
         config=dict(hidden_size=128, state_size=64, num_hidden_layers=2, vocab_size=512,
                     expand=2, head_dim=32, num_heads=8, n_groups=2, chunk_size=8,
                     conv_kernel=4)),
    dict(name="mamba2-n128", family="mamba2", seed=12804, vocab_size=1024,
         config=dict(hidden_size=64, state_size=128, num_hidden_layers=2, vocab_size=1024,
                     expand=2, head_dim=16, num_heads=8, n_groups=4, chunk_size=16,
                     conv_kernel=4, use_bias=True)),
]


# ----------------------------------------------------------------------------
# Building the models with transformers
# ----------------------------------------------------------------------------

def perturb(model, family, gen):
    """Moves the parameters transformers initialises to constants (norm weights
    1, conv bias 0, D 1, A_log = log(1..N)) away from them, so that a reader
    that ignores or mixes up one of them gets different logits. Keeps dt and A
    in a realistic range."""
    def noise(t, std):
        return torch.randn(t.shape, generator=gen, dtype=torch.float32) * std

    with torch.no_grad():
        bb = model.backbone
        for layer in bb.layers:
            layer.norm.weight.copy_(1.0 + noise(layer.norm.weight, 0.2))
            mx = layer.mixer
            if mx.conv1d.bias is not None:
                mx.conv1d.bias.copy_(noise(mx.conv1d.bias, 0.2))
            mx.D.copy_(1.0 + noise(mx.D, 0.5))
            if family == "mamba":
                # A_log [I, N]: log(1..N) per row, jittered per element.
                mx.A_log.add_(noise(mx.A_log, 0.3))
            else:
                # A_log [H]: A from 1 to 16, one per head.
                a = torch.rand(mx.A_log.shape, generator=gen) * 15.0 + 1.0
                mx.A_log.copy_(torch.log(a))
                mx.norm.weight.copy_(1.0 + noise(mx.norm.weight, 0.2))
            if mx.in_proj.bias is not None:
                mx.in_proj.bias.copy_(noise(mx.in_proj.bias, 0.1))
            if mx.out_proj.bias is not None:
                mx.out_proj.bias.copy_(noise(mx.out_proj.bias, 0.1))
        bb.norm_f.weight.copy_(1.0 + noise(bb.norm_f.weight, 0.2))


def build_and_save(spec, outdir):
    family = spec["family"]
    torch.manual_seed(spec["seed"])
    gen = torch.Generator().manual_seed(spec["seed"] + 1)
    cfg_kwargs = dict(spec["config"])
    # dt = softplus(dt_bias-ish) drawn log-uniformly in [0.01, 0.3]: larger
    # than the default [0.001, 0.1] so the recurrence forgets and mixes visibly.
    cfg_kwargs.update(initializer_range=0.1, time_step_min=0.01, time_step_max=0.3)
    if family == "mamba":
        config = MambaConfig(**cfg_kwargs)
        model = MambaForCausalLM(config)
    else:
        config = Mamba2Config(**cfg_kwargs)
        model = Mamba2ForCausalLM(config)
    model.eval()
    perturb(model, family, gen)
    if spec.get("save_dtype") == "bfloat16":
        model = model.to(torch.bfloat16)
    os.makedirs(outdir, exist_ok=True)
    model.save_pretrained(outdir, safe_serialization=True)
    # Keep only what the tests read.
    for extra in os.listdir(outdir):
        if extra not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(outdir, extra))
    cls = MambaForCausalLM if family == "mamba" else Mamba2ForCausalLM
    # The reference is computed in float32 from what was saved (so bf16
    # weights are the bf16-rounded values, widened exactly).
    reloaded = cls.from_pretrained(outdir, dtype=torch.float32)
    reloaded.eval()
    return reloaded


def transformers_logits(model, prompt, decode):
    """Prefill through the cache API, then one token at a time (teacher
    forcing). Also a cache-free forward over the whole sequence, to report how
    far the chunked prefill / recurrent decode paths are from it."""
    with torch.no_grad():
        ids = torch.tensor([prompt], dtype=torch.long)
        out = model(input_ids=ids, use_cache=True)
        prefill = out.logits[0].float().numpy().copy()
        cache = out.cache
        steps = []
        for tok in decode:
            out = model(input_ids=torch.tensor([[tok]], dtype=torch.long), cache=cache, use_cache=True)
            cache = out.cache
            steps.append(out.logits[0, -1].float().numpy().copy())
        decode_logits = np.stack(steps)
        full = model(input_ids=torch.tensor([list(prompt) + list(decode)], dtype=torch.long),
                     use_cache=False).logits[0].float().numpy()
    return prefill, decode_logits, full


# ----------------------------------------------------------------------------
# Independent numpy reference (float64)
# ----------------------------------------------------------------------------

def read_safetensors(path):
    """Parses a safetensors file without the safetensors package: 8-byte LE
    header length, JSON header, data. F32/F16/BF16 are widened to float64."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        shape = info["shape"]
        if info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            arr = np.frombuffer(raw, dtype="<f2")
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name}: dtype {info['dtype']}")
        tensors[name] = arr.astype(np.float64).reshape(shape)
    return tensors


def silu(x):
    return x / (1.0 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def causal_conv(x, w, b, variant=None):
    """x [T, C], w [C, 1, K], b [C] or None: out[t] = b + sum_k w[k] x[t-K+1+k],
    zeros before t = 0."""
    T, C = x.shape
    K = w.shape[-1]
    xp = np.concatenate([np.zeros((K - 1, C)), x], axis=0)
    out = np.zeros((T, C)) if b is None or variant == "no_conv_bias" else np.tile(b, (T, 1))
    for k in range(K):
        out = out + xp[k:k + T] * w[:, 0, k]
    return out


def linear(x, W, b=None):
    y = x @ W.T
    return y if b is None else y + b


def mamba1_mixer(h, p, cfg, variant):
    I = int(cfg["expand"] * cfg["hidden_size"])
    N = cfg["state_size"]
    R = cfg["time_step_rank"]
    T = h.shape[0]
    xz = linear(h, p["in_proj.weight"], p.get("in_proj.bias"))
    x, z = xz[:, :I], xz[:, I:]
    u = silu(causal_conv(x, p["conv1d.weight"], p.get("conv1d.bias"), variant))
    dbc = linear(u, p["x_proj.weight"])
    dt_low, Bm, Cm = dbc[:, :R], dbc[:, R:R + N], dbc[:, R + N:R + 2 * N]
    if variant == "no_dt_bias":
        dt = softplus(dt_low @ p["dt_proj.weight"].T)
    else:
        dt = softplus(dt_low @ p["dt_proj.weight"].T + p["dt_proj.bias"])  # [T, I]
    A = -np.exp(p["A_log"])  # [I, N]
    D = 0.0 if variant == "no_D" else p["D"]
    state = np.zeros((I, N))
    y = np.zeros((T, I))
    for t in range(T):
        state = np.exp(dt[t][:, None] * A) * state + (dt[t] * u[t])[:, None] * Bm[t][None, :]
        y[t] = state @ Cm[t] + D * u[t]
    y = y * silu(z)
    return linear(y, p["out_proj.weight"], p.get("out_proj.bias"))


def mamba2_mixer(h, p, cfg, variant):
    I = int(cfg["expand"] * cfg["hidden_size"])
    N = cfg["state_size"]
    H = cfg["num_heads"]
    P = cfg["head_dim"]
    G = cfg["n_groups"]
    eps = cfg["layer_norm_epsilon"]
    lo, hi = cfg.get("time_step_limit", [0.0, math.inf])
    T = h.shape[0]
    conv_dim = I + 2 * G * N
    zxbcdt = linear(h, p["in_proj.weight"], p.get("in_proj.bias"))
    assert zxbcdt.shape[1] == I + conv_dim + H  # no extra MLP part
    z = zxbcdt[:, :I]
    xBC = silu(causal_conv(zxbcdt[:, I:I + conv_dim], p["conv1d.weight"], p.get("conv1d.bias")))
    dt_raw = zxbcdt[:, I + conv_dim:]
    x = xBC[:, :I].reshape(T, H, P)
    Bm = xBC[:, I:I + G * N].reshape(T, G, N)
    Cm = xBC[:, I + G * N:].reshape(T, G, N)
    dt = np.clip(softplus(dt_raw + p["dt_bias"]), lo, hi)  # [T, H]
    A = -np.exp(p["A_log"])  # [H]
    D = 0.0 * p["D"] if variant == "no_D" else p["D"]
    if variant == "group_h_mod_G":
        group = [h_ % G for h_ in range(H)]
    else:
        group = [h_ // (H // G) for h_ in range(H)]
    state = np.zeros((H, P, N))
    y = np.zeros((T, H, P))
    for t in range(T):
        for hd in range(H):
            g = group[hd]
            state[hd] = np.exp(dt[t, hd] * A[hd]) * state[hd] + dt[t, hd] * np.outer(x[t, hd], Bm[t, g])
            y[t, hd] = state[hd] @ Cm[t, g] + D[hd] * x[t, hd]
    y = y.reshape(T, I)
    if variant == "norm_before_gate":
        v = y.reshape(T, G, I // G)
        v = v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + eps)
        v = v.reshape(T, I) * p["norm.weight"] * silu(z)
    else:
        v = y * silu(z)
        ng = 1 if variant == "norm_whole_dim" else G
        v = v.reshape(T, ng, I // ng)
        v = v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + eps)
        v = v.reshape(T, I) * p["norm.weight"]
    return linear(v, p["out_proj.weight"], p.get("out_proj.bias"))


def decode_special_floats(obj):
    """transformers >= 5 writes non-finite floats in config.json as
    {"__float__": "Infinity" | "-Infinity" | "NaN"} (older versions wrote
    Python's bare Infinity token, which json.load also reads)."""
    if isinstance(obj, dict):
        if set(obj) == {"__float__"}:
            return float({"Infinity": "inf", "-Infinity": "-inf", "NaN": "nan"}[obj["__float__"]])
        return {k: decode_special_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_special_floats(v) for v in obj]
    return obj


def numpy_logits(folder, ids, variant=None):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = decode_special_floats(json.load(f))
    w = read_safetensors(os.path.join(folder, "model.safetensors"))
    family = cfg["model_type"]
    if cfg.get("time_step_rank", "auto") == "auto":
        cfg["time_step_rank"] = math.ceil(cfg["hidden_size"] / 16)
    eps = cfg["layer_norm_epsilon"]
    E = w["backbone.embeddings.weight"]
    x = E[np.asarray(ids)]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"backbone.layers.{i}."
        p = {k[len(pre) + len("mixer."):]: v for k, v in w.items() if k.startswith(pre + "mixer.")}
        h = rmsnorm(x, w[pre + "norm.weight"], eps)
        mixer = mamba1_mixer if family == "mamba" else mamba2_mixer
        x = x + mixer(h, p, cfg, variant)
    x = rmsnorm(x, w["backbone.norm_f.weight"], eps)
    tied = cfg.get("tie_word_embeddings", family == "mamba")
    head = E if tied else w["lm_head.weight"]
    if variant == "untied_swap":
        head = w["lm_head.weight"] if tied else E
    return x @ head.T


VARIANTS = {
    "mamba": ["no_dt_bias", "no_conv_bias", "no_D"],
    "mamba2": ["norm_whole_dim", "group_h_mod_G", "norm_before_gate", "no_D"],
}


# ----------------------------------------------------------------------------

def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "test", "Models", "Inputs"))
    parser.add_argument("--only", action="append", help="build only this model (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = []
    summary = []
    for spec in MODELS:
        name = spec["name"]
        if args.only and name not in args.only:
            continue
        folder = os.path.normpath(os.path.join(args.out, name))
        model = build_and_save(spec, folder)
        family = spec["family"]
        V = spec["vocab_size"]
        rng = np.random.default_rng(spec["seed"])
        prompt = [int(t) for t in rng.integers(0, V, PROMPT_LEN)]
        decode = [int(t) for t in rng.integers(0, V, DECODE_STEPS)]

        prefill, dec, full = transformers_logits(model, prompt, decode)
        ref = np.concatenate([prefill, dec])
        ours = numpy_logits(folder, prompt + decode)
        max_logit = float(np.max(np.abs(ref)))
        d_prefill = rel(prefill, ours[:PROMPT_LEN])
        d_decode = rel(dec, ours[PROMPT_LEN:])
        d_abs = float(np.max(np.abs(ref - ours)))
        d_full = rel(full, ref)
        std = float(np.mean(np.std(ref, axis=-1)))
        line = (f"{name}: max|logit| {max_logit:.3f}, mean std over vocab {std:.3f}; "
                f"transformers vs numpy-f64: max abs {d_abs:.3e}, relative prefill {d_prefill:.3e} "
                f"decode {d_decode:.3e}; cached vs cache-free forward {d_full:.3e}")
        print(line, flush=True)
        ok = True
        if max(d_prefill, d_decode) > TOLERANCE:
            failures.append(f"{name}: numpy reference disagrees ({max(d_prefill, d_decode):.3e} > {TOLERANCE})")
            ok = False
        if std < 0.5:
            failures.append(f"{name}: logits too flat (std {std:.3f} < 0.5)")
        variants = {}
        for var in VARIANTS[family] + (["untied_swap"] if not model.config.tie_word_embeddings else []):
            d = rel(numpy_logits(folder, prompt + decode, var), ref)
            variants[var] = d
            rejected = bool(np.isfinite(d)) and d > REJECT
            verdict = "rejected" if rejected else "NOT rejected"
            print(f"    variant {var}: relative diff {d:.3e} ({verdict})", flush=True)
            if not rejected:
                failures.append(f"{name}: the data does not tell variant '{var}' apart ({d:.3e})")

        save_numpy_safetensors(
            {"prefill_logits": np.ascontiguousarray(prefill, dtype=np.float32),
             "decode_logits": np.ascontiguousarray(dec, dtype=np.float32)},
            os.path.join(folder, "reference.safetensors"))
        meta = {
            "prompt_ids": prompt,
            "decode_ids": decode,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tolerance_note": (
                "Logits of transformers' float32 CPU forward (torch fallback path, no kernels): "
                "prefill through the cache API (chunked scan for mamba2), then decode_ids one at a "
                "time through the cache (recurrent update), teacher-forced. An independent numpy "
                "float64 implementation agrees to max|diff|/max(1,max|logit|) = "
                f"{max(d_prefill, d_decode):.2e} (prefill {d_prefill:.2e}, decode {d_decode:.2e}; "
                f"max abs diff {d_abs:.2e}, max|logit| {max_logit:.2f}). A float32 implementation "
                "should agree to about 1e-5 relative; wrong semantics move logits by >= 1e-2."),
            "max_abs_logit": max_logit,
            "numpy_f64_max_abs_diff": d_abs,
            "rejected_variants_relative_diff": variants,
        }
        if spec.get("save_dtype"):
            meta["weights_saved_as"] = spec["save_dtype"]
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        summary.append(line)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"all {len(summary)} models agree with the numpy reference (tolerance {TOLERANCE:g} relative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
