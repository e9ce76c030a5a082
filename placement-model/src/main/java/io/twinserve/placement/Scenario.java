package io.twinserve.placement;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One cell of a sweep: a workload on a configuration.
 *
 * @param index position in the sweep's grid order (stable: shards and samples refer to it)
 * @param workload index of the workload (the same traffic for every configuration and model)
 * @param rates per-adapter rates of the three tiers, highest first
 * @param kvCacheLen requested KV capacity in tokens; 0 means from memory
 * @param cv arrival coefficient of variation (1: Poisson)
 * @param skew popularity within each tier ({@link SweepSpec#tierSkew}; 0: even)
 * @param perAdapter each adapter's rate, busiest first, instead of the tiers' (a share of a user's workload
 *     that {@code plan --verify} runs); null: from {@code rates} and {@code skew}
 */
public record Scenario(
        long index,
        long workload,
        SweepSpec.ModelEntry model,
        SweepSpec.PoolEntry pool,
        SweepSpec.LengthShape lengths,
        double cv,
        List<Integer> ranks,
        double[] rates,
        int served,
        int slots,
        int tp,
        int kvCacheLen,
        double skew,
        double[] perAdapter) {

    /** A scenario whose adapters' rates follow its tiers and skew. */
    public Scenario(
            long index,
            long workload,
            SweepSpec.ModelEntry model,
            SweepSpec.PoolEntry pool,
            SweepSpec.LengthShape lengths,
            double cv,
            List<Integer> ranks,
            double[] rates,
            int served,
            int slots,
            int tp,
            int kvCacheLen,
            double skew) {
        this(index, workload, model, pool, lengths, cv, ranks, rates, served, slots, tp, kvCacheLen, skew, null);
    }

    public Scenario {
        if (perAdapter != null && perAdapter.length != served) {
            throw new IllegalArgumentException(
                    "perAdapter holds " + perAdapter.length + " rates for " + served + " adapters");
        }
    }

    /** Each adapter's rate: {@link #perAdapter} when given, else {@link #adapterRates(int, double[], double)}. */
    public double[] adapterRates() {
        return perAdapter != null ? perAdapter.clone() : adapterRates(served, rates, skew);
    }

    /** Requests per second over all adapters: a third of the adapters at each tier's rate. */
    public double requestRate() {
        return perAdapter != null ? Arrays.stream(perAdapter).sum() : requestRate(served, rates);
    }

    /** Adapters over which a skewed family is described ({@link #described}): enough for the profile's limit. */
    static final int DESCRIBED_OVER = 3000;

    /**
     * The workload as the placement models see it, {@code {rate_high, rate_mid, rate_low, skew}}: with even
     * tiers, the tiers' rates; with skew, the per-adapter rates of {@link #DESCRIBED_OVER} adapters described
     * as a workload spec's are ({@link WorkloadRequests#describe}), since a skewed tier's quietest adapters
     * fall below the next tier's busiest and a user's workload names no tiers: sorted, its thirds' means
     * and their skew. The same for every served count, so a family keeps one description.
     */
    public double[] described() {
        return perAdapter != null ? WorkloadRequests.describe(perAdapter) : described(rates, skew);
    }

    /** As {@link #described()}, for tier rates and a skew. */
    public static double[] described(double[] rates, double skew) {
        if (skew == 0) {
            return new double[] {rates[0], rates[1], rates[2], 0};
        }
        double[] d = WorkloadRequests.describe(adapterRates(DESCRIBED_OVER, rates, skew));
        for (int i = 0; i < 3; i++) {
            // four significant digits: the rows' text stays short and the family's key stable
            d[i] = Double.parseDouble(String.format(Locale.ROOT, "%.4g", d[i]));
        }
        return d;
    }

    /**
     * Each adapter's rate: {@code served} adapters in three contiguous tiers (as the generator splits them),
     * each tier's traffic spread over its m adapters, busiest first, in shares
     * {@code ((j+1)/m)^(1-skew) - (j/m)^(1-skew)}, so that the tier's mean rate is its rate.
     */
    public static double[] adapterRates(int served, double[] rates, double skew) {
        double[] out = new double[served];
        int[] start = new int[4];
        for (int t = 0; t < 3; t++) {
            // the first adapter of tier t: the least i with i*3/served >= t
            start[t] = (int) (((long) t * served + 2) / 3);
        }
        start[3] = served;
        for (int t = 0; t < 3; t++) {
            int m = start[t + 1] - start[t];
            for (int j = 0; j < m; j++) {
                out[start[t] + j] = skew == 0
                        ? rates[t]
                        : rates[t] * m * (Math.pow((j + 1.0) / m, 1 - skew) - Math.pow((double) j / m, 1 - skew));
            }
        }
        return out;
    }

    /**
     * The total rate of {@code served} adapters split into three contiguous tiers (as the generator does): the
     * adapters' rates added one by one in adapter order, so that a sweep's arrival rate is the same to the last bit
     * as it always was. The planner asks it for every feature vector (offered load, twice per vector, several
     * vectors a plan at the same few served counts), where a sum over 384 adapters was a third of a plan's time:
     * the last answers are kept in a small table, keyed by the served count and the rates' values.
     */
    public static double requestRate(int served, double[] rates) {
        int slot = (served * 0x9E3779B9) >>> 28;
        RateMemo m = RATE_MEMO[slot];
        if (m != null && m.served == served && Arrays.equals(m.rates, rates)) {
            return m.sum;
        }
        double sum = 0;
        for (int i = 0; i < served; i++) {
            sum += rates[(int) ((long) i * rates.length / served)];
        }
        // entries are immutable and a reference is written whole: a race loses an entry, never mixes two
        RATE_MEMO[slot] = new RateMemo(served, rates.clone(), sum);
        return sum;
    }

    private record RateMemo(int served, double[] rates, double sum) {}

    private static final RateMemo[] RATE_MEMO = new RateMemo[16];
}
