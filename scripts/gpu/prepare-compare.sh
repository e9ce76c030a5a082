#!/usr/bin/env bash
# Writes random models of each architecture with two adapters each, and the CPU backend's logits for
# a prompt through the base model and through each adapter, into DIR (default out/gpu-compare).
# Then, on a machine with PyTorch, transformers and peft:
#   python3 scripts/gpu/compare_transformers.py DIR
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/out/gpu-compare}
ts="$root/twinserve"
mkdir -p "$out"
tokens=1,17,300,42,7,99,512,3,250,61,88,19,401,5,77,230
for arch in llama qwen2 qwen3 mistral; do
  m="$out/$arch"
  "$ts" model init-random --arch "$arch" --layers 2 --hidden 128 --heads 4 --kv-heads 2 --vocab 600 --seed 5 -o "$m"
  "$ts" adapter init-random --base "$m" --rank 8 --seed 1 -o "$m-a8"
  "$ts" adapter init-random --base "$m" --rank 32 --targets q_proj,v_proj,o_proj,down_proj --seed 2 -o "$m-a32"
  "$ts" model logits --model "$m" --tokens "$tokens" -o "$m.logits.json"
  "$ts" model logits --model "$m" --adapter "$m-a8" --tokens "$tokens" -o "$m-a8.logits.json"
  "$ts" model logits --model "$m" --adapter "$m-a32" --tokens "$tokens" -o "$m-a32.logits.json"
done
echo "wrote $out"
