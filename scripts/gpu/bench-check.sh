#!/usr/bin/env bash
# Issue 21's GPU figures, in two halves: our CUDA engine's speed against the device's ceilings and against the
# same decode step written plainly with PyTorch, measured in one run.
#
#   scripts/gpu/bench-check.sh prepare [DIR]   here: what travels, as scripts/gpu/loop-check.sh prepares it (a
#                                             jlink'ed JDK 25 and the command line's runtime jars) into DIR
#                                             (default out/gpu-bench), packed as DIR.tar.xz
#   scripts/gpu/bench-check.sh run [DIR]       there, in about three minutes:
#                                             1. the machine's facts
#                                             2. `twinserve bench engine --backend cuda --json`: read/copy bandwidth
#                                                and the bf16 GEMM rate, then a Llama-3.1-8B-shaped model the device
#                                                fills with random weights: decode batch 1 graphs off and on, batches
#                                                8 and 64 at context 1024, prefill 512 and 2048, batch 64 with 0, 1, 8
#                                                and 32 rank-16 adapters (bench-engine.json)
#                                             3. scripts/gpu/torch_decode_baseline.py: the same decode steps in
#                                                PyTorch, in a CUDA graph (torch-baseline.json)
#                                             then one table: each figure against its ceiling and issue 21's target,
#                                             and the decode steps as "x times PyTorch"
#
# BENCH_SHAPE=tiny runs the same steps on a tiny model (BENCH_DEVICE=cpu for the PyTorch half: the script's check
# here, where `bench engine --backend cuda` fails in one line for want of a driver). Exits 1 when a step fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${1:?usage: scripts/gpu/bench-check.sh prepare|run [DIR]}
dir=${2:-$root/out/gpu-bench}
# shellcheck source=scripts/gpu/runtime.sh
source "$root/scripts/gpu/runtime.sh"

run() {
  results_here "$dir" bench-check
  unpack_carried "$dir"
  out=$res
  gpu_facts
  cli_command "$dir"
  status=0
  declare -A result
  local quick=() torch_args=()
  if [ "${BENCH_SHAPE:-8b}" = tiny ]; then
    quick=(--quick)
    torch_args=(--shape tiny --context 40 --batches 1,3 --steps 2 --warmup 1)
  fi
  # with cuBLAS (prefill projections, and decode graphs above 8 sequences): the fast paths issue 21 measures; the
  # engine leaves it off by default until its logits pass the transformers comparison with it
  step bench-engine --limit 300 env TWINSERVE_CUDA_CUBLAS=1 bash -c '"$@" > "'"$out"'/bench-engine.json"' _ "${tw[@]}" bench engine \
    --backend cuda "${quick[@]}" --json
  step torch-baseline --limit 150 python3 "$root/scripts/gpu/torch_decode_baseline.py" --device "${BENCH_DEVICE:-cuda}" \
    "${torch_args[@]}" --json "$out/torch-baseline.json"
  echo "== summary"
  for name in bench-engine torch-baseline; do
    printf '%-16s %s\n' "$name" "${result[$name]:-not run}"
  done
  python3 "$root/scripts/gpu/bench_summary.py" "$out/bench-engine.json" "$out/torch-baseline.json" || status=1
  return $status
}

case "$mode" in
  prepare) "$root/scripts/gpu/loop-check.sh" prepare "$dir" ;;
  run) run ;;
  *) echo "usage: scripts/gpu/bench-check.sh prepare|run [DIR]" >&2; exit 2 ;;
esac
