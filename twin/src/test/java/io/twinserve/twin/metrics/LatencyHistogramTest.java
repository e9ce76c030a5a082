package io.twinserve.twin.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LatencyHistogramTest {
    // the figures must be exactly those of recording into an HdrHistogram (see LatencyHistogram)

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void itsFiguresAreThoseOfAFixedSizeHistogramOverTheWholeRange(int seed) {
        // the histogram the twin used before: sized for 1,000 hours in microseconds, mean by a walk of its buckets
        Histogram fixed = new Histogram(1000L * 3600 * 1_000_000, 3);
        LatencyHistogram grown = new LatencyHistogram();
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < 20_000; i++) {
            // from microseconds to hours, so that it resizes many times
            // a twentieth below 4,100 µs, where the first bucket counts every microsecond
            long v = r.nextInt(20) == 0 ? r.nextInt(4100) : (long) Math.exp(r.nextDouble(0, Math.log(3.6e9)));
            if (r.nextInt(4) == 0) {
                long count = 1 + r.nextInt(500);
                fixed.recordValueWithCount(v, count);
                grown.recordValueWithCount(v, count);
            } else {
                fixed.recordValue(v);
                grown.recordValue(v);
            }
            if (i % 997 == 0) {
                assertThat(grown.nextNonEquivalentValue(v)).isEqualTo(fixed.nextNonEquivalentValue(v));
            }
        }
        assertThat(grown.count()).isEqualTo(fixed.getTotalCount());
        assertThat(grown.latency()).isEqualTo(Latency.of(fixed));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void anEmptyOrOneValueHistogramReportsLikeTheFixedOne(int values) {
        Histogram fixed = new Histogram(1000L * 3600 * 1_000_000, 3);
        LatencyHistogram grown = new LatencyHistogram();
        for (int i = 0; i < values; i++) {
            fixed.recordValue(i == 0 ? 123_456 : 0);
            grown.recordValue(i == 0 ? 123_456 : 0);
        }
        assertThat(grown.latency()).isEqualTo(Latency.of(fixed));
    }

    @Test
    void onlyZerosReportZero() {
        Histogram fixed = new Histogram(1000L * 3600 * 1_000_000, 3);
        LatencyHistogram grown = new LatencyHistogram();
        fixed.recordValueWithCount(0, 7);
        grown.recordValueWithCount(0, 7);
        assertThat(grown.latency()).isEqualTo(Latency.of(fixed));
    }

    @Test
    void aNegativeLatencyIsRefusedWithItsValue() {
        assertThatThrownBy(() -> new LatencyHistogram().recordValue(-5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-5 µs");
    }
}
