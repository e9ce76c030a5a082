#!/usr/bin/env bash
# Writes random models of each architecture with two adapters each, and the CPU backend's logits for
# prompts through the base model and through each adapter, into DIR (default out/gpu-compare).
# Then, on a machine with PyTorch, transformers and peft:
#   python3 scripts/gpu/compare_transformers.py DIR
#
# Cases (NAME.logits.json; NAME is the model or adapter folder, then what varies):
#   ARCH, ARCH-a8, ARCH-a32          16 tokens in one prefill step
#   ARCH.long, ARCH-a8.long          160 tokens (ten KV blocks, positions past the llama3 RoPE
#                                    scaling's original context of 64) as prefill chunks of 48
#   ARCH-a32.decode                  40 tokens decoded one at a time over the paged KV cache
#   llama.tp2, llama-a8.tp2          tensor parallelism 2, 160 tokens in one step
#   llama-tied*                      tied embeddings, f16 weights in two safetensors shards
#   ARCH.prompt                      a text prompt tokenized by twinserve; the script also checks
#                                    the ids against the `tokenizers` library
# Each case runs twice: with the KV cache the engine picks (bf16 for these bf16 and f16 models, as
# serving stores it) and, suffixed .kvf32, with a float32 KV cache (float32 arithmetic throughout).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/out/gpu-compare}
ts="$root/twinserve"
mkdir -p "$out"
tokens=1,17,300,42,7,99,512,3,250,61,88,19,401,5,77,230
long=$(python3 -c 'print(",".join(str((i * 7919 + 13) % 590 + 1) for i in range(160)))')
decode=$(python3 -c 'print(",".join(str((i * 331 + 5) % 590 + 1) for i in range(40)))')
prompt='def f(x):  return x ** 2  # Grüße, 世界! 🙂 <|eot_id|>  tabs	and   spaces 12345'
# both NAME ARGS...: twinserve's logits with the KV cache the engine picks, to NAME.logits.json, and with a
# float32 KV cache, to NAME.kvf32.logits.json
both() {
  local name=$1
  shift
  "$ts" model logits "$@" -o "$name.logits.json"
  "$ts" model logits --kv-cache-dtype f32 "$@" -o "$name.kvf32.logits.json"
}
for arch in llama qwen2 qwen3 mistral; do
  m="$out/$arch"
  "$ts" model init-random --arch "$arch" --layers 2 --hidden 128 --heads 4 --kv-heads 2 --vocab 600 --seed 5 -o "$m"
  "$ts" adapter init-random --base "$m" --rank 8 --seed 1 -o "$m-a8"
  "$ts" adapter init-random --base "$m" --rank 32 --targets q_proj,v_proj,o_proj,down_proj --seed 2 -o "$m-a32"
  both "$m" --model "$m" --tokens "$tokens"
  both "$m-a8" --model "$m" --adapter "$m-a8" --tokens "$tokens"
  both "$m-a32" --model "$m" --adapter "$m-a32" --tokens "$tokens"
  both "$m.long" --model "$m" --tokens "$long" --chunk 48
  both "$m-a8.long" --model "$m" --adapter "$m-a8" --tokens "$long" --chunk 48
  both "$m-a32.decode" --model "$m" --adapter "$m-a32" --tokens "$decode" --chunk 1
  both "$m.prompt" --model "$m" --prompt "$prompt"
done
m="$out/llama"
both "$m.tp2" --model "$m" --tokens "$long" --tp 2
both "$m-a8.tp2" --model "$m" --adapter "$m-a8" --tokens "$long" --tp 2
m="$out/llama-tied"
"$ts" model init-random --arch llama --layers 3 --hidden 192 --heads 6 --kv-heads 2 --vocab 600 \
  --tie-embeddings --dtype f16 --shards 2 --seed 9 -o "$m"
"$ts" adapter init-random --base "$m" --rank 16 --seed 3 -o "$m-a16"
both "$m.long" --model "$m" --tokens "$long" --chunk 64
both "$m-a16.long" --model "$m" --adapter "$m-a16" --tokens "$long" --chunk 64
echo "wrote $out"
