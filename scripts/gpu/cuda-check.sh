#!/usr/bin/env bash
# The CUDA backend's GPU check, in two halves (issue 20; ../shared/CUDA.md):
#
#   scripts/gpu/cuda-check.sh prepare [DIR]   here: builds what must travel into DIR (default out/gpu-cuda, a
#                                            git-ignored folder): a jlink'ed JDK 25 runtime (the GPU machine
#                                            has no JDK), the engine's runtime jars, and the comparison cases of
#                                            scripts/gpu/prepare-compare.sh without their logits (the tiny
#                                            models, adapters, tokens; the CPU's logits are computed there),
#                                            packed as DIR.tar.xz (checked to fit the 64 MiB that travel)
#   scripts/gpu/cuda-check.sh run [DIR]       there, in about five minutes:
#                                            1. the machine's facts (nvidia-smi, driver, the libraries found)
#                                            2. CudaKernelCheck: read/copy bandwidth, every kernel against its Java
#                                               reference (bf16 and fp32 KV cache, the random-weights kernel bit
#                                               for bit), cuBLAS 13 through FFM (a GEMM checked, the bf16 GEMM
#                                               rate), the model cases against the CPU backend (4 architectures
#                                               and Llama with heads of 128, whose prefill takes the tensor-core
#                                               tiles; two adapters, mixed prefill/decode, both KV dtypes)
#                                            3. CudaLogitsCheck: every comparison case (Llama, Qwen2, Qwen3,
#                                               Mistral, tied f16 two-shard, adapters of ranks 8/16/32, prefill,
#                                               chunked prefill over many blocks, token-by-token decode, bf16 and
#                                               f32 KV) on CUDA against the CPU backend
#                                            4. the same CUDA logits against transformers + peft
#                                               (compare_transformers.py, float64/float32/bfloat16)
#                                            5. CudaGenerateCheck: `generate --backend cuda` on a random 1B model,
#                                               tokens streamed
#                                            then one summary table; JSON files in DIR
#
# With the device tool: run `prepare` here, then `scripts/gpu/cuda-check.sh run` there with
# carry ["out/gpu-cuda.tar.xz"] (it unpacks itself). Exits 1 when any step fails; every step runs regardless.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${1:?usage: scripts/gpu/cuda-check.sh prepare|run [DIR]}
dir=${2:-$root/out/gpu-cuda}
# shellcheck source=scripts/gpu/runtime.sh
source "$root/scripts/gpu/runtime.sh"

prepare() {
  # shellcheck source=scripts/find-jdk25.sh
  source "$root/scripts/find-jdk25.sh"
  cd "$root"
  rm -rf "$dir"
  mkdir -p "$dir/lib"
  ./mvnw -B -ntp -q -pl engine -am install -DskipTests -Dmaven.javadoc.skip=true
  ./mvnw -B -ntp -q -pl engine dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib"
  cp engine/target/twinserve-engine-*.jar "$dir/lib/"
  rm -f "$dir"/lib/*-sources.jar "$dir"/lib/*-tests.jar
  # the modules the check needs (jdeps on the whole class path would add java.desktop, java.sql and the
  # debugger's, for Jinjava and Guava, which the kernel check never loads)
  modules=java.base,java.logging,jdk.unsupported,jdk.incubator.vector
  jlink_runtime "$dir" "$modules"
  # and only the jars it loads: the engine, the twin and traces (model and memory types), Jackson, JCuda
  find "$dir/lib" -name '*.jar' | { grep -Ev '/(twinserve-|jackson-|jcuda|snakeyaml|HdrHistogram|slf4j)' || true; } \
    | xargs -r rm -f
  prune_jcuda_natives "$dir"
  # the comparison cases, without the CPU's logits (tens of MB of JSON; recomputed on the GPU machine)
  bash "$root/scripts/gpu/prepare-compare.sh" "$dir/compare" >/dev/null
  python3 - "$dir/compare" <<'PY'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.logits.json"):
    d = json.load(open(f))
    d.pop("logits", None)
    json.dump(d, open(f, "w"))
PY
  stamp_commit "$dir" "$root"
  pack_and_check "$dir" "$root" cuda-check
}

run() {
  results_here "$dir" cuda-check
  unpack_carried "$dir"
  echo "== facts"
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv 2>&1 || echo "no nvidia-smi"
  for lib in libcuda.so.1 libcublas.so.13 libcublasLt.so.13; do
    found=$(ldconfig -p 2>/dev/null | grep -m1 "$lib" | sed 's/.*=> //' || true)
    if [ -z "$found" ]; then
      found=$(find /usr /opt -name "$lib" 2>/dev/null | head -1 || true)
    fi
    echo "$lib: ${found:-not found}"
    # cuBLAS where this machine has it (PyTorch's wheel folder, wherever Python lives), unless set already
    if [ "$lib" = libcublas.so.13 ] && [ -n "$found" ] && [ -z "${TWINSERVE_CUDA_LIBS:-}" ]; then
      export TWINSERVE_CUDA_LIBS
      TWINSERVE_CUDA_LIBS=$(dirname "$found")
    fi
  done
  java=("$dir/jdk/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$dir/lib/*")
  status=0
  declare -A result
  step kernels --limit 150 "${java[@]}" io.twinserve.engine.backend.cuda.CudaKernelCheck --json "$res/cuda-check.json"
  step logits-vs-cpu --limit 120 "${java[@]}" io.twinserve.engine.backend.cuda.CudaLogitsCheck \
    "$dir/compare" "$dir/compare-cuda" --json "$res/logits-check.json"
  step logits-vs-transformers --limit 150 python3 "$root/scripts/gpu/compare_transformers.py" "$dir/compare-cuda" \
    --device cuda --json "$res/transformers-check.json"
  step generate --limit 120 "${java[@]}" io.twinserve.engine.backend.cuda.CudaGenerateCheck "$dir/random-1b" 64
  echo "== summary"
  for name in kernels logits-vs-cpu logits-vs-transformers generate; do
    printf '%-24s %s\n' "$name" "${result[$name]:-not run}"
  done
  return $status
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu/cuda-check.sh prepare|run [DIR]" >&2; exit 2 ;;
esac
