package io.twinserve.experiments.validate;

import java.util.Arrays;

/**
 * One side's figures over a whole run (the twin's or the live loop's), computed the same way for both from
 * per-request times measured from the start of the workload.
 *
 * @param makespanS when the last request finished
 * @param outputTokensPerS output tokens over the makespan
 * @param p50TtftMs the median time to first token (the mean of the middle two for an even count)
 * @param adapterLoads adapters moved into a slot
 * @param adapterLoadS time spent on those loads (predicted by the twin, measured by the live loop)
 */
public record SideFigures(
        int requests,
        long promptTokens,
        long outputTokens,
        double makespanS,
        double outputTokensPerS,
        double meanTtftMs,
        double p50TtftMs,
        double meanLatencyMs,
        long steps,
        long preemptions,
        long adapterLoads,
        double adapterLoadS) {

    /**
     * @param ttftNs, latencyNs, finishNs per request; times from the start of the workload
     */
    static SideFigures of(
            long[] ttftNs,
            long[] latencyNs,
            long[] finishNs,
            long promptTokens,
            long outputTokens,
            long steps,
            long preemptions,
            long adapterLoads,
            double adapterLoadS) {
        int n = ttftNs.length;
        long makespan = 0;
        double ttftSum = 0;
        double latencySum = 0;
        for (int i = 0; i < n; i++) {
            makespan = Math.max(makespan, finishNs[i]);
            ttftSum += ttftNs[i];
            latencySum += latencyNs[i];
        }
        double makespanS = makespan / 1e9;
        return new SideFigures(
                n,
                promptTokens,
                outputTokens,
                makespanS,
                outputTokens / makespanS,
                ttftSum / n / 1e6,
                median(ttftNs) / 1e6,
                latencySum / n / 1e6,
                steps,
                preemptions,
                adapterLoads,
                adapterLoadS);
    }

    private static double median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + (double) sorted[n / 2]) / 2;
    }
}
