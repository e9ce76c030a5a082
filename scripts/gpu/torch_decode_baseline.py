#!/usr/bin/env python3
"""The baseline of issue 21's GPU benchmark: the same Llama decode step written plainly with PyTorch.

Random bf16 weights of the benchmark's shape on the device (a different random stream from the engine's: the
values do not change the time), a contiguous KV cache per layer holding each sequence's context, and one decode
step per batch size: embedding, per layer RMSNorm, one fused q/k/v matmul, RoPE, the K/V write at the step's
position, scaled_dot_product_attention over the context, o, RMSNorm, one fused gate/up matmul, SiLU-mul, down,
the residual adds, then the final norm and the LM head. On a GPU the step is captured in a CUDA graph and
replayed; each figure is the median of the timed replays (after warm-up), with the logits left on the device and,
as twinserve's engine hands them to its sampler, copied to host memory.

    python3 scripts/gpu/torch_decode_baseline.py --json out.json              # Llama-3.1-8B's shape, on cuda
    python3 scripts/gpu/torch_decode_baseline.py --shape tiny --device cpu   # a check of the script, on the CPU

Prints one line per batch size and writes the figures as JSON.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = {
    # layers, hidden, MLP, heads, kv heads, head dim, vocabulary (as twinserve's BenchModel)
    "8b": (32, 4096, 14336, 32, 8, 128, 128256),
    "tiny": (2, 128, 256, 4, 2, 32, 512),
}


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shape", choices=sorted(SHAPES), default="8b")
    p.add_argument("--device", default="cuda")
    p.add_argument("--context", type=int, default=1024, help="cached tokens of every sequence (default 1024)")
    p.add_argument("--batches", default="1,8,64", help="decode batch sizes (default 1,8,64)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    try:
        a.batches = [int(b) for b in a.batches.split(",")]
    except ValueError:
        p.error(f"--batches takes comma-separated integers, got {a.batches!r}")
    if any(b < 1 for b in a.batches) or a.context < 1 or a.steps < 1 or a.warmup < 0:
        p.error("batches, context and steps must be >= 1 and warm-up >= 0")
    return a


class Model:
    def __init__(self, shape, device, seed):
        layers, h, inter, heads, kvh, d, vocab = shape
        self.heads, self.kvh, self.d, self.h = heads, kvh, d, h
        # drawn on the device: 8 billion values drawn on the host would take a minute and 32 GB
        g = torch.Generator(device=device).manual_seed(seed)

        def rand(*size):
            return ((torch.rand(*size, generator=g, device=device) * 2 - 1) * 0.02).to(torch.bfloat16)

        ones = lambda n: torch.ones(n, device=device, dtype=torch.bfloat16)
        self.embed = rand(vocab, h)
        self.lm_head = rand(vocab, h)
        self.final_norm = ones(h)
        self.layers = [
            dict(
                qkv=rand((heads + 2 * kvh) * d, h),
                o=rand(h, heads * d),
                gate_up=rand(2 * inter, h),
                down=rand(h, inter),
                norm1=ones(h),
                norm2=ones(h),
            )
            for _ in range(layers)
        ]
        self.inter = inter
        self.weight_bytes = 2 * sum(t.numel() for l in self.layers for t in l.values())
        self.weight_bytes += 2 * (self.lm_head.numel() + self.final_norm.numel())

    @staticmethod
    def rms(x, w, eps=1e-5):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w

    def rope(self, x, cos, sin):
        x1, x2 = x[..., : self.d // 2], x[..., self.d // 2 :]
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

    def caches(self, batch, context, device):
        shape = (batch, self.kvh, context + 1, self.d)
        return [
            (torch.zeros(shape, device=device, dtype=torch.bfloat16), torch.zeros(shape, device=device, dtype=torch.bfloat16))
            for _ in self.layers
        ]

    def step(self, tokens, caches, position, cos, sin):
        b = tokens.shape[0]
        x = self.embed[tokens]
        for layer, (kc, vc) in zip(self.layers, caches):
            qkv = self.rms(x, layer["norm1"]) @ layer["qkv"].t()
            q, k, v = qkv.split([self.heads * self.d, self.kvh * self.d, self.kvh * self.d], dim=-1)
            q = self.rope(q.view(b, self.heads, 1, self.d), cos, sin)
            k = self.rope(k.view(b, self.kvh, 1, self.d), cos, sin)
            kc[:, :, position : position + 1] = k
            vc[:, :, position : position + 1] = v.view(b, self.kvh, 1, self.d)
            if GQA_SDPA:
                # grouped K/V read as they are (PyTorch 2.5 and later): no copy per q head
                a = F.scaled_dot_product_attention(q, kc, vc, enable_gqa=True)
            else:
                keys = kc.repeat_interleave(self.heads // self.kvh, dim=1)
                values = vc.repeat_interleave(self.heads // self.kvh, dim=1)
                if hasattr(F, "scaled_dot_product_attention"):
                    a = F.scaled_dot_product_attention(q, keys, values)
                else:  # PyTorch before 2.0 (the CPU check here)
                    w = torch.softmax((q.float() @ keys.float().transpose(-1, -2)) / math.sqrt(self.d), dim=-1)
                    a = (w @ values.float()).to(q.dtype)
            x = x + a.reshape(b, self.heads * self.d) @ layer["o"].t()
            gu = self.rms(x, layer["norm2"]) @ layer["gate_up"].t()
            g, u = gu.split([self.inter, self.inter], dim=-1)
            x = x + (F.silu(g) * u) @ layer["down"].t()
        return (self.rms(x, self.final_norm) @ self.lm_head.t()).float()


def _gqa_sdpa():
    """Whether SDPA takes grouped K/V itself (enable_gqa, PyTorch 2.5 and later)."""
    if not hasattr(F, "scaled_dot_product_attention"):
        return False
    try:
        q = torch.zeros(1, 4, 1, 8)
        kv = torch.zeros(1, 2, 3, 8)
        F.scaled_dot_product_attention(q, kv, kv, enable_gqa=True)
        return True
    except TypeError:
        return False


GQA_SDPA = _gqa_sdpa()


def median_ms(run, steps, warmup, sync):
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        run()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    a = parse()
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("torch_decode_baseline: --device cuda, but PyTorch finds no CUDA device; use --device cpu")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    shape = SHAPES[a.shape]
    layers, h, inter, heads, kvh, d, vocab = shape
    m = Model(shape, device, a.seed)
    inv = 1.0 / (500000.0 ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    angle = a.context * inv
    # the rotation of the step's position, one angle per pair of dimensions (the first and second halves)
    cos = angle.cos().to(device=device, dtype=torch.bfloat16)
    sin = angle.sin().to(device=device, dtype=torch.bfloat16)
    figures = []
    with torch.inference_mode():
        for batch in a.batches:
            caches = m.caches(batch, a.context, device)
            tokens = torch.arange(batch, device=device) * 31 % vocab
            if cuda:
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    for _ in range(2):
                        m.step(tokens, caches, a.context, cos, sin)
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    logits = m.step(tokens, caches, a.context, cos, sin)
                run = graph.replay
                host = torch.empty(logits.shape, dtype=logits.dtype, pin_memory=True)
                to_host = lambda: (graph.replay(), host.copy_(logits, non_blocking=True))
            else:
                run = lambda: m.step(tokens, caches, a.context, cos, sin)
                to_host = run
            ms = median_ms(run, a.steps, a.warmup, sync)
            ms_host = median_ms(to_host, a.steps, a.warmup, sync)
            kv_bytes = 2 * 2 * layers * kvh * d * (a.context + 1) * batch
            figures.append(
                dict(
                    batch=batch,
                    context=a.context,
                    graphs=cuda,
                    step_ms=ms,
                    step_ms_logits_to_host=ms_host,
                    tokens_per_second=batch / (ms_host / 1e3),
                    bytes=m.weight_bytes + kv_bytes,
                )
            )
            print(
                f"pytorch decode batch {batch}, ctx {a.context}: {ms:.3f} ms a step"
                f" ({ms_host:.3f} ms with the logits copied to the host), {batch / (ms_host / 1e3):.1f} tokens/s",
                flush=True,
            )
            del caches
    doc = dict(
        torch=torch.__version__,
        device=torch.cuda.get_device_name() if cuda else "cpu",
        shape=dict(zip(["layers", "hidden", "intermediate", "heads", "kv_heads", "head_dim", "vocab"], shape)),
        steps=a.steps,
        # whether attention read the grouped K/V as they are (enable_gqa) or repeated per q head
        gqa_sdpa=GQA_SDPA,
        figures=figures,
    )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
