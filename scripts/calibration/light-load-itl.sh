#!/usr/bin/env bash
# The light-load table of docs/calibration.md: nine of the scheduler-overhead table's Poisson runs that kept up,
# each simulated for 600 s with what-if (the run's slots, adapters and per-adapter rate; rank-8 adapters,
# log-normal prompts of the study's mean, 231 output tokens), printing slots, adapters, rate and mean ITL (ms).
#   scripts/calibration/light-load-itl.sh [JAR]     # default: the application jar of this checkout
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
JAR=${1:-$root/control-api/target/twinserve.jar}
source "$root/scripts/find-jdk25.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for row in "8 8 0.01" "8 16 0.15" "16 16 0.15" "16 192 0.01" "32 64 0.07" "64 64 0.15" "128 128 0.05" "192 192 0.02" "256 384 0.01"; do
  # shellcheck disable=SC2086
  set -- $row
  cat > w.yaml <<W
name: ll
seed: 7
duration_s: 600
arrivals: {type: poisson, rate_tiers: [$3]}
adapters: {count: $2, ranks: [8]}
lengths:
  prompt: {type: lognormal, mean: 223.5, std: 250}
  output: {type: fixed, value: 231}
W
  cat > d.yaml <<D
name: ll
model: llama-3.1-8b
gpu: h100-64gb
replica: {tp: 1, max_adapters: $1, max_adapter_rank: 8, max_cpu_adapters: 512, max_num_seqs: 2048, max_num_batched_tokens: 2048, block_size: 16, prefix_caching: false, max_model_len: 4096}
perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
D
  itl=$("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -jar "$JAR" what-if -w w.yaml -d d.yaml --json 2>/dev/null \
    | python3 -c "import json,sys; d=json.load(sys.stdin); s=d.get('summary',d); print(round(s['itl']['mean_ms'],1))")
  echo "$1 $2 $3 $itl"
done
