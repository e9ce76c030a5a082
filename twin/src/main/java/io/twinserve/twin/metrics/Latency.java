package io.twinserve.twin.metrics;

import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * A latency distribution summary in milliseconds: count, mean, the usual percentiles, and the distribution itself
 * as the values at {@link #QUANTILES} (a CDF a chart draws).
 *
 * @param quantilesMs the values at {@link #QUANTILES}, in order (empty when nothing was recorded)
 */
public record Latency(
        long count, double meanMs, double p50Ms, double p90Ms, double p99Ms, double maxMs, List<Double> quantilesMs) {

    /** The percentiles of {@link #quantilesMs}: enough points to draw the distribution's shape and its tail. */
    public static final List<Double> QUANTILES =
            List.of(1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0, 99.9, 100.0);

    public Latency {
        quantilesMs = List.copyOf(quantilesMs);
    }

    public static Latency of(Histogram h) {
        if (h.getTotalCount() == 0) {
            return empty();
        }
        return new Latency(
                h.getTotalCount(),
                round(h.getMean() / 1000),
                ms(h.getValueAtPercentile(50)),
                ms(h.getValueAtPercentile(90)),
                ms(h.getValueAtPercentile(99)),
                ms(h.getMaxValue()),
                quantiles(h));
    }

    static Latency empty() {
        return new Latency(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, List.of());
    }

    /** The values of {@code h} (in µs) at {@link #QUANTILES}, in ms. */
    static List<Double> quantiles(Histogram h) {
        List<Double> out = new ArrayList<>(QUANTILES.size());
        for (double q : QUANTILES) {
            out.add(q >= 100 ? ms(h.getMaxValue()) : ms(h.getValueAtPercentile(q)));
        }
        return out;
    }

    static double ms(long micros) {
        return round(micros / 1000.0);
    }

    /** Rounded to 0.001 ms so that printed JSON is stable and readable. */
    static double round(double ms) {
        return Math.round(ms * 1000.0) / 1000.0;
    }
}
