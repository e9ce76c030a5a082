package io.twinserve.api.cli;

import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.cuda.CudaDriver;
import io.twinserve.engine.backend.cuda.DriverGpu;
import io.twinserve.engine.bench.BenchModel;
import io.twinserve.engine.bench.CudaEngineBenchmark;
import io.twinserve.engine.bench.EngineBenchmark;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench engine}: decode tokens/s of the CPU backend against this machine's copy bandwidth, or the
 * CUDA backend's figures against the device's ceilings ({@link CudaEngineBenchmark}).
 */
@Command(
        name = "engine",
        mixinStandardHelpOptions = true,
        description = {
            "Write (or reuse, from a cache folder keyed by shape and seed) a random Llama-architecture bf16 model,",
            "measure this machine's memory bandwidth with a multi-threaded copy (the baseline, counted as STREAM",
            "copy counts: read + write bytes), prefill a shared prompt, and decode at each batch size: tokens/s,",
            "weight bytes streamed per step, and the fraction of the copy bandwidth that streaming reaches.",
            "Default model: 16 layers, hidden 2048, MLP 8192, 32/8 heads of 64, vocab 32000, tied: 1.04 B"
                    + " parameters, 2.08 GB.",
            "With --backend cuda: the device's read/copy bandwidth and bf16 GEMM rate, then a Llama-3.1-8B-shaped",
            "model filled with random weights on the device: decode batch 1 with CUDA graphs off and on, batches 8",
            "and 64 at context 1024, prefill 512 and 2048, batch 64 with 0, 1, 8 and 32 rank-16 adapters; each",
            "figure against its ceiling."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve bench engine --backend cpu",
            "  twinserve bench engine --backend cuda --json",
            "  twinserve bench engine --quick --json",
            "  twinserve bench engine --layers 8 --hidden 1024 --intermediate 4096"
        })
final class BenchEngineCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--backend",
            defaultValue = "cpu",
            description = "The backend: " + EngineCommand.BACKENDS + " (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--quick", description = "A tiny model, a 64 MiB copy and few steps: seconds, for tests.")
    boolean quick;

    @Option(names = "--layers", paramLabel = "N")
    Integer layers;

    @Option(names = "--hidden", paramLabel = "N")
    Integer hidden;

    @Option(names = "--intermediate", paramLabel = "N")
    Integer intermediate;

    @Option(names = "--heads", paramLabel = "N")
    Integer heads;

    @Option(names = "--kv-heads", paramLabel = "N")
    Integer kvHeads;

    @Option(names = "--head-dim", paramLabel = "N")
    Integer headDim;

    @Option(names = "--vocab", paramLabel = "N")
    Integer vocab;

    @Option(names = "--seed", defaultValue = "1", description = "The random model's seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", defaultValue = "0", description = "Backend and copy threads (default: all cores).")
    int threads;

    @Option(names = "--batches", split = ",", paramLabel = "B1,B2", description = "Decode batch sizes (default 1,32).")
    List<Integer> batches = List.of(1, 32);

    @Option(
            names = "--prompt",
            paramLabel = "TOKENS",
            description = "Shared prompt tokens, a multiple of 16 (default 128; --quick 16).")
    Integer prompt;

    @Option(
            names = "--steps",
            paramLabel = "N",
            description = "Timed decode steps per batch size (default 10; --quick 3).")
    Integer steps;

    @Option(
            names = "--attention",
            split = ",",
            paramLabel = "BATCH,CONTEXT",
            description = "The KV-cache comparison: a decode step of BATCH sequences after CONTEXT cached tokens each,"
                    + " with a float32 and a bf16 KV cache (default 16,1024; --quick 4,64; 0,0 skips it).")
    List<Integer> attention;

    @Option(names = "--copy-mib", paramLabel = "MIB", description = "Copy buffer size (default 1024; --quick 64).")
    Integer copyMib;

    @Option(
            names = "--cache",
            paramLabel = "DIR",
            description = "Model cache folder (default: <temp>/twinserve-bench-models).")
    Path cache;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        EngineBackend.Kind kind = EngineCommand.backend(backend, spec.commandLine());
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (kind == EngineBackend.Kind.CUDA) {
            return cuda(out, err);
        }
        BenchModel base = quick ? BenchModel.tiny() : BenchModel.oneBillion();
        BenchModel shape = shape(base);
        Path cacheRoot =
                cache != null ? cache : Path.of(System.getProperty("java.io.tmpdir"), "twinserve-bench-models");
        EngineBenchmark.Options o = new EngineBenchmark.Options(
                shape,
                seed,
                cacheRoot,
                threads,
                or(prompt, quick ? 16 : 128),
                batches,
                quick ? 2 : 5,
                or(steps, quick ? 3 : 10),
                (long) or(copyMib, quick ? 64 : 1024) << 20,
                5,
                attentionArg(0, quick ? 4 : 16),
                attentionArg(1, quick ? 64 : 1024),
                kind);
        boolean interactive = System.console() != null && System.console().isTerminal();
        EngineBenchmark.Result r = EngineBenchmark.run(o, stage -> {
            if (interactive) {
                err.print("\r" + " ".repeat(70) + "\r" + stage + "...");
                err.flush();
            }
        });
        if (interactive) {
            err.print("\r" + " ".repeat(70) + "\r");
            err.flush();
        }
        if (json) {
            out.println(Json.write(document(r)));
            return 0;
        }
        out.printf(
                Locale.ROOT,
                "engine bench: cpu backend, %d threads; random llama model, %,d parameters %s, bf16%n",
                r.threads(),
                r.parameters(),
                shapeWords(r.model()));
        out.printf(Locale.ROOT, "model files: %s (%s)%n", r.modelDir(), r.modelReused() ? "reused" : "written now");
        out.printf(
                Locale.ROOT,
                "%-44s %16s %13s %8s %8s %8s%n",
                "",
                "figure",
                "weights GB/s",
                "x copy",
                "x read",
                "x mapped");
        out.printf(
                Locale.ROOT,
                "%-44s %11.2f GB/s %13s %8s%n",
                String.format(
                        Locale.ROOT,
                        "memory copy, %d MiB, best of %d (read+write)",
                        r.copy().bufferBytes() >> 20,
                        r.copy().runs()),
                r.copy().bytesPerSecond() / 1e9,
                "",
                "1.00 (baseline)");
        out.printf(
                Locale.ROOT,
                "%-44s %11.2f GB/s %13s %8.2f %8s%n",
                "memory read only, same buffer (vector sum)",
                r.copy().readBytesPerSecond() / 1e9,
                "",
                r.copy().readBytesPerSecond() / r.copy().bytesPerSecond(),
                "1.00");
        out.printf(
                Locale.ROOT,
                "%-44s %11.2f GB/s %13s %8.2f %8.2f %8s%n",
                "read only, the mapped weights of a step",
                r.mappedWeightsReadBytesPerSecond() / 1e9,
                "",
                r.mappedWeightsReadBytesPerSecond() / r.copy().bytesPerSecond(),
                r.mappedWeightsReadBytesPerSecond() / r.copy().readBytesPerSecond(),
                "1.00");
        out.printf(
                Locale.ROOT,
                "%-44s %13.1f ms  (%.1f tokens/s)%n",
                String.format(Locale.ROOT, "prefill %d tokens", r.promptTokens()),
                r.prefillMs(),
                r.promptTokens() / (r.prefillMs() / 1e3));
        for (EngineBenchmark.Decode d : r.decodes()) {
            out.printf(
                    Locale.ROOT,
                    "%-44s %10.2f tok/s %13.2f %8.3f %8.3f %8.3f%n",
                    String.format(
                            Locale.ROOT,
                            "decode batch %d, ctx %d-%d, step %.1f ms",
                            d.batch(),
                            d.firstContextTokens(),
                            d.lastContextTokens(),
                            d.stepMsMedian()),
                    d.tokensPerSecond(),
                    d.weightBytesPerSecond() / 1e9,
                    d.fractionOfCopyBandwidth(),
                    d.fractionOfReadBandwidth(),
                    d.fractionOfMappedWeightsRead());
        }
        for (EngineBenchmark.Attention a : r.attention()) {
            out.printf(
                    Locale.ROOT,
                    "%-44s %13.1f ms  %s%n",
                    String.format(
                            Locale.ROOT,
                            "decode batch %d, ctx %d, %s KV cache (%.2f GB)",
                            a.batch(),
                            a.context(),
                            a.kvDtype(),
                            a.kvCacheBytes() / 1e9),
                    a.stepMsMedian(),
                    a.kvDtype().equals("f32")
                            ? "1.00 (baseline)"
                            : String.format(Locale.ROOT, "%.2f x f32", a.ratioToF32()));
        }
        out.printf(
                Locale.ROOT,
                "weights streamed per decode step: %.3f GB (all layers and the LM head, bf16)%n",
                r.weightBytesPerStep() / 1e9);
        out.println(
                "copy GB/s counts read + write bytes (STREAM copy convention); x copy = weight bytes per step x steps/s"
                        + " / copy GB/s; x read and x mapped: the same over the read-only GB/s of the buffer and of the mapped weights");
        return 0;
    }

    /** The shape asked for: {@code base} with the shape options given. */
    private BenchModel shape(BenchModel base) {
        return new BenchModel(
                or(layers, base.layers()),
                or(hidden, base.hidden()),
                or(intermediate, base.intermediate()),
                or(heads, base.heads()),
                or(kvHeads, base.kvHeads()),
                or(headDim, base.headDim()),
                or(vocab, base.vocab()),
                base.tiedEmbeddings());
    }

    /**
     * The CUDA backend's benchmark ({@link CudaEngineBenchmark}): issue 21's figures on a model the device fills
     * with random weights, Llama-3.1-8B's shape unless {@code --quick} or the shape options say otherwise.
     */
    private int cuda(PrintWriter out, PrintWriter err) {
        BenchModel shape = shape(quick ? BenchModel.tiny() : BenchModel.llama8b());
        CudaEngineBenchmark.Options o = quick
                ? CudaEngineBenchmark.Options.quick(shape, seed)
                : CudaEngineBenchmark.Options.issue21(shape, seed);
        CudaEngineBenchmark.Result r;
        try (CudaDriver driver = CudaDriver.open(0)) {
            r = CudaEngineBenchmark.run(o, () -> new DriverGpu(driver, false, true), stage -> {
                err.println("bench engine: " + stage);
                err.flush();
            });
        }
        if (json) {
            out.println(Json.write(cudaDocument(r)));
            return 0;
        }
        BenchModel m = r.shape();
        out.printf(
                Locale.ROOT,
                "engine bench: cuda backend on %s; random llama model filled on the device, %,d parameters %s, bf16,"
                        + " KV cache bf16%n",
                r.device(),
                r.parameters(),
                shapeWords(m));
        out.printf(
                Locale.ROOT,
                "ceilings, same run: read %.1f GB/s, copy %.1f GB/s (read + write, %d MiB, best of %d), bf16 GEMM %s%n",
                r.ceilings().readBytesPerSecond() / 1e9,
                r.ceilings().copyBytesPerSecond() / 1e9,
                r.ceilings().bufferBytes() >> 20,
                r.ceilings().runs(),
                Double.isNaN(r.gemmFlopsPerSecond())
                        ? "not measured (no cuBLAS 13)"
                        : String.format(
                                Locale.ROOT,
                                "%.0f TFLOP/s (cuBLAS, %d x %d x %d)",
                                r.gemmFlopsPerSecond() / 1e12,
                                o.gemmTokens(),
                                m.hidden(),
                                m.hidden()));
        out.printf(
                Locale.ROOT,
                "%-40s %9s %11s %10s %7s %7s %7s %9s%n",
                "figure (median of " + o.steps() + " steps)",
                "step ms",
                "tokens/s",
                "GB / GFLOP",
                "x copy",
                "x read",
                "x GEMM",
                "x no LoRA");
        for (CudaEngineBenchmark.Figure f : r.figures()) {
            String label = f.kind().equals("prefill") ? f.name() : f.name() + ", ctx " + f.context();
            out.printf(
                    Locale.ROOT,
                    "%-40s %9.3f %11.1f %10.2f %7s %7s %7s %9s%n",
                    label,
                    f.stepMsMedian(),
                    f.tokensPerSecond(),
                    f.kind().equals("prefill") ? f.flops() / 1e9 : f.bytes() / 1e9,
                    fraction(f.ofCopy()),
                    fraction(f.ofRead()),
                    fraction(f.ofGemm()),
                    fraction(f.ratioToNoAdapters()));
        }
        out.println("decode: bytes a step must read (weights, LM head, every sequence's K/V, the adapters') over its"
                + " time, against the copy and read ceilings; prefill: its FLOPs over its time against the GEMM rate;"
                + " each step timed until its logits are on the host");
        return 0;
    }

    /** "(16 layers, hidden 2048, MLP 8192, 32/8 heads of 64, vocab 32000, tied)". */
    private static String shapeWords(BenchModel m) {
        return String.format(
                Locale.ROOT,
                "(%d layers, hidden %d, MLP %d, %d/%d heads of %d, vocab %d%s)",
                m.layers(),
                m.hidden(),
                m.intermediate(),
                m.heads(),
                m.kvHeads(),
                m.headDim(),
                m.vocab(),
                m.tiedEmbeddings() ? ", tied" : "");
    }

    private static String fraction(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static Map<String, Object> cudaDocument(CudaEngineBenchmark.Result r) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("backend", "cuda");
        doc.put("device", r.device());
        doc.put("model", r.shape());
        doc.put("parameters", r.parameters());
        doc.put("ceilings", r.ceilings());
        // (NaN figures print as null)
        doc.put("gemm_flops_per_second", r.gemmFlopsPerSecond());
        doc.put("graph_steps", r.graphSteps());
        doc.put("graph_draw_steps", r.graphDrawSteps());
        doc.put("gemm_graphs", r.gemmGraphs());
        doc.put("flash_prefill", r.flashPrefill());
        doc.put("logits_dtype", r.logitsDtype());
        doc.put("split_attention_launches", r.splitAttentionLaunches());
        doc.put("fused_silu", r.fusedSilu());
        doc.put("device_draws", r.deviceDraws());
        doc.put("prefill_linear", r.prefillLinear());
        doc.put("figures", r.figures());
        return doc;
    }

    private int attentionArg(int i, int dflt) {
        if (attention == null) {
            return dflt;
        }
        if (attention.size() != 2) {
            throw new IllegalArgumentException("--attention takes BATCH,CONTEXT (two numbers), got " + attention);
        }
        return attention.get(i);
    }

    private static int or(Integer v, int dflt) {
        return v != null ? v : dflt;
    }

    private static Map<String, Object> document(EngineBenchmark.Result r) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("backend", r.backend());
        doc.put("threads", r.threads());
        doc.put("model", r.model());
        doc.put("parameters", r.parameters());
        doc.put("model_dir", r.modelDir().toString());
        doc.put("model_reused", r.modelReused());
        Map<String, Object> copy = new LinkedHashMap<>();
        copy.put("buffer_bytes", r.copy().bufferBytes());
        copy.put("runs", r.copy().runs());
        copy.put("best_seconds", r.copy().bestSeconds());
        copy.put("bytes_per_second", r.copy().bytesPerSecond());
        copy.put("convention", "STREAM copy: read + write bytes");
        copy.put("read_bytes_per_second", r.copy().readBytesPerSecond());
        doc.put("copy", copy);
        doc.put("mapped_weights_read_bytes_per_second", r.mappedWeightsReadBytesPerSecond());
        doc.put("prompt_tokens", r.promptTokens());
        doc.put("prefill_ms", r.prefillMs());
        doc.put("weight_bytes_per_step", r.weightBytesPerStep());
        doc.put("decodes", r.decodes());
        doc.put("attention", r.attention());
        return doc;
    }
}
