package io.twinserve.twin.metrics;

import org.HdrHistogram.Histogram;

/**
 * A latency histogram in microseconds (HdrHistogram, 3 significant digits) that knows its mean without a
 * scan.
 *
 * <p>It resizes itself as values grow, from 0.1 s up, with the buckets of a histogram sized for the largest
 * value: a fixed-size one allocated and scanned about 270 KB per histogram and run, a large part of a
 * light-load run's fixed cost. The mean is HdrHistogram's own (every value counted at its bucket's
 * median-equivalent value), kept as an exact sum as values are recorded instead of a walk over every bucket (HdrHistogram sums in
 * doubles, so the two agree while the sum stays below 2^53 microseconds).
 */
public final class LatencyHistogram {
    private final Histogram h = new Histogram(100000L, 3);
    private long sumOfMedians;

    public LatencyHistogram() {
        h.setAutoResize(true);
    }

    public void recordValue(long micros) {
        h.recordValue(micros);
        sumOfMedians += h.medianEquivalentValue(micros);
    }

    public void recordValueWithCount(long micros, long count) {
        h.recordValueWithCount(micros, count);
        sumOfMedians += h.medianEquivalentValue(micros) * count;
    }

    /** The smallest value above {@code micros} that falls in another bucket. */
    public long nextNonEquivalentValue(long micros) {
        return h.nextNonEquivalentValue(micros);
    }

    public long count() {
        return h.getTotalCount();
    }

    /** The distribution in milliseconds. */
    public Latency latency() {
        long n = h.getTotalCount();
        if (n == 0) {
            return Latency.of(h);
        }
        return new Latency(
                n,
                Latency.round((double) sumOfMedians / n / 1000),
                Latency.ms(h.getValueAtPercentile(50)),
                Latency.ms(h.getValueAtPercentile(90)),
                Latency.ms(h.getValueAtPercentile(99)),
                Latency.ms(h.getMaxValue()),
                Latency.quantiles(h));
    }
}
