package io.twinserve.engine.bench;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.BackendSpec;
import io.twinserve.engine.backend.Backends;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Decode speed of the CPU backend against this machine's copy bandwidth, both measured in one run (the CUDA
 * backend's is {@link CudaEngineBenchmark}): a
 * shared prompt is prefilled once (its KV blocks shared by every sequence, as prefix caching shares them),
 * then batches of sequences decode greedily in KV blocks of their own, and each decode step's median time
 * gives tokens/s and the weight bytes streamed per second.
 */
public final class EngineBenchmark {
    /**
     * What to run.
     *
     * @param threads backend and copy threads; 0 for all cores
     * @param promptTokens the shared prompt, a whole number of 16-token KV blocks
     * @param attentionBatch sequences of the attention comparison's decode step; 0 skips it
     * @param attentionContext cached tokens of each of those sequences, in KV blocks of its own
     */
    public record Options(
            BenchModel model,
            long seed,
            Path cacheRoot,
            int threads,
            int promptTokens,
            List<Integer> batches,
            int warmupSteps,
            int decodeSteps,
            long copyBytes,
            int copyRuns,
            int attentionBatch,
            int attentionContext,
            EngineBackend.Kind backend) {
        public Options {
            Objects.requireNonNull(backend, "backend");
            if (attentionBatch < 0 || attentionContext < 0) {
                throw new IllegalArgumentException(
                        "attention batch and context must be >= 0, got " + attentionBatch + " and " + attentionContext);
            }
            if (promptTokens < BLOCK_SIZE || promptTokens % BLOCK_SIZE != 0) {
                throw new IllegalArgumentException(
                        "prompt tokens must be a positive multiple of " + BLOCK_SIZE + ", got " + promptTokens);
            }
            if (batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
                throw new IllegalArgumentException("batches must be >= 1, got " + batches);
            }
            if (decodeSteps < 1 || warmupSteps < 0 || threads < 0) {
                throw new IllegalArgumentException("need >= 1 decode step, >= 0 warm-up steps and >= 0 threads");
            }
            batches = List.copyOf(batches);
        }
    }

    /** One batch size's decode figures. */
    public record Decode(
            int batch,
            int firstContextTokens,
            int lastContextTokens,
            int steps,
            double stepMsMedian,
            double tokensPerSecond,
            long weightBytesPerStep,
            double weightBytesPerSecond,
            double fractionOfCopyBandwidth,
            double fractionOfReadBandwidth,
            double fractionOfMappedWeightsRead) {}

    /**
     * A decode step of {@code batch} sequences each after {@code context} cached tokens in KV blocks of its
     * own, with the KV cache stored as {@code kvDtype}: attention reads every sequence's K and V from memory.
     *
     * @param ratioToF32 step time over the float32 cache's in the same run (the baseline)
     */
    public record Attention(
            String kvDtype, int batch, int context, double stepMsMedian, long kvCacheBytes, double ratioToF32) {}

    /**
     * The run's figures.
     *
     * @param mappedWeightsReadBytesPerSecond a read-only pass over the weights a decode step reads, in the
     *     memory-mapped model files they are read from, matrix by matrix across the threads
     */
    public record Result(
            BenchModel model,
            long parameters,
            long weightBytesPerStep,
            Path modelDir,
            boolean modelReused,
            int threads,
            CopyBandwidth.Result copy,
            double mappedWeightsReadBytesPerSecond,
            int promptTokens,
            double prefillMs,
            List<Decode> decodes,
            List<Attention> attention,
            String backend) {}

    static final int BLOCK_SIZE = 16;

    private EngineBenchmark() {}

    public static Result run(Options o, Consumer<String> progress) throws IOException, InterruptedException {
        Path dir = o.cacheRoot().resolve(o.model().key(o.seed()));
        progress.accept("model " + dir);
        boolean reused = o.model().ensureWritten(dir, o.seed());
        if (o.backend() == EngineBackend.Kind.CUDA) {
            throw new IllegalArgumentException("the CUDA backend's benchmark is CudaEngineBenchmark");
        }
        int threads = o.threads() > 0 ? o.threads() : Runtime.getRuntime().availableProcessors();
        progress.accept("copy bandwidth");
        CopyBandwidth.Result copy = CopyBandwidth.measure(o.copyBytes(), threads, o.copyRuns());
        int maxBatch = o.batches().stream().mapToInt(Integer::intValue).max().orElseThrow();
        int promptBlocks = o.promptTokens() / BLOCK_SIZE;
        int ownBlocks = (Math.max(o.warmupSteps(), o.decodeSteps()) + BLOCK_SIZE - 1) / BLOCK_SIZE;
        long kvTokens = (long) (promptBlocks + maxBatch * ownBlocks) * BLOCK_SIZE;
        long weightBytes = o.model().weightBytesPerStep();
        // a backend only, no live loop: the benchmark times raw decode steps of fixed batches
        EngineBackend engine = new EngineBackend(
                o.backend(),
                1,
                threads,
                kvTokens,
                BLOCK_SIZE,
                0,
                EngineBackend.DEFAULT_MAX_RANK,
                null,
                0.9,
                Math.max(maxBatch, o.promptTokens()),
                maxBatch,
                0);
        try (ModelFiles files = ModelFiles.open(dir);
                Backend backend = engine.create(files)) {
            int vocab = files.config().vocabSize();
            List<java.lang.foreign.MemorySegment> weights = new ArrayList<>();
            for (ModelFiles.LayerWeights w : files.layers()) {
                for (Tensor t : new Tensor[] {w.q(), w.k(), w.v(), w.o(), w.gate(), w.up(), w.down()}) {
                    weights.add(t.data());
                }
            }
            weights.add(files.lmHead().data());
            progress.accept("read of the mapped weights");
            double mappedRead = CopyBandwidth.readSegments(weights, threads, o.copyRuns());
            ForwardBatch batch = new ForwardBatch();
            float[] logits = new float[maxBatch * vocab];
            int[] prompt = new int[o.promptTokens()];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = (int) ((3 + 7919L * (i + 1)) % vocab);
            }
            int[] promptTable = new int[promptBlocks];
            for (int i = 0; i < promptBlocks; i++) {
                promptTable[i] = i;
            }
            progress.accept("prefill");
            batch.clear();
            batch.add(prompt, 0, prompt.length, 0, -1, promptTable, promptBlocks, true);
            // the first pass compiles the kernels; the second, which rewrites the same K/V, is timed
            backend.forward(batch, logits);
            long start = System.nanoTime();
            backend.forward(batch, logits);
            double prefillMs = (System.nanoTime() - start) / 1e6;
            int firstToken = argmax(logits, 0, vocab);

            // every batch size is warmed up before any is timed: a shape timed first would otherwise carry the
            // JIT's work on the kernels the later shapes find compiled
            for (int b : o.batches()) {
                progress.accept("warm-up batch " + b);
                decodeSteps(backend, batch, logits, b, o, promptTable, ownBlocks, firstToken, o.warmupSteps());
            }
            List<Decode> decodes = new ArrayList<>();
            for (int b : o.batches()) {
                progress.accept("decode batch " + b);
                long[] ns =
                        decodeSteps(backend, batch, logits, b, o, promptTable, ownBlocks, firstToken, o.decodeSteps());
                double stepSeconds = medianNs(ns) / 1e9;
                double weightRate = weightBytes / stepSeconds;
                decodes.add(new Decode(
                        b,
                        o.promptTokens(),
                        o.promptTokens() + o.decodeSteps() - 1,
                        o.decodeSteps(),
                        stepSeconds * 1e3,
                        b / stepSeconds,
                        weightBytes,
                        weightRate,
                        weightRate / copy.bytesPerSecond(),
                        weightRate / copy.readBytesPerSecond(),
                        weightRate / mappedRead));
            }
            List<Attention> attention = o.attentionBatch() == 0 ? List.of() : attention(files, o, threads, progress);
            return new Result(
                    o.model(),
                    o.model().parameters(),
                    weightBytes,
                    dir,
                    reused,
                    threads,
                    copy,
                    mappedRead,
                    o.promptTokens(),
                    prefillMs,
                    decodes,
                    attention,
                    o.backend().label());
        }
    }

    /**
     * The same long-context decode step with a float32 KV cache (the baseline) and a bf16 one, each backend
     * built and closed in turn. The cache is not filled: the kernels' time does not depend on its values
     * (float32 arithmetic on these CPUs takes as long on zeros, and zeros are no denormals), and filling it
     * would take a prefill of every sequence's context, minutes on the 1B model.
     */
    private static List<Attention> attention(ModelFiles files, Options o, int threads, Consumer<String> progress) {
        int b = o.attentionBatch();
        int context = o.attentionContext();
        int perSequence = (context + 1 + BLOCK_SIZE - 1) / BLOCK_SIZE;
        long kvTokens = (long) b * perSequence * BLOCK_SIZE;
        int vocab = files.config().vocabSize();
        List<Attention> out = new ArrayList<>();
        double baseline = 0;
        for (DType kv : List.of(DType.F32, DType.BF16)) {
            progress.accept("attention, " + kv.name().toLowerCase(Locale.ROOT) + " KV cache");
            try (CpuBackend backend = Backends.create(
                    new BackendSpec.Cpu(files, new CpuBackend.Options(1, threads, kvTokens, BLOCK_SIZE, 0, kv)))) {
                ForwardBatch batch = new ForwardBatch();
                int[] table = new int[perSequence];
                int[] one = new int[1];
                for (int s = 0; s < b; s++) {
                    for (int i = 0; i < perSequence; i++) {
                        table[i] = s * perSequence + i;
                    }
                    one[0] = (int) ((3 + 7919L * (s + 1)) % vocab);
                    batch.add(one, 0, 1, context, -1, table, perSequence, true);
                }
                float[] logits = new float[b * vocab];
                for (int i = 0; i < o.warmupSteps(); i++) {
                    backend.forward(batch, logits);
                }
                long[] ns = new long[o.decodeSteps()];
                for (int i = 0; i < ns.length; i++) {
                    long t0 = System.nanoTime();
                    backend.forward(batch, logits);
                    ns[i] = System.nanoTime() - t0;
                }
                double ms = medianNs(ns) / 1e6;
                if (baseline == 0) {
                    baseline = ms;
                }
                long bytes = 2L * files.config().numLayers() * files.config().kvDim() * kvTokens * kv.bytes();
                out.add(new Attention(kv.name().toLowerCase(Locale.ROOT), b, context, ms, bytes, ms / baseline));
            }
        }
        return out;
    }

    /**
     * Runs {@code steps} greedy decode steps of {@code b} sequences after the shared prompt, each in KV blocks
     * of its own, and returns each step's duration in ns.
     */
    private static long[] decodeSteps(
            Backend backend,
            ForwardBatch batch,
            float[] logits,
            int b,
            Options o,
            int[] promptTable,
            int ownBlocks,
            int firstToken,
            int steps) {
        int vocab = backend.config().vocabSize();
        int promptBlocks = promptTable.length;
        int[][] tables = new int[b][promptBlocks + ownBlocks];
        int[] next = new int[b];
        for (int s = 0; s < b; s++) {
            System.arraycopy(promptTable, 0, tables[s], 0, promptBlocks);
            for (int i = 0; i < ownBlocks; i++) {
                tables[s][promptBlocks + i] = promptBlocks + s * ownBlocks + i;
            }
            next[s] = (firstToken + s) % vocab;
        }
        int[] one = new int[1];
        long[] ns = new long[steps];
        for (int step = 0; step < steps; step++) {
            int context = o.promptTokens() + step;
            int blocks = (context + 1 + BLOCK_SIZE - 1) / BLOCK_SIZE;
            batch.clear();
            for (int s = 0; s < b; s++) {
                one[0] = next[s];
                batch.add(one, 0, 1, context, -1, tables[s], blocks, true);
            }
            long t0 = System.nanoTime();
            backend.forward(batch, logits);
            ns[step] = System.nanoTime() - t0;
            for (int s = 0; s < b; s++) {
                next[s] = argmax(logits, batch.logitRow(s) * vocab, vocab);
            }
        }
        return ns;
    }

    /** The median of {@code ns} (sorted in place; the mean of the middle two for an even count). */
    static double medianNs(long[] ns) {
        Arrays.sort(ns);
        return ns.length % 2 == 1 ? ns[ns.length / 2] : (ns[ns.length / 2 - 1] + ns[ns.length / 2]) / 2.0;
    }

    private static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[from + i] > v[from + best]) {
                best = i;
            }
        }
        return best;
    }
}
