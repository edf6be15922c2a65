"""llama.cpp against ssmc on the same random-weight models as
scripts/bench-models.sh, at F32, BF16, Q8_0 and Q4_0 weights: prefill and
decode tokens/s on 1 and 2 threads, each configuration measured for both
systems in turn, --rounds times (the best of each counts: on a shared
machine a run can be a third slower than the next); and at each precision,
how far ssmc's logits (at the matching --weight-type) and llama.cpp's are
from ssmc's F32 logits (at F32 a check that the conversion below describes
the same network).

Run by scripts/bench-llama-cpp.sh in a private environment with
llama-cpp-python and gguf from PyPI; nothing of llama.cpp is in this
repository. Each folder (config.json + model.safetensors, F32) is written
as GGUF with the gguf package, naming tensors through gguf's own map of
Hugging Face names and applying the transforms llama.cpp's converter
applies to Mamba checkpoints (A = -exp(A_log), the convolution's middle
dimension squeezed; for Mamba-2, dt_bias as the dt projection's bias, A
and D as [H, 1], the gated norm as [groups, d_inner / groups]); then
llama.cpp's own quantizer makes the other precisions.

    python bench/llama_cpp_compare.py build/bench-models [--threads 1,2]
        [--rounds 2]
"""

import argparse
import ctypes
import json
import struct
import sys
import time
from pathlib import Path

import gguf
import llama_cpp
import numpy as np

PROMPT, STEPS = 512, 64  # as bench/model_bench.cpp
PRECISIONS = {"F32": None, "BF16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
              "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
              "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0}


def read_safetensors(path):
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    data = memoryview(raw)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], np.float32).reshape(
            entry["shape"])
    return tensors


def write_gguf(folder, path):
    config = json.loads((folder / "config.json").read_text())
    mamba2 = config["model_type"] == "mamba2"
    arch = gguf.MODEL_ARCH.MAMBA2 if mamba2 else gguf.MODEL_ARCH.MAMBA
    d_model = config["hidden_size"]
    d_inner = config.get("intermediate_size") or config.get("expand", 2) * d_model
    layers = config["num_hidden_layers"]
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_context_length(2 ** 20)
    writer.add_embedding_length(d_model)
    writer.add_feed_forward_length(0)
    writer.add_head_count(0)
    writer.add_block_count(layers)
    writer.add_ssm_conv_kernel(config.get("conv_kernel", 4))
    writer.add_ssm_inner_size(d_inner)
    writer.add_ssm_state_size(config["state_size"])
    writer.add_layer_norm_rms_eps(config.get("layer_norm_epsilon", 1e-5))
    if mamba2:
        writer.add_ssm_time_step_rank(d_inner // config["head_dim"])
        writer.add_ssm_group_count(config.get("n_groups", 1))
    else:
        rank = config.get("time_step_rank", "auto")
        writer.add_ssm_time_step_rank(-(d_model // -16) if rank == "auto"
                                      else rank)
        writer.add_ssm_dt_b_c_rms(False)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_vocab_size(config["vocab_size"])
    writer.add_tokenizer_model("none")  # ids in, logits out
    names = gguf.get_tensor_name_map(arch, layers)
    groups = config.get("n_groups", 1)
    tensors = read_safetensors(folder / "model.safetensors")
    embedding = tensors.get("backbone.embeddings.weight")
    for name, data in tensors.items():
        if name.endswith(".dt_bias"):
            name = name[:-len(".dt_bias")] + ".dt_proj.bias"
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            sys.exit(f"llama_cpp_compare: no GGUF name for {name}")
        if name == "lm_head.weight" and np.array_equal(data, embedding):
            continue  # tied: llama.cpp reuses token_embd
        if name.endswith(".A_log"):
            data = -np.exp(data)
        if ".conv1d." in name and data.ndim == 3:
            data = data.reshape(data.shape[0], data.shape[2])
        if mamba2 and (name.endswith(".A_log") or name.endswith(".D")):
            data = data.reshape(*data.shape, 1)
        if mamba2 and name.endswith("mixer.norm.weight"):
            data = data.reshape(groups, d_inner // groups)
        writer.add_tensor(new, np.ascontiguousarray(data, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def quantize(source, target, ftype):
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(),
                                      ctypes.byref(params)) != 0:
        sys.exit(f"llama_cpp_compare: quantizing {source} failed")


class Runner:
    """llama.cpp's C API through llama_cpp's bindings: one sequence."""

    def __init__(self, path, threads):
        params = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(),
                                                          params)
        if not self.model:
            sys.exit(f"llama_cpp_compare: llama.cpp cannot load {path}")
        context = llama_cpp.llama_context_default_params()
        context.n_ctx = PROMPT + STEPS + 16
        context.n_batch = PROMPT
        context.n_ubatch = PROMPT
        context.n_threads = context.n_threads_batch = threads
        self.ctx = llama_cpp.llama_init_from_model(self.model, context)
        if not self.ctx:
            sys.exit(f"llama_cpp_compare: llama.cpp cannot make a context "
                     f"for {path}")

    def close(self):
        llama_cpp.llama_free(self.ctx)
        llama_cpp.llama_model_free(self.model)

    def run(self, ids, position):
        """Decodes `ids` from `position` on; returns the last logits."""
        batch = llama_cpp.llama_batch_init(len(ids), 0, 1)
        batch.n_tokens = len(ids)
        for i, token in enumerate(ids):
            batch.token[i] = token
            batch.pos[i] = position + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = i == len(ids) - 1
        status = llama_cpp.llama_decode(self.ctx, batch)
        llama_cpp.llama_batch_free(batch)
        if status != 0:
            sys.exit(f"llama_cpp_compare: llama_decode returned {status}")
        return llama_cpp.llama_get_logits_ith(self.ctx, -1)

    def reset(self):
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)


def logits_array(pointer, vocab):
    return np.ctypeslib.as_array(pointer, shape=(vocab,)).copy()


def timed(prefill, decode, vocab):
    """Prefill and decode tokens/s of one system: a 16-token warm-up, a
    PROMPT-token prefill, STEPS greedy decode steps (as model_bench.cpp)."""
    rng = np.random.default_rng(7)
    prompt = [int(i) for i in rng.integers(0, vocab, PROMPT)]
    prefill(prompt[:16])
    start = time.perf_counter()
    logits = prefill(prompt)
    prefill_s = time.perf_counter() - start
    start = time.perf_counter()
    for step in range(STEPS):
        logits = decode(int(np.argmax(logits)), step)
    return PROMPT / prefill_s, STEPS / (time.perf_counter() - start)


def measure(path, threads, vocab):
    runner = Runner(path, threads)

    def prefill(ids):
        runner.reset()
        return logits_array(runner.run(ids, 0), vocab)

    def decode(token, step):
        return logits_array(runner.run([token], PROMPT + step), vocab)

    rates = timed(prefill, decode, vocab)
    runner.close()
    return rates


def measure_ssmc(folder, precision, threads, vocab):
    """ssmc's library for `folder` at `precision` (compiled once into the
    cache, with ssm-model-bench's flags), through the Python package."""
    import ssmc
    ssmc.set_num_threads(threads)
    model = ssmc.Model.load(folder,
                            flags=[f"--weight-type={precision.lower()}"])
    return timed(lambda ids: model.prefill(np.array(ids, np.int64)),
                 lambda token, step: model.decode(token), vocab)


def logits_gaps(folder, paths, vocab):
    """For each precision: max |logits - ssmc's F32 logits| / max |ssmc's F32
    logits| over a 16-token prompt's last position, for ssmc at that
    --weight-type and for llama.cpp at that GGUF type."""
    import ssmc
    rng = np.random.default_rng(3)
    prompt = np.array([int(i) for i in rng.integers(0, vocab, 16)], np.int64)
    reference = ssmc.Model.load(folder, flags=["--weight-type=f32"]).prefill(
        prompt)
    scale = np.abs(reference).max()
    gaps = {}
    for precision, path in paths.items():
        ours = ssmc.Model.load(
            folder, flags=[f"--weight-type={precision.lower()}"]).prefill(prompt)
        runner = Runner(path, 2)
        theirs = logits_array(runner.run(list(prompt), 0), vocab)
        runner.close()
        gaps[precision] = (float(np.abs(ours - reference).max() / scale),
                           float(np.abs(theirs - reference).max() / scale))
    return gaps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path,
                        help="the folder scripts/bench-models.sh writes")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measurements of each system per configuration, "
                             "alternated; the best counts")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    llama_cpp.llama_backend_init()
    # llama.cpp's loading messages, on stderr, would bury the table.
    quiet = llama_cpp.llama_log_callback(lambda level, text, user: None)
    llama_cpp.llama_log_set(quiet, ctypes.c_void_p())
    print(f"llama.cpp through llama-cpp-python {llama_cpp.__version__}; "
          f"prompt {PROMPT} tokens, {STEPS} decode steps; best of "
          f"{args.rounds} alternated runs per system; tokens/s")
    print(f"{'model':18} {'weights':7} {'MB':>4} {'thr':>3} "
          f"{'prefill ssmc':>12} {'llama.cpp':>9} {'ratio':>5} "
          f"{'decode ssmc':>11} {'llama.cpp':>9} {'ratio':>5}")
    for folder in sorted(p for p in args.models.iterdir()
                         if (p / "config.json").exists()):
        config = json.loads((folder / "config.json").read_text())
        vocab = config["vocab_size"]
        f32 = args.models / f"{folder.name}.F32.gguf"
        write_gguf(folder, f32)
        paths = {}
        for precision, ftype in PRECISIONS.items():
            path = paths[precision] = (args.models /
                                       f"{folder.name}.{precision}.gguf")
            if ftype is not None:
                quantize(f32, path, ftype)
            for t in threads:
                ours, theirs = (0.0, 0.0), (0.0, 0.0)
                for _ in range(args.rounds):
                    ours = np.maximum(ours, measure_ssmc(folder, precision, t,
                                                         vocab))
                    theirs = np.maximum(theirs, measure(path, t, vocab))
                print(f"{folder.name:18} {precision:7} "
                      f"{path.stat().st_size / 1e6:4.0f} {t:3d} "
                      f"{ours[0]:12.1f} {theirs[0]:9.1f} "
                      f"{ours[0] / theirs[0]:5.2f} {ours[1]:11.1f} "
                      f"{theirs[1]:9.1f} {ours[1] / theirs[1]:5.2f}",
                      flush=True)
        print(f"{folder.name}: logits against ssmc's at F32, max |diff| / "
              f"max |logit|:")
        for precision, (ours, theirs) in logits_gaps(folder, paths,
                                                     vocab).items():
            print(f"  {precision:7} ssmc {ours:.2e}   llama.cpp {theirs:.2e}",
                  flush=True)


if __name__ == "__main__":
    main()
