package io.twinserve.twin.perf;

import java.util.Objects;

/**
 * Prices steps of a replica that decodes speculatively (Leviathan, Kalman and Matias, "Fast Inference
 * from Transformers via Speculative Decoding", ICML 2023): per real step, a draft model proposes k tokens
 * for each decoding sequence, one draft pass per token, and the target verifies all k+1 positions in one
 * pass. With acceptance rate a, a sequence gains E = (1 - a^(k+1)) / (1 - a) tokens per real step on
 * average (the paper's equation 1).
 *
 * <p>The scheduler is unchanged: it still advances each decoding sequence by one token per step. So a
 * scheduler step stands for 1/E of a real step for its decodes and for the whole of its prefill chunks,
 * and costs
 *
 * <pre>T_target(prefills) + [T_target(prefills + decodes of k+1 tokens) - T_target(prefills)
 *     + k · T_draft(decodes)] / E</pre>
 *
 * <p>Inter-token latencies are therefore the per-token mean: a real client receives tokens in bursts of
 * E on average, with a real step between bursts. The draft's passes pay the calibrated per-step and
 * per-sequence overheads like the target's (each repeats the launches and the sampling), read the
 * decodes' contexts as they stood at the start of the step (the k new tokens add at most k to each), and
 * use no adapters. Adapter loads are the target's.
 *
 * <p>Stateless, so one instance may price several simulations at once; each step allocates three small
 * shapes.
 */
public final class SpeculativePerfModel implements PerfModel {
    private final PerfModel target;
    private final PerfModel draft;
    private final int draftSteps;
    private final double acceptanceRate;
    private final double expectedTokens;

    /**
     * @param draftSteps k, the tokens the draft proposes per real step (>= 1)
     * @param acceptanceRate a, the probability the target accepts each draft token, in (0, 1)
     */
    public SpeculativePerfModel(PerfModel target, PerfModel draft, int draftSteps, double acceptanceRate) {
        this.target = Objects.requireNonNull(target, "target");
        this.draft = Objects.requireNonNull(draft, "draft");
        this.draftSteps = draftSteps;
        this.acceptanceRate = acceptanceRate;
        this.expectedTokens = expectedTokens(acceptanceRate, draftSteps);
    }

    /**
     * E = (1 - a^(k+1)) / (1 - a): the mean tokens a sequence gains per real step, the accepted draft
     * tokens plus the one the target samples itself (Leviathan et al. 2023, equation 1).
     */
    public static double expectedTokens(double acceptanceRate, int draftSteps) {
        if (draftSteps < 1) {
            throw new IllegalArgumentException("draft steps must be >= 1, got " + draftSteps);
        }
        if (!(acceptanceRate > 0 && acceptanceRate < 1)) {
            throw new IllegalArgumentException("acceptance rate must be in (0, 1), got " + acceptanceRate);
        }
        return (1 - Math.pow(acceptanceRate, draftSteps + 1)) / (1 - acceptanceRate);
    }

    public int draftSteps() {
        return draftSteps;
    }

    public double acceptanceRate() {
        return acceptanceRate;
    }

    /** E, the mean tokens per decoding sequence per real step. */
    public double expectedTokens() {
        return expectedTokens;
    }

    @Override
    public long stepNs(StepShape step) {
        if (step.decodeSequences == 0) {
            return target.stepNs(step);
        }
        double prefillNs = target.stepNs(step.withoutDecodes());
        double verifyNs = target.stepNs(step.withDecodeTokens(draftSteps + 1));
        StepShape drafts = step.decodesOnly();
        drafts.distinctAdapters = 0;
        drafts.adapterRankSum = 0;
        drafts.adapterTokens = 0;
        double draftNs = draft.stepNs(drafts);
        return (long) (prefillNs + (verifyNs - prefillNs + draftSteps * draftNs) / expectedTokens);
    }

    @Override
    public long adapterLoadFromCpuNs(int rank, int slotRank) {
        return target.adapterLoadFromCpuNs(rank, slotRank);
    }

    @Override
    public long adapterLoadFromStorageNs(int rank) {
        return target.adapterLoadFromStorageNs(rank);
    }

    @Override
    public long requestLatencyNs() {
        return target.requestLatencyNs();
    }
}
