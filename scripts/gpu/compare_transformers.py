#!/usr/bin/env python3
"""Compares twinserve's CPU logits with transformers (+ peft) on the same random models and adapters.

Usage: python3 scripts/gpu/compare_transformers.py DIR [--device cuda] [--json FILE]
DIR is what scripts/gpu/prepare-compare.sh wrote: model folders, adapter folders and, per case,
NAME.logits.json with the token ids and twinserve's logits at every position. transformers runs each
case three times: in float64 (the reference), in float32 (the weights are bf16 or f16 values, so both
sides see the same numbers and only arithmetic order differs) and in bfloat16 (what serving on the GPU
does). Where a case was made from a text prompt, the token ids are also compared with the
`tokenizers` library's encoding of the same tokenizer.json.
Prints one line per case and dtype and exits 1 when a case is outside its tolerance.
"""
import argparse
import glob
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM

# the error measure is max |theirs - ours| / max |ours| over every position and vocabulary entry
TOLERANCES = {
    # float64 and float32: the same weights; float32 arithmetic on our side
    torch.float64: 1e-3,
    torch.float32: 1e-3,
    # bfloat16: activations rounded to 8 bits of mantissa at every layer
    torch.bfloat16: 5e-2,
}
# a bf16 KV cache rounds every key and value to 8 bits of mantissa (1.5e-3 on these models, measured
# against the same pass with a float32 cache), so the float64 and float32 bounds widen to this
BF16_KV_TOLERANCE = 5e-3


def resolve(path, base):
    """The folder as recorded, or the folder of that name inside DIR (the JSON holds absolute paths
    of the machine that wrote it)."""
    if path is None:
        return None
    return path if os.path.isdir(path) else os.path.join(base, os.path.basename(path))


def transformers_logits(model_dir, adapter_dir, tokens, dtype, device):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device)
    if adapter_dir:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, adapter_dir).to(device)
    model.eval()
    with torch.no_grad():
        ids = torch.tensor([tokens], device=device)
        return model(ids).logits[0].double().cpu()


def check_tokens(model_dir, prompt, ours):
    from tokenizers import Tokenizer
    theirs = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json")).encode(prompt).ids
    return theirs == ours, theirs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    cases = sorted(glob.glob(os.path.join(args.dir, "*.logits.json")))
    if not cases:
        print(f"no *.logits.json in {args.dir}; run scripts/gpu/prepare-compare.sh first", file=sys.stderr)
        return 2
    import peft
    import transformers
    header = (f"device {args.device} ({torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu'}), "
              f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    print(header)
    results = []
    for case in cases:
        with open(case) as f:
            data = json.load(f)
        ours = torch.tensor(data["logits"], dtype=torch.float64)
        name = os.path.basename(case)[: -len(".logits.json")]
        model_dir = resolve(data["model"], args.dir)
        adapter_dir = resolve(data.get("adapter"), args.dir)
        if data.get("prompt") is not None:
            same, theirs = check_tokens(model_dir, data["prompt"], data["tokens"])
            results.append({"case": name, "check": "token ids vs tokenizers", "ok": same,
                            "ours": data["tokens"], "theirs": theirs})
            print(f"{name:28s} token ids ({len(data['tokens'])}) vs tokenizers library: "
                  f"{'equal  ok' if same else 'DIFFER  FAIL'}")
        scale = ours.abs().max().item()
        kv = data.get("kv_cache_dtype", "f32")
        for dtype, tolerance in TOLERANCES.items():
            if kv == "bf16":
                tolerance = max(tolerance, BF16_KV_TOLERANCE)
            theirs = transformers_logits(model_dir, adapter_dir, data["tokens"], dtype, args.device)
            if theirs.shape != ours.shape:
                raise SystemExit(f"{case}: transformers gave logits of shape {tuple(theirs.shape)}, "
                                 f"twinserve {tuple(ours.shape)}")
            diff = (theirs - ours).abs().max().item() / scale
            rel_l2 = ((theirs - ours).norm() / theirs.norm()).item()
            argmax = (theirs.argmax(-1) == ours.argmax(-1)).float().mean().item()
            ok = bool(diff <= tolerance) and not torch.isnan(theirs).any().item()
            results.append({"case": name, "dtype": str(dtype), "kv_cache_dtype": kv, "positions": ours.shape[0],
                            "tp": data.get("tp", 1), "chunk": data.get("chunk"),
                            "max_abs_over_max_logit": diff, "rel_l2": rel_l2,
                            "argmax_agreement": argmax, "tolerance": tolerance, "ok": ok})
            print(f"{name:28s} {str(dtype):14s} max|diff|/max|logit| {diff:.2e} "
                  f"rel L2 {rel_l2:.2e} (tol {tolerance:.0e}) argmax {argmax:6.1%}  {'ok' if ok else 'FAIL'}")
    failures = sum(1 for r in results if not r["ok"])
    print(f"{len(results)} checks over {len(cases)} cases, {failures} failed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": header, "results": results}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
