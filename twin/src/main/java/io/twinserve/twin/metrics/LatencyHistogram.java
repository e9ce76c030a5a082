package io.twinserve.twin.metrics;

import java.util.List;

/**
 * A latency histogram in microseconds with HdrHistogram's buckets at 3 significant digits (every value
 * below 2,048 µs exactly, above that within 0.1%), which knows its mean without a scan.
 *
 * <p>Why not an HdrHistogram: a simulation keeps five of these per deployment, and the twin runs many short
 * simulations (sweeps, searches, training grids). An HdrHistogram allocates and zeroes its whole counts array
 * up front (64 KB from 0.1 s, 190 KB for an hour), copies it whenever a larger value arrives, and walks it
 * once per percentile asked (19 walks for a summary): in a one-hour light-load run that was about a third of
 * the run, in a one-minute one most of it. Here the counts live in one 8 KB block per power of two that
 * holds a value (a TTFT histogram touches two or three), allocated as values arrive, and {@link #latency}
 * finds every percentile in one walk. The layout, the percentile rule (the first bucket whose cumulative
 * count reaches {@code ceil(p / 100 x count)}, reported as its highest value) and the mean (every value at
 * its bucket's middle) are HdrHistogram's, so the figures are exactly those of recording into one (a test
 * compares them).
 */
public final class LatencyHistogram {
    // HdrHistogram's layout for the lowest discernible value 1 and 3 significant digits: 2,048 sub-buckets
    // (the smallest power of two that resolves 2 x 10^3 values), then per further power of two the upper
    // half of them, each twice as wide as the one before
    private static final int HALF_MAGNITUDE = 10;
    private static final int HALF_COUNT = 1 << HALF_MAGNITUDE;
    private static final long SUB_BUCKET_MASK = (2L << HALF_MAGNITUDE) - 1;
    private static final int LEADING_ZERO_COUNT_BASE = 64 - (HALF_MAGNITUDE + 1);
    private static final int BUCKETS = LEADING_ZERO_COUNT_BASE + 1;

    /** Block b counts the values of bucket b: [0, 2048) for b = 0, else [2^(b+10), 2^(b+11)) in 1,024 steps. */
    private final long[][] blocks = new long[BUCKETS][];

    private long total;
    private long sumOfMedians;

    public void recordValue(long micros) {
        recordValueWithCount(micros, 1);
    }

    public void recordValueWithCount(long micros, long count) {
        if (micros < 0) {
            throw new IllegalArgumentException("a latency cannot be negative, got " + micros + " µs");
        }
        int bucket = bucketOf(micros);
        int subBucket = (int) (micros >>> bucket);
        long[] block = blocks[bucket];
        if (block == null) {
            block = blocks[bucket] = new long[bucket == 0 ? 2 * HALF_COUNT : HALF_COUNT];
        }
        block[bucket == 0 ? subBucket : subBucket - HALF_COUNT] += count;
        total += count;
        // the bucket's middle: its lowest value plus half its width
        sumOfMedians += (((long) subBucket << bucket) + ((1L << bucket) >> 1)) * count;
    }

    /** The smallest value above {@code micros} that falls in another bucket. */
    public long nextNonEquivalentValue(long micros) {
        int bucket = bucketOf(micros);
        return ((micros >>> bucket) << bucket) + (1L << bucket);
    }

    public long count() {
        return total;
    }

    /** The distribution in milliseconds. */
    public Latency latency() {
        if (total == 0) {
            return Latency.empty();
        }
        // the quantiles are in ascending order and hold the 50th, 90th and 99th percentiles
        List<Double> quantiles = Latency.QUANTILES;
        long[] values = valuesAt(quantiles);
        Double[] quantileMs = new Double[values.length];
        for (int i = 0; i < values.length; i++) {
            quantileMs[i] = Latency.ms(values[i]);
        }
        return new Latency(
                total,
                Latency.round((double) sumOfMedians / total / 1000),
                quantileMs[quantiles.indexOf(50.0)],
                quantileMs[quantiles.indexOf(90.0)],
                quantileMs[quantiles.indexOf(99.0)],
                Latency.ms(maxValue()),
                List.of(quantileMs));
    }

    /**
     * The values at the percentiles {@code asked} (ascending, each in (0, 100]; 100 is the maximum), in one walk of
     * the buckets, as HdrHistogram's {@code getValueAtPercentile} gives them one by one.
     */
    private long[] valuesAt(List<Double> asked) {
        int n = asked.size();
        long[] values = new long[n];
        int next = 0;
        long target = countAt(asked.getFirst());
        long cumulative = 0;
        for (int bucket = 0; bucket < BUCKETS && next < n; bucket++) {
            long[] block = blocks[bucket];
            if (block == null) {
                continue;
            }
            int first = bucket == 0 ? 0 : HALF_COUNT;
            for (int i = 0; i < block.length && next < n; i++) {
                if (block[i] == 0) {
                    continue;
                }
                cumulative += block[i];
                while (next < n && target <= cumulative) {
                    values[next++] = highestValue(bucket, first + i);
                    target = next < n ? countAt(asked.get(next)) : 0;
                }
            }
        }
        return values;
    }

    /** The count a percentile's bucket must reach, as HdrHistogram computes it. */
    private long countAt(double percentile) {
        double p = Math.min(Math.max(Math.nextAfter(percentile, Double.NEGATIVE_INFINITY), 0.0), 100.0);
        return Math.max(1, (long) Math.ceil(p * total / 100.0));
    }

    /** The highest value of the last non-empty bucket (HdrHistogram's maximum). */
    private long maxValue() {
        for (int bucket = BUCKETS - 1; bucket >= 0; bucket--) {
            long[] block = blocks[bucket];
            if (block != null) {
                int first = bucket == 0 ? 0 : HALF_COUNT;
                for (int i = block.length - 1; i >= 0; i--) {
                    if (block[i] != 0) {
                        return highestValue(bucket, first + i);
                    }
                }
            }
        }
        return 0;
    }

    private static long highestValue(int bucket, int subBucket) {
        return ((long) subBucket << bucket) + (1L << bucket) - 1;
    }

    private static int bucketOf(long micros) {
        return LEADING_ZERO_COUNT_BASE - Long.numberOfLeadingZeros(micros | SUB_BUCKET_MASK);
    }
}
