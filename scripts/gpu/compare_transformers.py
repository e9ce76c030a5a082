#!/usr/bin/env python3
"""Compares twinserve's CPU logits with transformers (+ peft) on the same random models and adapters.

Usage: python3 scripts/gpu/compare_transformers.py DIR [--device cuda]
DIR is what scripts/gpu/prepare-compare.sh wrote: for each architecture a model folder, two adapter
folders and, per model or adapter, NAME.logits.json with the token ids and twinserve's logits at every
position. transformers runs the model twice: in float32 (the weights are bf16 values, so both sides see
the same numbers and only arithmetic order differs) and in bfloat16 (what serving on the GPU does).
Prints one line per case and exits 1 when a case is outside its tolerance.
"""
import argparse
import glob
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM

# float32: the same weights and float32 arithmetic on both sides
F32_TOLERANCE = 1e-3
# bfloat16: activations rounded to 8 bits of mantissa at every layer
BF16_TOLERANCE = 5e-2


def transformers_logits(model_dir, adapter_dir, tokens, dtype, device):
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=dtype).to(device)
    if adapter_dir:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, adapter_dir).to(device)
    model.eval()
    with torch.no_grad():
        ids = torch.tensor([tokens], device=device)
        return model(ids).logits[0].float().cpu()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    failures = 0
    cases = sorted(glob.glob(os.path.join(args.dir, "*.logits.json")))
    if not cases:
        print(f"no *.logits.json in {args.dir}; run scripts/gpu/prepare-compare.sh first", file=sys.stderr)
        return 2
    print(f"device {args.device}, torch {torch.__version__}")
    for case in cases:
        with open(case) as f:
            data = json.load(f)
        ours = torch.tensor(data["logits"], dtype=torch.float32)
        name = os.path.basename(case)[: -len(".logits.json")]
        model_dir = data["model"] if os.path.isdir(data["model"]) else os.path.join(args.dir, name.split("-a")[0])
        adapter_dir = None
        if data.get("adapter"):
            adapter_dir = data["adapter"] if os.path.isdir(data["adapter"]) else os.path.join(args.dir, name)
        scale = ours.abs().max().item()
        for dtype, tolerance in ((torch.float32, F32_TOLERANCE), (torch.bfloat16, BF16_TOLERANCE)):
            theirs = transformers_logits(model_dir, adapter_dir, data["tokens"], dtype, args.device)
            diff = (theirs - ours).abs().max().item() / scale
            argmax = (theirs.argmax(-1) == ours.argmax(-1)).float().mean().item()
            ok = diff <= tolerance
            failures += 0 if ok else 1
            print(f"{name:16s} {str(dtype):15s} max |diff| / max |logit| = {diff:.2e} "
                  f"(tolerance {tolerance:.0e}), argmax agreement {argmax:.1%}  {'ok' if ok else 'FAIL'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
