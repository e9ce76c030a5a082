#!/usr/bin/env bash
# Issue 22's GPU run, in two halves: the twin prices our own CUDA engine (a self-profile), twin against live on
# the GPU, and the real KV capacity against the twin's.
#
#   scripts/gpu/loop-check.sh prepare [DIR]   here: a jlink'ed JDK 25 runtime and the command line's runtime jars
#                                            (engine, twin, traces, experiments and the CLI's own, without the
#                                            server's: no Micronaut, PostgreSQL or Redis) into DIR (default
#                                            out/gpu-loop, git-ignored), packed as DIR.tar.xz, checked to fit what
#                                            travels
#   scripts/gpu/loop-check.sh run [DIR]       there, in about five minutes (the profile's quick grid; LOOP_GRID=full
#                                            for the whole one):
#                                            1. the machine's facts
#                                            2. an 8B-shaped random Llama (Llama-3.1-8B's config, bf16) and four
#                                               random rank-16 adapters on every projection, written by PyTorch +
#                                               peft on the GPU (without PyTorch: `twinserve model init-random`,
#                                               minutes on 16 cores)
#                                            3. `engine profile --backend cuda` (the GPU grid): the twin's
#                                               profile of our engine on this card
#                                            4. `engine validate --backend cuda` on a burst, Poisson at two rates
#                                               and multi-turn sessions with prefix reuse: predicted against
#                                               measured tokens/s, TTFT and latency, every step in live-steps.csv
#                                            5. `engine kv-capacity` with the card's memory: the engine's KV plan
#                                               against the twin's memory model
#                                            then one summary table; the outputs under DIR/work, and the log and
#                                            the small results (loop-results.tgz) in $OUT where the device tool
#                                            gives one, else DIR/results
#
# LOOP_BACKEND=cpu LOOP_SHAPE=tiny runs the same steps here on the CPU backend with a tiny model (the CPU half:
# what CI cannot show is only the CUDA part). Exits 1 when any step fails; every step runs regardless.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${1:?usage: scripts/gpu/loop-check.sh prepare|run [DIR]}
dir=${2:-$root/out/gpu-loop}
# shellcheck source=scripts/gpu/runtime.sh
source "$root/scripts/gpu/runtime.sh"

prepare() {
  # shellcheck source=scripts/find-jdk25.sh
  source "$root/scripts/find-jdk25.sh"
  cd "$root"
  rm -rf "$dir"
  mkdir -p "$dir/lib"
  ./mvnw -B -ntp -q -pl control-api -am install -DskipTests -Dmaven.javadoc.skip=true
  ./mvnw -B -ntp -q -pl experiments dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib"
  cp experiments/target/twinserve-experiments-*.jar control-api/target/twinserve-control-api-*.jar "$dir/lib/"
  ./mvnw -B -ntp -q -pl control-api dependency:copy-dependencies -DincludeArtifactIds=picocli -DoutputDirectory="$dir/lib"
  rm -f "$dir"/lib/*-sources.jar "$dir"/lib/*-tests.jar
  # what the engine commands load: ours, Jackson and YAML, the histograms, logging's API, JCuda, picocli, and
  # the samplers' Commons RNG/Math (Tribuo and JMH stay behind: the planner and the benchmarks are not run)
  find "$dir/lib" -name '*.jar' \
    | { grep -Ev '/(twinserve-|jackson-|jcuda|snakeyaml|HdrHistogram|slf4j|picocli|commons-rng|commons-math|commons-lang|jinjava|guava|failureaccess|re2j|jsoup)' || true; } \
    | xargs -r rm -f
  # java.net.http: the `bench` group of commands (bench-check.sh runs `bench engine`) loads its HTTP ones
  modules=java.base,java.logging,java.management,java.net.http,jdk.management,jdk.unsupported,jdk.incubator.vector
  jlink_runtime "$dir" "$modules"
  prune_jcuda_natives "$dir"
  cp "$root/scripts/gpu/loop-sessions.yaml" "$dir/"
  stamp_commit "$dir" "$root"
  pack_and_check "$dir" "$root" loop-check
}

run() {
  results_here "$dir" loop-check
  unpack_carried "$dir"
  # the small results (JSON, CSV, the profile) go back packed as one file; the model stays on the machine
  trap 'tar -C "$out" --exclude=model --exclude="adapter-*" -czf "$res/loop-results.tgz" . 2>/dev/null || true' EXIT
  backend=${LOOP_BACKEND:-cuda}
  shape=${LOOP_SHAPE:-8b}
  # the model, adapters and every output (the model is large: it stays here; the rest goes back packed)
  out=$dir/work
  rm -rf "$out"
  mkdir -p "$out"
  gpu_facts
  cli_command "$dir"
  status=0
  declare -A result
  model=$out/model
  adapters=()
  step model make_model "$shape"
  for i in 0 1 2 3; do adapters+=(--adapter "a$i=$out/adapter-$i"); done
  # the quick grid unless asked for the full one: the full grid of an 8B model takes most of a device call
  grid=(--quick)
  [ "${LOOP_GRID:-quick}" = full ] && grid=()
  step profile --limit 240 "${tw[@]}" engine profile --model "$model" --backend "$backend" "${grid[@]}" -o "$out/profile"
  requests=${LOOP_REQUESTS:-48}
  step validate-burst --limit 150 "${tw[@]}" engine validate --model "$model" "${adapters[@]}" --profile "$out/profile" \
    --requests "$requests" --rate 100 --prompt-tokens 256 --output-tokens 64 -o "$out/validate-burst"
  for rate in ${LOOP_RATES:-2 8}; do
    step "validate-poisson-$rate" --limit 150 "${tw[@]}" engine validate --model "$model" "${adapters[@]}" --profile "$out/profile" \
      --requests "$requests" --rate "$rate" --prompt-tokens 256 --output-tokens 64 -o "$out/validate-poisson-$rate"
  done
  step validate-sessions --limit 150 "${tw[@]}" engine validate --model "$model" "${adapters[@]}" --profile "$out/profile" \
    --workload "$dir/loop-sessions.yaml" -o "$out/validate-sessions"
  gib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1 | awk '{printf "%.2f", $1/1024}' || true)
  gpu=h100-sxm-80gb
  card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || true)
  case "$card" in *H200* | *h200*) gpu=h200 ;; esac
  step kv-capacity --limit 60 "${tw[@]}" engine kv-capacity --model "$model" --gpu "$gpu" ${gib:+--device-gib "$gib"} \
    --slots 0,8,32,64,128 --ranks 8,16,32,64
  echo "== summary"
  for name in model profile validate-burst $(for r in ${LOOP_RATES:-2 8}; do echo "validate-poisson-$r"; done) \
    validate-sessions kv-capacity; do
    printf '%-24s %s\n' "$name" "${result[$name]:-not run}"
  done
  for f in "$out"/validate-*/twin-vs-live.json; do
    [ -f "$f" ] || continue
    python3 - "$f" <<'PY' || true
import json, sys
d = json.load(open(sys.argv[1]))
rows = ", ".join(f"{m['name']} {m['signed_relative_error'] * 100:+.1f}%" for m in d.get("comparison", []))
print(f"{sys.argv[1].split('/')[-2]:<24} twin vs live: {rows}")
PY
  done
  return $status
}

# the model and four adapters: PyTorch + peft on the GPU where they are, else the carried command line
make_model() {
  local shape=$1
  if [ "$shape" = tiny ]; then
    args=(--layers 2 --hidden 64 --intermediate 128 --heads 4 --kv-heads 2 --head-dim 16 --vocab 300)
  else
    args=(--layers 32 --hidden 4096 --intermediate 14336 --heads 32 --kv-heads 8 --head-dim 128 --vocab 128256)
  fi
  if [ "$shape" != tiny ] && python3 -c 'import torch, transformers, peft' 2>/dev/null; then
    python3 - "$model" "$out" <<'PY'
import json, os, sys, torch, transformers, peft
model_dir, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
cfg = transformers.LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
    num_attention_heads=32, num_key_value_heads=8, head_dim=128, vocab_size=128256, rms_norm_eps=1e-5,
    rope_theta=500000.0, max_position_embeddings=8192, tie_word_embeddings=False)
# built in bf16 from the start (an fp32 8B model is 32 GB)
torch.set_default_dtype(torch.bfloat16)
with torch.device("cuda"):
    m = transformers.LlamaForCausalLM(cfg)
m.save_pretrained(model_dir, safe_serialization=True)
# newer transformers write RoPE's base under rope_parameters: the engine reads rope_theta
path = os.path.join(model_dir, "config.json")
saved = json.load(open(path))
if "rope_theta" not in saved:
    saved["rope_theta"] = 500000.0
    json.dump(saved, open(path, "w"), indent=2)
targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
for i in range(4):
    torch.manual_seed(10 + i)
    p = peft.get_peft_model(m, peft.LoraConfig(r=16, lora_alpha=32, target_modules=targets, lora_dropout=0.0))
    for n, w in p.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(w, std=0.02)
    p.save_pretrained(f"{out}/adapter-{i}")
    m = p.unload()
    if hasattr(m, "peft_config"):
        del m.peft_config
print("wrote", model_dir, "and 4 adapters")
PY
  else
    "${tw[@]}" model init-random --arch llama "${args[@]}" --seed 1 -o "$model"
    for i in 0 1 2 3; do
      "${tw[@]}" adapter init-random --base "$model" --rank 16 --seed $((10 + i)) -o "$out/adapter-$i"
    done
  fi
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu/loop-check.sh prepare|run [DIR]" >&2; exit 2 ;;
esac
