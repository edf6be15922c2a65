#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (built with ASan and UBSan by
# scripts/test-sanitize.sh's configuration, in build-sanitize/) on corpora
# seeded from the tests. Usage:
#   scripts/fuzz.sh [TARGET...] [-- LIBFUZZER_FLAGS...]
# TARGET is config, safetensors, weights, ir or compile (default: all); the
# flags go to every fuzzer (default: -max_total_time=60). For example, ten
# million executions of the config reader:
#   scripts/fuzz.sh config -- -runs=10000000
# Crashes land in build-sanitize/fuzz/TARGET/ as crash-* files; the corpus
# grows in build-sanitize/fuzz/TARGET/corpus. Exits non-zero on any crash.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ccache keys on paths relative to the checkout, so that a fresh clone (CI)
# reuses what an earlier build of the same sources compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
build=${SSM_SANITIZE_BUILD_DIR:-$root/build-sanitize}

targets=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    config|safetensors|weights|ir|compile) targets+=("$1") ;;
    *) echo "fuzz.sh: unknown target '$1' (config, safetensors, weights, ir, compile)" >&2; exit 2 ;;
  esac
  shift
done
[ $# -gt 0 ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(-max_total_time=60)
[ ${#targets[@]} -eq 0 ] && targets=(config safetensors weights ir compile)

SSM_SETUP_SANITIZE=1 "$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DSSM_FUZZ=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
ninja -C "$build" $(printf 'ssm-fuzz-%s ' "${targets[@]}")

# Seeds: the inputs the tests already use, one file per input.
seed() {
  local target=$1 dir=$2
  mkdir -p "$dir"
  case "$target" in
    config)
      find "$root/test" -name config.json -exec cp --backup=numbered -t "$dir" {} +
      ;;
    safetensors)
      find "$root/test" -name '*.safetensors' -size -64k -exec cp --backup=numbered -t "$dir" {} +
      # A minimal valid file: one f32 scalar.
      python3 - "$dir/scalar.safetensors" <<'PY'
import json, struct, sys
header = json.dumps({"x": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + struct.pack("<f", 1.5))
PY
      ;;
    weights)
      # Expected float count and hash (16 bytes), then the file, whose
      # header follows the runtime's definition of it.
      python3 - "$dir" "$root/runtime/include/ssm/model_abi.h" <<'PY'
import re, struct, sys
abi = open(sys.argv[2]).read()
def define(name):
    return re.search(r"#define %s (\S+)" % name, abi).group(1)
magic = define("SSM_WEIGHTS_MAGIC").strip('"').encode()
header_bytes = int(define("SSM_WEIGHTS_HEADER_BYTES"))
for floats in (0, 1, 5):
    fields = magic + struct.pack("<QQ", floats, 7)
    header = fields + bytes(header_bytes - len(fields))
    body = b"".join(struct.pack("<f", i) for i in range(floats))
    open(f"{sys.argv[1]}/w{floats}", "wb").write(struct.pack("<qq", floats, 7) + header + body)
PY
      ;;
    ir|compile)
      # Each split of every .mlir test (the parser's fuzzer), or of the
      # examples and the driver's tests (the whole flow, a second or so per
      # input: a seed corpus it can read in a minute); the first byte
      # chooses the target of the whole-flow fuzzer.
      if [ "$target" = ir ]; then tops=("$root/test" "$root/examples")
      else tops=("$root/test/Driver" "$root/examples"); fi
      python3 - "$dir" "$target" "${tops[@]}" <<'PY'
import os, sys
out, target = sys.argv[1], sys.argv[2]
n = 0
for top in sys.argv[3:]:
    for base, _, files in os.walk(top):
        for name in sorted(files):
            if not name.endswith(".mlir"):
                continue
            text = open(os.path.join(base, name), errors="replace").read()
            for part in text.split("// -----"):
                if len(part) > 20000:
                    continue
                for selector in (b"\x00", b"\x02") if target == "compile" else (b"",):
                    n += 1
                    open(os.path.join(out, f"seed{n}.mlir"), "wb").write(selector + part.encode())
PY
      ;;
  esac
}

failed=0
for target in "${targets[@]}"; do
  work="$build/fuzz/$target"
  mkdir -p "$work/corpus"
  [ -d "$work/seeds" ] || seed "$target" "$work/seeds"
  extra=()
  # The IR fuzzers run ssmc's diagnostics through stderr: close it (fd 2)
  # to keep the output readable and the executions fast.
  case "$target" in ir|compile) extra=(-close_fd_mask=2 -timeout=30 -rss_limit_mb=4096) ;; esac
  echo "fuzz.sh: $target ${flags[*]}"
  if ! (cd "$work" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
        "$build/bin/ssm-fuzz-$target" -print_final_stats=1 "${extra[@]}" "${flags[@]}" \
        corpus seeds 2>&1 | tee "$work/last-run.log" | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|Done)"); then
    :
  fi
  if ls "$work"/crash-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1 ||
     grep -q "ERROR: libFuzzer\|==ERROR" "$work/last-run.log"; then
    echo "fuzz.sh: $target FOUND A PROBLEM: see $work/last-run.log and $work/crash-*" >&2
    failed=$((failed + 1))
  fi
done
echo "fuzz: $(( ${#targets[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
