package io.twinserve.traces.stats;

import java.util.Arrays;

/**
 * Exact counts of non-negative integers, for exact percentiles of token counts in one pass.
 *
 * <p>Values below {@link #DENSE_LIMIT} are counted in a dense array that grows to the largest value
 * seen (at most 64 MiB); larger values, which real traces almost never hold, are kept individually.
 */
final class IntHistogram {
    static final int DENSE_LIMIT = 1 << 24;

    private long[] counts = new long[4096];
    private long[] overflow = new long[0];
    private int overflowSize;
    private long n;
    private long sum;
    private int max;

    void add(int v) {
        if (v < counts.length) {
            counts[v]++;
        } else if (v < DENSE_LIMIT) {
            counts = Arrays.copyOf(counts, Math.min(DENSE_LIMIT, Math.max(v + 1, counts.length * 2)));
            counts[v]++;
        } else {
            if (overflowSize == overflow.length) {
                overflow = Arrays.copyOf(overflow, Math.max(16, overflowSize * 2));
            }
            overflow[overflowSize++] = v;
        }
        n++;
        sum += v;
        if (v > max) {
            max = v;
        }
    }

    long count() {
        return n;
    }

    double mean() {
        return n == 0 ? Double.NaN : (double) sum / n;
    }

    int max() {
        return max;
    }

    /** Nearest-rank percentile: the smallest value with at least {@code q·n} values at or below it. */
    int percentile(double q) {
        if (n == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * n));
        long seen = 0;
        for (int v = 0; v < counts.length; v++) {
            seen += counts[v];
            if (seen >= rank) {
                return v;
            }
        }
        long[] sorted = Arrays.copyOf(overflow, overflowSize);
        Arrays.sort(sorted);
        return (int) sorted[(int) (rank - seen - 1)];
    }
}
