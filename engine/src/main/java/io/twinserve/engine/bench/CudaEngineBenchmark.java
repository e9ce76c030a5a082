package io.twinserve.engine.bench;

import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.cuda.CudaBackend;
import io.twinserve.engine.backend.cuda.CudaCeilings;
import io.twinserve.engine.backend.cuda.Gpu;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.Projection;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The CUDA backend's speed against the device's own ceilings, all measured in one run (issue 21): the read and copy
 * bandwidth (probe kernels) and the bf16 GEMM rate (cuBLAS), then, on a model the device fills with random weights
 * (no file: an 8B model would be 16 GB to write and upload), decode steps at batch 1 with CUDA graphs on and off,
 * batches at a long context, prefill steps, and a decode batch with 0, 1, 8 and 32 distinct adapters.
 *
 * <p>Each figure is the median of its timed steps (after warm-up steps of the same shape, which also capture its
 * graph), timed on the host around {@link CudaBackend#forward}, which returns once the step's logits are on the
 * host: a figure is what the engine's loop waits for, the logits' copy included. Decode figures are stated as the
 * bytes the step must read (every layer's weights, the LM head, the K/V of every sequence's context, the adapters'
 * weights) over its time, against the copy and the read ceilings ("the byte roofline"); prefill figures as the
 * step's FLOPs over its time against the GEMM rate; adapter figures as the step's time over the same batch's
 * without adapters. A decode step's context stays the same from step to step (each step rewrites the K/V of
 * the same position): the cache's values do not change the kernels' time.
 */
public final class CudaEngineBenchmark {
    static final int BLOCK_SIZE = 16;

    /**
     * What to run.
     *
     * @param shape the random model's shape
     * @param context cached tokens of each sequence of the decode and adapter figures
     * @param decodeBatches decode batch sizes (graphs on); batch 1 is also run with graphs off
     * @param prefills prompt lengths of the prefill figures (one sequence from an empty cache)
     * @param adapterBatch the decode batch of the adapter figures
     * @param adapterCounts distinct adapters of those figures (0: the baseline)
     * @param adapterRank every adapter's rank (the slots are reserved at it)
     * @param graphBatch decode steps of up to this many sequences replay graphs in the graphs-on runs
     * @param gemmTokens tokens of the GEMM ceiling's product (tokens x hidden x hidden)
     */
    public record Options(
            BenchModel shape,
            long seed,
            int context,
            List<Integer> decodeBatches,
            List<Integer> prefills,
            int adapterBatch,
            List<Integer> adapterCounts,
            int adapterRank,
            int graphBatch,
            int warmupSteps,
            int steps,
            long probeBytes,
            int probeRuns,
            int gemmTokens) {
        public Options {
            Objects.requireNonNull(shape, "shape");
            decodeBatches = List.copyOf(decodeBatches);
            prefills = List.copyOf(prefills);
            adapterCounts = List.copyOf(adapterCounts);
            if (context < 1 || steps < 1 || warmupSteps < 0 || adapterBatch < 1 || adapterRank < 1) {
                throw new IllegalArgumentException("context, steps, adapter batch and rank must be >= 1 and warm-up"
                        + " steps >= 0, got " + context + ", " + steps + ", " + adapterBatch + ", " + adapterRank
                        + ", " + warmupSteps);
            }
            if (decodeBatches.isEmpty() || decodeBatches.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("decode batches must be >= 1, got " + decodeBatches);
            }
            if (prefills.stream().anyMatch(p -> p < 1)
                    || adapterCounts.stream().anyMatch(a -> a < 0 || a > adapterBatch)) {
                throw new IllegalArgumentException("prefills must be >= 1 and adapter counts 0 to the adapter batch "
                        + adapterBatch + ", got " + prefills + " and " + adapterCounts);
            }
        }

        /** Issue 21's run on {@code shape}: context 1024, batches 1, 8 and 64, prefill 512 and 2,048, 0/1/8/32 rank-16 adapters at batch 64. */
        public static Options issue21(BenchModel shape, long seed) {
            return new Options(
                    shape,
                    seed,
                    1024,
                    List.of(1, 8, 64),
                    List.of(512, 2048),
                    64,
                    List.of(0, 1, 8, 32),
                    16,
                    64,
                    3,
                    20,
                    1L << 30,
                    10,
                    2048);
        }

        /** A run small enough for the emulated device in a test. */
        public static Options quick(BenchModel shape, long seed) {
            return new Options(
                    shape, seed, 40, List.of(1, 3), List.of(24), 4, List.of(0, 1, 2), 4, 4, 1, 2, 1L << 16, 2, 16);
        }

        int maxDecodeBatch() {
            return Math.max(
                    adapterBatch,
                    decodeBatches.stream().mapToInt(Integer::intValue).max().orElseThrow());
        }

        int maxPrefill() {
            return prefills.stream().mapToInt(Integer::intValue).max().orElse(0);
        }
    }

    /**
     * One measured figure.
     *
     * @param kind "decode", "prefill" or "adapters"
     * @param graphs whether its decode steps replayed CUDA graphs
     * @param bytes the bytes the step must read (decode and adapter figures), else 0
     * @param flops the step's FLOPs (prefill figures), else 0
     * @param ofCopy bytes over time over the copy ceiling (decode), else NaN
     * @param ofRead bytes over time over the read ceiling (decode), else NaN
     * @param ofGemm FLOPs over time over the GEMM rate (prefill, when cuBLAS was found), else NaN
     * @param ratioToNoAdapters the step's time over the same batch's without adapters (adapter figures), else NaN
     */
    public record Figure(
            String name,
            String kind,
            int batch,
            int tokensPerSequence,
            int context,
            int adapters,
            boolean graphs,
            int steps,
            double stepMsMedian,
            double tokensPerSecond,
            double bytes,
            double flops,
            double ofCopy,
            double ofRead,
            double ofGemm,
            double ratioToNoAdapters) {}

    /**
     * The run.
     *
     * @param gemmFlopsPerSecond the bf16 GEMM rate, or NaN without cuBLAS
     * @param graphSteps decode steps that replayed a graph in the graphs-on runs
     * @param graphDrawSteps of those, the steps whose graph also drew every row (only the tokens came back)
     * @param gemmGraphs decode graphs captured with cuBLAS for their linear layers (buckets above 8 sequences, where
     *     cuBLAS is found and can be captured)
     * @param flashPrefill whether the prefill figures attended in the tensor-core tiles ({@code
     *     ts_prefill_attention}) rather than the row kernel
     * @param logitsDtype how each step's logits came back to the host, "bf16" or "f32" (in every step's time)
     * @param splitAttentionLaunches attention launches that split their rows' positions (split-K, for few rows over
     *     long contexts; a decode graph's counted once, at its capture), over the graphs-on runs
     * @param fusedSilu whether steps without adapters ran the gate/up GEMV with the SiLU-mul in its epilogue
     * @param deviceDraws whether each step's rows were drawn on the device (only tokens back) rather than its logits
     *     brought back (in every step's time)
     * @param prefillLinear how the prefill figures' linear layers ran: "cublas", "tensor cores" (the backend's own
     *     GEMM) or "gemv"
     */
    public record Result(
            BenchModel shape,
            long parameters,
            String device,
            CudaCeilings ceilings,
            double gemmFlopsPerSecond,
            List<Figure> figures,
            long graphSteps,
            long graphDrawSteps,
            long gemmGraphs,
            boolean flashPrefill,
            String logitsDtype,
            long splitAttentionLaunches,
            boolean fusedSilu,
            boolean deviceDraws,
            String prefillLinear) {}

    private CudaEngineBenchmark() {}

    /** Runs {@code o} on devices from {@code gpus} (one per backend and one for the ceilings, each closed after). */
    public static Result run(Options o, Supplier<Gpu> gpus, Consumer<String> progress) {
        ModelConfig c = o.shape().config();
        String device;
        CudaCeilings ceilings;
        double gemmRate;
        progress.accept("device ceilings");
        try (Gpu gpu = gpus.get()) {
            device = gpu.describe();
            ceilings = CudaCeilings.measure(gpu, o.probeBytes(), o.probeRuns());
            gemmRate = gemmRate(gpu, o.gemmTokens(), c.hiddenSize(), o.probeRuns());
        }
        int sequences = o.maxDecodeBatch();
        int blocksPerSequence = (o.context() + 1 + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int prefillBlocks = (o.maxPrefill() + BLOCK_SIZE - 1) / BLOCK_SIZE;
        long kvTokens = (long) (sequences * blocksPerSequence + prefillBlocks) * BLOCK_SIZE;
        int slots = o.adapterCounts().stream().mapToInt(Integer::intValue).max().orElse(0);
        Steps s = new Steps(o, c, blocksPerSequence, sequences);
        List<Figure> figures = new ArrayList<>();
        long graphSteps;
        long graphDrawSteps;
        long gemmGraphs;
        boolean flashPrefill;
        String logitsDtype;
        long splitAttentionLaunches;
        boolean fusedSilu;
        boolean deviceDraws;
        String prefillLinear;
        // graphs off: batch 1 only, the baseline of the graphs' gain
        try (CudaBackend backend = CudaBackend.random(
                c, o.seed(), new CudaBackend.Options(kvTokens, BLOCK_SIZE, 0, 1, false, 0), gpus.get())) {
            progress.accept("decode batch 1, graphs off");
            figures.add(s.decode(backend, 1, 0, false, ceilings));
        }
        try (CudaBackend backend = CudaBackend.random(
                c,
                o.seed(),
                new CudaBackend.Options(kvTokens, BLOCK_SIZE, slots, o.adapterRank(), false, o.graphBatch()),
                gpus.get())) {
            for (int a = 0; a < slots; a++) {
                backend.loadRandomAdapter(a, "random-" + a, o.adapterRank(), o.seed() + 1000 + a);
            }
            for (int b : o.decodeBatches()) {
                progress.accept("decode batch " + b);
                figures.add(s.decode(backend, b, 0, true, ceilings));
            }
            for (int p : o.prefills()) {
                progress.accept("prefill " + p);
                figures.add(s.prefill(backend, p, gemmRate));
            }
            double base = Double.NaN;
            for (int a : o.adapterCounts()) {
                progress.accept("batch " + o.adapterBatch() + ", " + a + " adapters");
                Figure f = s.decode(backend, o.adapterBatch(), a, true, ceilings);
                if (a == 0) {
                    base = f.stepMsMedian();
                }
                figures.add(withRatio(f, f.stepMsMedian() / base));
            }
            graphSteps = backend.graphSteps();
            graphDrawSteps = backend.graphDrawSteps();
            gemmGraphs = backend.gemmGraphs();
            flashPrefill = backend.flashPrefill();
            logitsDtype = backend.logitsDtype();
            splitAttentionLaunches = backend.splitAttentionLaunches();
            fusedSilu = backend.fusedSilu();
            deviceDraws = backend.drawsOnDevice();
            prefillLinear = backend.prefillLinear();
        }
        return new Result(
                o.shape(),
                c.parameters(),
                device,
                ceilings,
                gemmRate,
                List.copyOf(figures),
                graphSteps,
                graphDrawSteps,
                gemmGraphs,
                flashPrefill,
                logitsDtype,
                splitAttentionLaunches,
                fusedSilu,
                deviceDraws,
                prefillLinear);
    }

    private static Figure withRatio(Figure f, double ratio) {
        return new Figure(
                "batch " + f.batch() + ", " + f.adapters() + " distinct adapters",
                "adapters",
                f.batch(),
                f.tokensPerSequence(),
                f.context(),
                f.adapters(),
                f.graphs(),
                f.steps(),
                f.stepMsMedian(),
                f.tokensPerSecond(),
                f.bytes(),
                f.flops(),
                f.ofCopy(),
                f.ofRead(),
                f.ofGemm(),
                ratio);
    }

    /** The bf16 GEMM rate of cuBLAS on a tokens x hidden x hidden product, best of {@code runs}; NaN without it. */
    private static double gemmRate(Gpu gpu, int tokens, int hidden, int runs) {
        if (!gpu.hasGemm()) {
            return Double.NaN;
        }
        long w = gpu.alloc(2L * hidden * hidden);
        long x = gpu.alloc(2L * tokens * hidden);
        long y = gpu.alloc(4L * tokens * hidden);
        gpu.gemmBf16(tokens, hidden, hidden, w, x, y);
        gpu.synchronize();
        // 20 GEMMs between two waits: one 2,048-token GEMM is about 0.1 ms on an H100, where the wait and the launch
        // timed around each alone would add 10-20%
        int each = 20;
        long best = Long.MAX_VALUE;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            for (int j = 0; j < each; j++) {
                gpu.gemmBf16(tokens, hidden, hidden, w, x, y);
            }
            gpu.synchronize();
            best = Math.min(best, System.nanoTime() - t0);
        }
        return each * 2.0 * tokens * hidden * hidden / (Math.max(1, best) / 1e9);
    }

    /** Builds and times the steps of the figures. */
    private static final class Steps {
        private final Options o;
        private final ModelConfig c;
        private final int blocksPerSequence;
        private final int[][] tables;
        private final ForwardBatch batch = new ForwardBatch();
        private final float[] logits;
        private final int[] one = new int[1];
        private final DeviceDraws draws = new DeviceDraws();
        private final int[] drawn;
        private final SplittableRandom uniforms = new SplittableRandom(11);

        Steps(Options o, ModelConfig c, int blocksPerSequence, int sequences) {
            this.o = o;
            this.c = c;
            this.blocksPerSequence = blocksPerSequence;
            this.tables = new int[sequences][blocksPerSequence];
            for (int s = 0; s < sequences; s++) {
                for (int i = 0; i < blocksPerSequence; i++) {
                    tables[s][i] = s * blocksPerSequence + i;
                }
            }
            this.logits = new float[sequences * c.vocabSize()];
            this.drawn = new int[Math.max(1, sequences)];
        }

        /** A decode step of {@code b} sequences at the context, {@code adapters} distinct ones among them. */
        Figure decode(CudaBackend backend, int b, int adapters, boolean graphs, CudaCeilings ceilings) {
            batch.clear();
            for (int s = 0; s < b; s++) {
                one[0] = (7 + 31 * s) % c.vocabSize();
                batch.add(
                        one, 0, 1, o.context(), adapters == 0 ? -1 : s % adapters, tables[s], blocksPerSequence, true);
            }
            double ms = medianMs(backend);
            double bytes = decodeBytes(b, adapters);
            double rate = bytes / (ms / 1e3);
            return new Figure(
                    "decode batch " + b + (graphs ? "" : ", graphs off"),
                    "decode",
                    b,
                    1,
                    o.context(),
                    adapters,
                    graphs,
                    o.steps(),
                    ms,
                    b / (ms / 1e3),
                    bytes,
                    0,
                    rate / ceilings.copyBytesPerSecond(),
                    rate / ceilings.readBytesPerSecond(),
                    Double.NaN,
                    Double.NaN);
        }

        /** One sequence's prefill of {@code tokens} from an empty cache (its K/V in the blocks after the decodes'). */
        Figure prefill(CudaBackend backend, int tokens, double gemmRate) {
            int[] ids = new int[tokens];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (int) ((3 + 7919L * (i + 1)) % c.vocabSize());
            }
            int blocks = (tokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
            int[] table = new int[blocks];
            int first = tables.length * blocksPerSequence;
            for (int i = 0; i < blocks; i++) {
                table[i] = first + i;
            }
            batch.clear();
            batch.add(ids, 0, tokens, 0, -1, table, blocks, true);
            double ms = medianMs(backend);
            double flops = prefillFlops(tokens);
            return new Figure(
                    "prefill " + tokens,
                    "prefill",
                    1,
                    tokens,
                    0,
                    0,
                    false,
                    o.steps(),
                    ms,
                    tokens / (ms / 1e3),
                    0,
                    flops,
                    Double.NaN,
                    Double.NaN,
                    flops / (ms / 1e3) / gemmRate,
                    Double.NaN);
        }

        private double medianMs(CudaBackend backend) {
            for (int i = 0; i < o.warmupSteps(); i++) {
                step(backend);
            }
            long[] ns = new long[o.steps()];
            for (int i = 0; i < ns.length; i++) {
                long t0 = System.nanoTime();
                step(backend);
                ns[i] = System.nanoTime() - t0;
            }
            return EngineBenchmark.medianNs(ns) / 1e6;
        }

        /**
         * One step through to its tokens, as the live loop runs it: every row drawn at temperature 1 on the device
         * where the backend draws there (only the tokens come back), else its logits brought back for the host.
         */
        private void step(CudaBackend backend) {
            if (!backend.drawsOnDevice()) {
                backend.forward(batch, logits);
                return;
            }
            int rows = batch.assignLogitRows();
            draws.clear(rows);
            for (int r = 0; r < rows; r++) {
                draws.set(r, 1, 0, uniforms.nextDouble());
            }
            backend.forward(batch, draws, drawn, logits);
        }

        /**
         * Bytes a decode step must read: every layer's weights and the LM head (an untied embedding is only
         * looked up), each sequence's K and V over its context and the new token, and each distinct adapter's A
         * and B at its rank.
         */
        double decodeBytes(int b, int adapters) {
            double weights = o.shape().weightBytesPerStep();
            double kv = 2.0 * 2 * c.numLayers() * (double) c.kvDim() * (o.context() + 1) * b;
            double perAdapter = 2.0 * c.numLayers() * o.adapterRank() * adapterParamsPerRank();
            return weights + kv + adapters * perAdapter;
        }

        /** A (in) plus B (out) values per unit of rank of one layer's projections. */
        private double adapterParamsPerRank() {
            double perRank = 0;
            for (Projection p : Projection.values()) {
                perRank += p.inDim(c) + p.outDim(c);
            }
            return perRank;
        }

        /**
         * A prefill's FLOPs: 2 per weight per token in every layer's projections, causal attention (QK and PV,
         * 4 x head_dim per query-key pair and head, n(n+1)/2 pairs), and the LM head for the one sampled token.
         */
        double prefillFlops(int tokens) {
            double h = c.hiddenSize();
            double perLayer = h * c.qDim() * 2 + h * c.kvDim() * 2 + 3 * h * c.intermediateSize();
            double linear = 2.0 * perLayer * c.numLayers() * tokens;
            double pairs = (double) tokens * (tokens + 1) / 2;
            double attention = 4.0 * c.headDim() * c.numHeads() * pairs * c.numLayers();
            double head = 2.0 * h * c.vocabSize();
            return linear + attention + head;
        }
    }
}
