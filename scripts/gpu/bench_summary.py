#!/usr/bin/env python3
"""Issue 21's table from `bench engine --backend cuda --json` and torch_decode_baseline.py's JSON.

    python3 scripts/gpu/bench_summary.py bench-engine.json [torch-baseline.json]

Prints each figure against its ceiling and the issue's target (met or not), and each decode step as "x times
PyTorch" (PyTorch's step with its logits copied to the host over ours, which also ends with them on the host:
above 1 we are faster). Either file may be missing or empty (its step failed): what can be said is said.
"""
import json
import sys

# issue 21's targets: (figure name, field, bound, "min" or "max")
TARGETS = [
    ("decode batch 1", "of_copy", 0.80, "min"),
    ("decode batch 64", "of_copy", 0.80, "min"),
    ("prefill 2048", "of_gemm", 0.55, "min"),
    ("batch 64, 32 distinct adapters", "ratio_to_no_adapters", 1.15, "max"),
]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: not read ({e})")
        return None


def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    ours = load(sys.argv[1])
    torch = load(sys.argv[2]) if len(sys.argv) == 3 else None
    missed = 0 if ours else 1
    if ours:
        c = ours["ceilings"]
        gemm = ours.get("gemm_flops_per_second")
        print(f"device: {ours['device']}")
        print(
            f"ceilings: read {c['read_bytes_per_second'] / 1e9:.0f} GB/s, copy {c['copy_bytes_per_second'] / 1e9:.0f} GB/s,"
            f" bf16 GEMM {'-' if gemm is None else f'{gemm / 1e12:.0f} TFLOP/s'}"
        )
        print(f"{'figure':<34} {'step ms':>9} {'tokens/s':>10} {'x copy':>7} {'x read':>7} {'x GEMM':>7} {'x no LoRA':>9}")
        for f in ours["figures"]:
            print(
                f"{f['name']:<34} {f['step_ms_median']:>9.3f} {f['tokens_per_second']:>10.1f} {fmt(f['of_copy']):>7}"
                f" {fmt(f['of_read']):>7} {fmt(f['of_gemm']):>7} {fmt(f['ratio_to_no_adapters']):>9}"
            )
        print(
            f"decode steps replayed as graphs: {ours.get('graph_steps', '-')} (drawing their tokens inside the graph:"
            f" {ours.get('graph_draw_steps', '-')}); graphs with cuBLAS for their linear layers"
            f" (buckets above 8): {ours.get('gemm_graphs', '-')}; prefill attention in tensor-core tiles:"
            f" {ours.get('flash_prefill', '-')}; logits back as: {ours.get('logits_dtype', '-')};"
            f" split-K attention launches: {ours.get('split_attention_launches', '-')};"
            f" SiLU-mul fused into the gate/up GEMV (steps without adapters): {ours.get('fused_silu', '-')};"
            f" rows drawn on the device (tokens back, not logits): {ours.get('device_draws', '-')};"
            f" prefill linear layers: {ours.get('prefill_linear', '-')}"
        )
        by_name = {f["name"]: f for f in ours["figures"]}
        print("issue 21's targets:")
        for name, field, bound, kind in TARGETS:
            f = by_name.get(name)
            v = None if f is None else f.get(field)
            if v is None:
                print(f"  {name}: {field} not measured")
                missed += 1
                continue
            met = v >= bound if kind == "min" else v <= bound
            missed += 0 if met else 1
            print(f"  {name}: {field} {v:.3f}, target {'>=' if kind == 'min' else '<='} {bound}: {'met' if met else 'MISSED'}")
    if ours and torch:
        print(f"against PyTorch {torch['torch']} on {torch['device']} (its step with the logits copied to the host):")
        theirs = {(t["batch"], t["context"]): t for t in torch["figures"]}
        for f in ours["figures"]:
            t = theirs.get((f["batch"], f["context"]))
            if f["kind"] != "decode" or not f["graphs"] or t is None:
                continue
            print(
                f"  decode batch {f['batch']}, ctx {f['context']}: ours {f['step_ms_median']:.3f} ms,"
                f" PyTorch {t['step_ms_logits_to_host']:.3f} ms ({t['step_ms']:.3f} ms on the device):"
                f" {t['step_ms_logits_to_host'] / f['step_ms_median']:.2f} x PyTorch"
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
