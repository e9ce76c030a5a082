package io.twinserve.engine.backend.sim;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.live.AdapterLoader;
import io.twinserve.engine.live.LiveConfig;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.sched.SchedulerConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * A backend that runs no model: a step waits what the twin's performance model predicts for the
 * scheduler's step shape, divided by a time scale, and returns logits that pick placeholder words; an
 * adapter copy into a slot, and a profile-only adapter's read from storage, wait their predicted times.
 * Under the live loop it makes a deployment's twin serve requests on the wall clock.
 *
 * <p>Adapter loads stall the step that needs them, as the twin prices {@code adapter_load: sync}; with
 * {@code async} the twin overlaps them with running steps and this backend does not. Called from the
 * live loop's thread only.
 */
public final class SimulatedBackend implements Backend {
    /** The slowest time scale accepted: a thousand times slower than real time. */
    public static final double MIN_TIME_SCALE = 1e-3;
    // park until this close to the deadline, then spin: parking overshoots by tens of microseconds
    private static final long SPIN_NS = 50_000;
    // waits shorter than this are skipped: the wait itself costs about as much
    private static final long MIN_WAIT_NS = 5_000;
    // a wait that starts this soon after the previous deadline continues from it (see waitFor)
    private static final long CHAIN_NS = 2_000_000;
    /** The placeholder word's logit; the others lie in (10, 20]. */
    static final float CHOSEN_LOGIT = 80f;

    /**
     * What the backend has done: predicted times are the twin's (real-time ns), waited is wall-clock
     * time spent waiting, which the time scale shortens.
     */
    public record Stats(
            long steps,
            long predictedStepNs,
            long adapterLoads,
            long storageLoads,
            long predictedAdapterLoadNs,
            long waitedNs) {}

    private final PerfModel perf;
    private final SchedulerConfig scheduler;
    private final ModelConfig served;
    private final ModelConfig config;
    private final double timeScale;
    private final String[] slotAdapter;
    private long lastDeadlineNs;
    private boolean waitedBefore;
    private long steps;
    private long predictedStepNs;
    private long adapterLoads;
    private long storageLoads;
    private long predictedAdapterLoadNs;
    private long waitedNs;
    private volatile Stats stats = new Stats(0, 0, 0, 0, 0, 0);

    /** A replica of a resolved deployment whose model is known only by its profile. */
    public SimulatedBackend(ResolvedReplica replica, double timeScale) {
        this(replica.perf(), replica.scheduler(), modelConfig(replica.model()), timeScale);
    }

    /**
     * @param perf prices steps and adapter loads
     * @param scheduler the replica's limits: KV cache, block size, adapter slots and their rank
     * @param served the served model's configuration (its own {@code config.json} where there is one)
     * @param timeScale how many times faster than real time to run, at least {@link #MIN_TIME_SCALE}
     */
    public SimulatedBackend(PerfModel perf, SchedulerConfig scheduler, ModelConfig served, double timeScale) {
        requireTimeScale(timeScale);
        this.perf = perf;
        this.scheduler = scheduler;
        this.served = served;
        this.timeScale = timeScale;
        // sampling reads placeholder words, and no id is an end-of-sequence token
        this.config = new ModelConfig(
                served.architecture(),
                served.hiddenSize(),
                served.intermediateSize(),
                served.numLayers(),
                served.numHeads(),
                served.numKvHeads(),
                served.headDim(),
                PlaceholderVocabulary.SIZE,
                served.rmsNormEps(),
                served.ropeTheta(),
                served.ropeScaling(),
                served.tieWordEmbeddings(),
                served.attentionBias(),
                served.maxPositionEmbeddings(),
                served.slidingWindow(),
                served.dtype(),
                -1,
                List.of());
        this.slotAdapter = new String[scheduler.maxAdapters()];
    }

    /** Refuses a time scale below {@link #MIN_TIME_SCALE}, infinite or not a number. */
    public static void requireTimeScale(double timeScale) {
        if (!(timeScale >= MIN_TIME_SCALE) || Double.isInfinite(timeScale)) {
            throw new IllegalArgumentException(
                    "time_scale must be a finite number >= " + MIN_TIME_SCALE + ", got " + timeScale);
        }
    }

    /**
     * A model profile as a {@code config.json} would give it. The profile names no architecture: Qwen and
     * Mistral are recognised by name, anything else is Llama; values the profile lacks take Llama 3's.
     */
    public static ModelConfig modelConfig(ModelProfile profile) {
        String name = profile.name().toLowerCase(Locale.ROOT);
        Architecture architecture = name.contains("qwen3")
                ? Architecture.QWEN3
                : name.contains("qwen")
                        ? Architecture.QWEN2
                        : name.contains("mistral") ? Architecture.MISTRAL : Architecture.LLAMA;
        // fp8 weights have no engine dtype; bf16 is what such checkpoints compute in
        DType dtype = switch (profile.dtype()) {
            case "fp32" -> DType.F32;
            case "fp16" -> DType.F16;
            default -> DType.BF16;
        };
        return new ModelConfig(
                architecture,
                profile.hiddenSize(),
                profile.intermediateSize(),
                profile.layers(),
                profile.heads(),
                profile.kvHeads(),
                profile.headDim(),
                profile.vocabSize(),
                1e-5,
                500_000.0,
                null,
                profile.tiedEmbeddings(),
                architecture.qkvBias(),
                profile.maxModelLen(),
                0,
                dtype,
                -1,
                List.of());
    }

    /** The live loop's limits that match the replica's scheduler, so both batch alike. */
    public LiveConfig liveConfig() {
        return new LiveConfig(
                scheduler.maxNumSeqs(),
                scheduler.maxNumBatchedTokens(),
                scheduler.chunkedPrefill(),
                scheduler.prefixCaching(),
                scheduler.maxCpuAdapters(),
                scheduler.maxModelLen());
    }

    /**
     * A loader for a profile-only adapter of {@code rank}: it waits the predicted read from storage and
     * returns a weightless adapter.
     */
    public AdapterLoader adapterLoader(int rank) {
        if (rank < 1 || rank > scheduler.maxAdapterRank()) {
            throw new IllegalArgumentException(
                    "adapter rank must be from 1 to max_adapter_rank " + scheduler.maxAdapterRank() + ", got " + rank);
        }
        return (name, base) -> {
            long predicted = perf.adapterLoadFromStorageNs(rank);
            waitedNs += waitFor(predicted);
            storageLoads++;
            predictedAdapterLoadNs += predicted;
            publish();
            return LoraAdapter.weightless(name, rank);
        };
    }

    /** The served model's configuration, with its real vocabulary. */
    public ModelConfig servedModel() {
        return served;
    }

    public double timeScale() {
        return timeScale;
    }

    public Stats stats() {
        return stats;
    }

    /** The model with the placeholder vocabulary, whose ids prompts and samples use. */
    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public long kvCacheTokens() {
        return scheduler.kvCacheTokens();
    }

    @Override
    public int blockSize() {
        return scheduler.blockSize();
    }

    @Override
    public int adapterSlots() {
        return scheduler.maxAdapters();
    }

    @Override
    public int maxAdapterRank() {
        return scheduler.maxAdapterRank();
    }

    /** Waits the predicted copy from host memory into a slot reserved at {@code max_adapter_rank}. */
    @Override
    public long loadAdapter(int slot, LoraAdapter adapter) {
        long predicted = perf.adapterLoadFromCpuNs(adapter.rank(), scheduler.maxAdapterRank());
        waitedNs += waitFor(predicted);
        slotAdapter[slot] = adapter.name();
        adapterLoads++;
        predictedAdapterLoadNs += predicted;
        publish();
        return adapter.bytes();
    }

    /** The name of the adapter last loaded into a slot, or null when it is empty. */
    public String adapterInSlot(int slot) {
        return slotAdapter[slot];
    }

    @Override
    public void unloadAdapter(int slot) {
        slotAdapter[slot] = null;
    }

    /**
     * Waits the predicted time of the batch's step shape ({@link ForwardBatch#stepShape}, which the live
     * loop sets to its scheduler's) and writes logits that make the sampler pick one placeholder word (a
     * function of the sequence's last token and its position) unless a bias or penalty says otherwise.
     */
    @Override
    public void forward(ForwardBatch batch, float[] logits) {
        StepShape shape = batch.stepShape();
        if (shape == null) {
            throw new IllegalArgumentException("the simulated backend prices the scheduler's step shape, but the batch"
                    + " carries none; set ForwardBatch.stepShape");
        }
        long predicted = perf.stepNs(shape);
        int vocab = config.vocabSize();
        batch.assignLogitRows();
        for (int s = 0; s < batch.sequences(); s++) {
            int row = batch.logitRow(s);
            if (row < 0) {
                continue;
            }
            int first = batch.allLogits() ? batch.start(s) : batch.start(s) + batch.count(s) - 1;
            int last = batch.start(s) + batch.count(s) - 1;
            for (int t = first; t <= last; t++, row++) {
                placeholderLogits(
                        logits,
                        row * vocab,
                        vocab,
                        PlaceholderVocabulary.mix(batch.tokenId(t), batch.tokenPosition(t)));
            }
        }
        waitedNs += waitFor(predicted);
        steps++;
        predictedStepNs += predicted;
        publish();
    }

    /**
     * Finite logits that make the placeholder word {@code chosen} the sampler's pick at any temperature up
     * to 2 (it leads the next best by 60, so another word comes less than once in 10^10 tokens) while every
     * other word keeps a distinct, finite logit between 10 and 20: log-probabilities are then real numbers,
     * a logit bias of +100 can still force a word, and a repetition penalty of 5 or more (the word's logit
     * divided by it) lets the best unpenalised word win, as with a real model.
     */
    static void placeholderLogits(float[] logits, int offset, int vocab, int chosen) {
        for (int v = 0; v < vocab; v++) {
            int distance = Math.floorMod(v - chosen, vocab);
            logits[offset + v] = distance == 0 ? CHOSEN_LOGIT : 20f - distance * (10f / vocab);
        }
    }

    /**
     * Waits {@code predictedNs / timeScale} to an absolute deadline; returns the wall-clock ns waited. A
     * wait that starts within {@link #CHAIN_NS} of the previous deadline runs from that deadline, so the
     * loop's own work between back-to-back steps (sampling, streaming) is absorbed instead of adding up.
     */
    private long waitFor(long predictedNs) {
        long target = Math.round(predictedNs / timeScale);
        long start = System.nanoTime();
        long base = waitedBefore && start - lastDeadlineNs <= CHAIN_NS ? lastDeadlineNs : start;
        long deadline = base + target;
        lastDeadlineNs = deadline;
        waitedBefore = true;
        if (deadline - start < MIN_WAIT_NS) {
            return 0;
        }
        for (long left = deadline - start; left > 0; left = deadline - System.nanoTime()) {
            if (left > SPIN_NS) {
                LockSupport.parkNanos(left - SPIN_NS);
            } else {
                Thread.onSpinWait();
            }
        }
        return System.nanoTime() - start;
    }

    private void publish() {
        stats = new Stats(steps, predictedStepNs, adapterLoads, storageLoads, predictedAdapterLoadNs, waitedNs);
    }

    @Override
    public String name() {
        return "simulated";
    }

    @Override
    public void close() {
        Arrays.fill(slotAdapter, null);
    }
}
