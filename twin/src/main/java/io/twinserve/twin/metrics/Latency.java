package io.twinserve.twin.metrics;

import org.HdrHistogram.Histogram;

/** A latency distribution summary in milliseconds. */
public record Latency(long count, double meanMs, double p50Ms, double p90Ms, double p99Ms, double maxMs) {

    public static Latency of(Histogram h) {
        if (h.getTotalCount() == 0) {
            return new Latency(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        return new Latency(
                h.getTotalCount(),
                round(h.getMean() / 1000),
                ms(h.getValueAtPercentile(50)),
                ms(h.getValueAtPercentile(90)),
                ms(h.getValueAtPercentile(99)),
                ms(h.getMaxValue()));
    }

    static double ms(long micros) {
        return round(micros / 1000.0);
    }

    /** Rounded to 0.001 ms so that printed JSON is stable and readable. */
    static double round(double ms) {
        return Math.round(ms * 1000.0) / 1000.0;
    }
}
