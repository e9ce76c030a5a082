package io.twinserve.placement;

import java.util.List;

/**
 * What the placement models know of a workload and a configuration: the model and pool, the study's
 * workload description (served adapters, three per-adapter rate tiers, a rank triple, mean lengths,
 * burstiness) and the configuration's slots, tp and KV capacity. {@link Features} turns it into the
 * numbers the trees split on.
 *
 * @param rates per-adapter rates of the three tiers (requests/s), highest first
 * @param kvCacheLen requested KV capacity in tokens, 0 for "from memory"
 * @param skew popularity within each tier ({@link SweepSpec#tierSkew}; 0: even)
 */
public record WorkloadFeatures(
        String model,
        String pool,
        int served,
        double[] rates,
        int[] ranks,
        double promptMean,
        double outputMean,
        double cv,
        int slots,
        int tp,
        int kvCacheLen,
        double skew) {

    public static WorkloadFeatures of(SweepRow r) {
        return new WorkloadFeatures(
                r.model(),
                r.pool(),
                r.served(),
                new double[] {r.rate1(), r.rate2(), r.rate3()},
                new int[] {r.rank1(), r.rank2(), r.rank3()},
                r.promptMean(),
                r.outputMean(),
                r.cv(),
                r.slots(),
                r.tp(),
                r.kvCacheLen(),
                r.tierSkew());
    }

    public WorkloadFeatures withServed(int n) {
        return new WorkloadFeatures(
                model, pool, n, rates, ranks, promptMean, outputMean, cv, slots, tp, kvCacheLen, skew);
    }

    public WorkloadFeatures withSlots(int s) {
        return new WorkloadFeatures(
                model, pool, served, rates, ranks, promptMean, outputMean, cv, s, tp, kvCacheLen, skew);
    }

    public WorkloadFeatures withPlacement(String p, int t, int kv) {
        return new WorkloadFeatures(model, p, served, rates, ranks, promptMean, outputMean, cv, slots, t, kv, skew);
    }

    /** Requests per second offered by {@code served} adapters. */
    public double offeredRps() {
        return Scenario.requestRate(served, rates);
    }

    /** Tokens (input + output) per second offered. */
    public double offeredTps() {
        return offeredRps() * (promptMean + outputMean);
    }

    static List<Integer> rankList(int[] r) {
        return List.of(r[0], r[1], r[2]);
    }
}
