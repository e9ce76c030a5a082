package io.twinserve.engine.profile;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.cuda.CudaBackend;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * Runs a {@link ProfileGrid} on a real backend (the CPU, or CUDA): each shape warmed up, then repeated, its
 * median kept.
 * Adapters for the LoRA shapes are random PEFT adapters written into a scratch folder.
 */
public final class EngineProfiler {
    /**
     * What to profile.
     *
     * @param threads the CPU backend's threads; 0 for all cores
     * @param backend which backend runs the grid
     */
    public record Options(
            Path modelDir, int tensorParallel, int threads, ProfileGrid grid, EngineBackend.Kind backend) {
        public Options {
            if (tensorParallel < 1 || threads < 0) {
                throw new IllegalArgumentException(
                        "tp must be >= 1 and threads >= 0, got " + tensorParallel + " and " + threads);
            }
            Objects.requireNonNull(backend, "backend");
        }

        /** On the CPU backend. */
        public Options(Path modelDir, int tensorParallel, int threads, ProfileGrid grid) {
            this(modelDir, tensorParallel, threads, grid, EngineBackend.Kind.CPU);
        }
    }

    /**
     * The device a profile was measured on.
     *
     * @param backend "cpu" or "cuda"
     * @param name the CPU's model, or the GPU's name
     * @param memoryGib the machine's memory (CPU) or the device's (GPU)
     * @param fastPaths the CUDA backend's fast paths as they ran ({@code CudaBackend#fastPaths}); empty on the CPU
     */
    public record Device(String backend, String name, double memoryGib, Map<String, Object> fastPaths) {
        public Device {
            fastPaths = Map.copyOf(new java.util.TreeMap<>(fastPaths));
        }

        public Device(String backend, String name, double memoryGib) {
            this(backend, name, memoryGib, Map.of());
        }
    }

    /** Everything measured, with the backend's set-up. */
    public record Measurements(
            ModelConfig config,
            int tensorParallel,
            int threads,
            Device device,
            int blockSize,
            long kvCacheTokens,
            List<StepMeasurement> steps,
            List<AdapterLoadMeasurement> adapterLoads) {
        public Measurements {
            steps = List.copyOf(steps);
            adapterLoads = List.copyOf(adapterLoads);
        }
    }

    static final int BLOCK_SIZE = 16;

    private EngineProfiler() {}

    /** Shapes in the grid, for a progress display. */
    public static int shapes(ProfileGrid g) {
        return g.tokenCounts().size()
                + headBatches(g).size()
                + g.decodeBatches().size() * g.contextTokens().size()
                + 2 * g.prefillChunks().size()
                + g.loraBatches().size() * g.adapterCounts().size() * g.ranks().size()
                + g.ranks().size();
    }

    /**
     * Measures the grid. {@code scratch} receives the random adapters; {@code progress} is told how many
     * shapes are done.
     */
    public static Measurements measure(Options o, Path scratch, IntConsumer progress) throws IOException {
        ProfileGrid g = o.grid();
        try (ModelFiles model = ModelFiles.open(o.modelDir())) {
            ModelConfig c = model.config();
            // the longest position a shape reaches (a prefill chunk over the longest context): refused now, not by
            // the backend minutes into the grid
            long positions = (long) g.maxContext() + g.prefillChunks().getLast();
            if (positions > c.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("the profile grid reaches position " + positions + " (context "
                        + g.maxContext() + " plus a chunk of "
                        + g.prefillChunks().getLast() + "), past the model's"
                        + " max_position_embeddings " + c.maxPositionEmbeddings() + "; use a model with more positions"
                        + " or a smaller grid (--quick)");
            }
            long kvTokens = kvTokensNeeded(g);
            List<StepMeasurement> steps = new ArrayList<>();
            List<AdapterLoadMeasurement> loads = new ArrayList<>();
            int maxTokens =
                    Math.max(g.tokenCounts().getLast(), g.prefillChunks().getLast());
            // a backend only, no live loop: the profile times raw steps of chosen shapes, not scheduled ones
            int maxRank = g.ranks().stream().mapToInt(Integer::intValue).max().orElse(EngineBackend.DEFAULT_MAX_RANK);
            EngineBackend engine = new EngineBackend(
                    o.backend(),
                    o.tensorParallel(),
                    o.threads(),
                    kvTokens,
                    BLOCK_SIZE,
                    g.maxAdapters(),
                    maxRank,
                    null,
                    0.9,
                    Math.max(maxTokens, maxSequences(g)),
                    maxSequences(g),
                    0);
            try (Backend backend = engine.create(model)) {
                StepTimer timer = new StepTimer(backend, maxTokens);
                warmUp(timer, g);
                int done = 0;
                for (int n : g.tokenCounts()) {
                    steps.add(measure(timer, g, StepMeasurement.Kind.TABLE, n, 1, 0, 0, 0, false));
                    progress.accept(++done);
                }
                for (int n : headBatches(g)) {
                    steps.add(measure(timer, g, StepMeasurement.Kind.HEAD, n, 1, 0, 0, 0, true));
                    progress.accept(++done);
                }
                for (int b : g.decodeBatches()) {
                    for (int ctx : g.contextTokens()) {
                        steps.add(measure(timer, g, StepMeasurement.Kind.DECODE, b, 1, ctx, 0, 0, false));
                        progress.accept(++done);
                    }
                }
                for (int p : g.prefillChunks()) {
                    for (int ctx : new int[] {0, g.maxContext()}) {
                        steps.add(measure(timer, g, StepMeasurement.Kind.PREFILL, 1, p, ctx, 0, 0, false));
                        progress.accept(++done);
                    }
                }
                for (int rank : g.ranks()) {
                    List<LoraAdapter> adapters = new ArrayList<>();
                    for (int i = 0; i < g.maxAdapters(); i++) {
                        Path dir = scratch.resolve("adapter-r" + rank + "-" + i);
                        RandomModel.writeAdapter(
                                o.modelDir(),
                                rank,
                                2.0 * rank,
                                List.of(Projection.values()),
                                1000L * rank + i,
                                DType.BF16,
                                dir);
                        adapters.add(LoraAdapter.load("r" + rank + "-" + i, dir, c));
                    }
                    for (int i = 0; i < adapters.size(); i++) {
                        backend.loadAdapter(i, adapters.get(i));
                    }
                    warmUpLora(timer, g);
                    for (int b : g.loraBatches()) {
                        for (int k : g.adapterCounts()) {
                            steps.add(measure(timer, g, StepMeasurement.Kind.LORA, b, 1, 0, k, rank, false));
                            progress.accept(++done);
                        }
                    }
                    loads.add(measureLoad(backend, adapters.getFirst(), rank, g));
                    progress.accept(++done);
                }
                int threads = backend instanceof CpuBackend cpu ? cpu.threads() : 0;
                Device device = backend instanceof CudaBackend cuda
                        ? new Device(
                                "cuda",
                                cuda.deviceName(),
                                cuda.deviceMemoryBytes() / (double) (1L << 30),
                                cuda.fastPaths())
                        : new Device("cpu", EngineProfile.cpuModel(), EngineProfile.physicalMemoryGib());
                return new Measurements(
                        c, o.tensorParallel(), threads, device, BLOCK_SIZE, backend.kvCacheTokens(), steps, loads);
            }
        }
    }

    /**
     * Runs every table shape until a whole pass is no longer faster than the best before it (at least three
     * passes and {@link #MIN_WARMUP_NS}, at most twenty passes or a minute): the JIT compiles the kernels in
     * the background for a while, and shapes timed meanwhile would carry its work.
     */
    /**
     * The least warm-up: on a tiny model a pass takes well under a millisecond, so three passes that are no
     * faster than each other are all interpreted, and a profile timed then priced its steps about ten times
     * slower than the compiled loop runs them (shadow mode's drift alarm fired on the twin's own model).
     */
    static final long MIN_WARMUP_NS = 2_000_000_000L;

    private static void warmUp(StepTimer timer, ProfileGrid g) {
        long best = Long.MAX_VALUE;
        long startNs = System.nanoTime();
        for (int pass = 0; pass < 20 || System.nanoTime() - startNs < MIN_WARMUP_NS; pass++) {
            long passStart = System.nanoTime();
            // with and without logits: a path the JIT has not seen would be recompiled in the middle of the timings
            for (int n : g.tokenCounts()) {
                timer.time(n, 1, 0, 0, false, 0, 1);
                timer.time(n, 1, 0, 0, true, 0, 1);
            }
            timer.time(g.decodeBatches().getLast(), 1, g.maxContext(), 0, false, 0, 1);
            long passNs = System.nanoTime() - passStart;
            boolean improved = passNs < 0.95 * best;
            best = Math.min(best, passNs);
            long spent = System.nanoTime() - startNs;
            if (pass >= 2 && spent >= MIN_WARMUP_NS && (!improved || spent > 60_000_000_000L)) {
                return;
            }
        }
    }

    /**
     * Runs the LoRA shapes until a whole pass is no longer faster than the best before it (at least three passes,
     * at most twenty or {@link #MIN_WARMUP_NS}): the table's warm-up never runs an adapter, so the first LoRA
     * shapes timed carried the JIT's compilation of the adapter path (on a tiny model one shape timed 0.25 ms in
     * one profile and 3.6 ms in the next, and the fit made a per-step LoRA cost of that noise).
     */
    private static void warmUpLora(StepTimer timer, ProfileGrid g) {
        long best = Long.MAX_VALUE;
        long startNs = System.nanoTime();
        for (int pass = 0; pass < 20; pass++) {
            long passStart = System.nanoTime();
            for (int b : g.loraBatches()) {
                for (int k : g.adapterCounts()) {
                    timer.time(b, 1, 0, k, false, 0, 1);
                }
            }
            long passNs = System.nanoTime() - passStart;
            boolean improved = passNs < 0.95 * best;
            best = Math.min(best, passNs);
            if (pass >= 2 && (!improved || System.nanoTime() - startNs > MIN_WARMUP_NS)) {
                return;
            }
        }
    }

    /** Batch sizes whose LM head is measured: the decode batches and the largest table entry. */
    static List<Integer> headBatches(ProfileGrid g) {
        List<Integer> out = new ArrayList<>(g.decodeBatches());
        if (!out.contains(g.tokenCounts().getLast())) {
            out.add(g.tokenCounts().getLast());
        }
        return out;
    }

    static long kvTokensNeeded(ProfileGrid g) {
        long need = StepTimer.kvTokensNeeded(g.tokenCounts().getLast(), 1, 0, BLOCK_SIZE);
        for (int b : g.decodeBatches()) {
            need = Math.max(need, StepTimer.kvTokensNeeded(b, 1, g.maxContext(), BLOCK_SIZE));
        }
        for (int p : g.prefillChunks()) {
            need = Math.max(need, StepTimer.kvTokensNeeded(1, p, g.maxContext(), BLOCK_SIZE));
        }
        return need;
    }

    private static StepMeasurement measure(
            StepTimer timer,
            ProfileGrid g,
            StepMeasurement.Kind kind,
            int sequences,
            int tokensPerSequence,
            int context,
            int adapters,
            int rank,
            boolean logits) {
        long[] ns = timer.time(sequences, tokensPerSequence, context, adapters, logits, g.warmup(), g.repetitions());
        return new StepMeasurement(
                kind,
                sequences,
                tokensPerSequence,
                context,
                adapters,
                rank,
                logits,
                StepTimer.median(ns),
                ns[0],
                ns[ns.length - 1],
                ns.length);
    }

    /** The most sequences of one measured step (the CUDA backend sizes its step buffers by it). */
    static int maxSequences(ProfileGrid g) {
        int n = 1;
        for (List<Integer> l : List.of(g.tokenCounts(), headBatches(g), g.decodeBatches(), g.loraBatches())) {
            for (int b : l) {
                n = Math.max(n, b);
            }
        }
        return n;
    }

    private static AdapterLoadMeasurement measureLoad(Backend backend, LoraAdapter adapter, int rank, ProfileGrid g) {
        int slot = 0;
        long bytes = 0;
        for (int i = 0; i < g.warmup(); i++) {
            bytes = backend.loadAdapter(slot, adapter);
        }
        long[] ns = new long[g.repetitions()];
        for (int i = 0; i < ns.length; i++) {
            long start = System.nanoTime();
            bytes = backend.loadAdapter(slot, adapter);
            ns[i] = Math.max(1, System.nanoTime() - start);
        }
        Arrays.sort(ns);
        return new AdapterLoadMeasurement(rank, bytes, StepTimer.median(ns), ns.length);
    }
}
