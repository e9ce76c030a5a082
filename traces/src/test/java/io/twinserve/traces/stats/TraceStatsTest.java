package io.twinserve.traces.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import org.junit.jupiter.api.Test;

/** Statistics computed in one pass are exact where they can be. */
class TraceStatsTest {

    @Test
    void percentilesAreExactNearestRank() {
        TraceStats s = new TraceStats();
        for (int i = 1; i <= 100; i++) {
            s.add(Request.of(i, i * 1_000_000_000L, null, i, 101 - i));
        }
        TraceSummary sum = s.summary("t", 0, 0);
        assertThat(sum.prompt()).isEqualTo(new TraceSummary.Lengths(50.5, 50, 90, 99, 100));
        assertThat(sum.output().p99()).isEqualTo(99);
        assertThat(sum.requests()).isEqualTo(100);
        assertThat(sum.spanS()).isEqualTo(99.0);
        assertThat(sum.meanRatePerS()).isEqualTo(1.0);
        assertThat(sum.interarrivalCv()).isEqualTo(0.0);
    }

    @Test
    void hugeLengthsBeyondTheDenseRangeStillGiveExactPercentiles() {
        TraceStats s = new TraceStats();
        int[] values = {5, 20_000_000, 30_000_000, 7};
        for (int i = 0; i < values.length; i++) {
            s.add(Request.of(i, i, null, values[i], 1));
        }
        TraceSummary sum = s.summary("t", 0, 0);
        assertThat(sum.prompt().max()).isEqualTo(30_000_000);
        assertThat(sum.prompt().p50()).isEqualTo(7);
        assertThat(sum.prompt().p90()).isEqualTo(30_000_000);
        assertThat(sum.prompt().p99()).isEqualTo(30_000_000);
    }

    @Test
    void interArrivalCvOfAlternatingGaps() {
        // gaps alternate 1 s and 3 s: mean 2, sample std sqrt(n/(n-1)), cv about 0.5
        TraceStats s = new TraceStats();
        long t = 0;
        for (int i = 0; i < 1001; i++) {
            s.add(Request.of(i, t, null, 1, 1));
            t += (i % 2 == 0 ? 1 : 3) * 1_000_000_000L;
        }
        assertThat(s.summary("t", 0, 0).interarrivalCv()).isCloseTo(0.5, within(0.001));
    }

    @Test
    void prefixReuseCountsOnlyBlocksThatContinueASeenPrefix() {
        TraceStats s = new TraceStats();
        s.add(new Request(0, 0, null, -1, null, 48, 1, 16, new long[] {1, 2, 3}));
        s.add(new Request(1, 1, null, -1, null, 48, 1, 16, new long[] {1, 2, 4}));
        // block 2 was seen, but after an unseen first block it is not a reusable prefix
        s.add(new Request(2, 2, null, -1, null, 32, 1, 16, new long[] {5, 2}));
        TraceSummary sum = s.summary("t", 0, 0);
        assertThat(sum.prefixBlocks()).isEqualTo(8);
        assertThat(sum.prefixReuseRatio()).isEqualTo(2.0 / 8);
        assertThat(sum.prefixBlockSize()).isEqualTo(16);
    }

    @Test
    void adaptersAreListedByRequestsThenIdWithTheirShares() {
        TraceStats s = new TraceStats();
        String[] adapters = {"b", "a", "b", null, "c", "a"};
        for (int i = 0; i < adapters.length; i++) {
            s.add(Request.of(i, i, adapters[i], 1, 1));
        }
        TraceSummary sum = s.summary("t", 0, 0);
        assertThat(sum.baseRequests()).isEqualTo(1);
        assertThat(sum.adapters())
                .extracting(TraceSummary.AdapterShare::adapter)
                .containsExactly("a", "b", "c");
        assertThat(sum.adapters().get(0).share()).isEqualTo(2.0 / 6);
    }

    @Test
    void sessionsAndTheirMeanTurnsAreCounted() {
        TraceStats s = new TraceStats();
        s.add(new Request(0, 0, "x", 0, null, 1, 1, 0, null));
        s.add(new Request(1, 1, "y", 0, null, 1, 1, 0, null));
        s.add(new Request(2, 2, "x", 1, null, 1, 1, 0, null));
        s.add(Request.of(3, 3, null, 1, 1));
        TraceSummary sum = s.summary("t", 0, 0);
        assertThat(sum.sessions()).isEqualTo(2);
        assertThat(sum.meanTurnsPerSession()).isEqualTo(1.5);
    }
}
