package io.twinserve.experiments.shadow;

import java.util.Arrays;

/**
 * One side's figures over one window (the twin's or the live deployment's), computed by the same function
 * for both from per-request times.
 *
 * @param requests requests that arrived in the window and got a first token
 * @param outputTokensPerS output tokens generated within the window (every request's first token at its
 *     time, its other tokens spread evenly up to its last), over the window's length
 * @param ttftP50Ms median arrival-to-first-token of the window's requests (NaN without any)
 * @param ttftP90Ms its 90th percentile (nearest rank)
 * @param itlMeanMs the mean over the window's requests of two or more tokens of their mean gap between tokens
 *     (NaN without any)
 */
public record WindowFigures(
        int requests, double outputTokensPerS, double ttftP50Ms, double ttftP90Ms, double itlMeanMs) {

    /**
     * @param arrivalNs, firstTokenNs, endNs, tokens per request (firstTokenNs -1: none)
     * @param inWindow whether each request arrived in the window (the others only add tokens)
     * @param fromNs, toNs the window, on the same clock
     */
    static WindowFigures of(
            long[] arrivalNs,
            long[] firstTokenNs,
            long[] endNs,
            int[] tokens,
            boolean[] inWindow,
            long fromNs,
            long toNs) {
        int n = arrivalNs.length;
        long[] ttft = new long[n];
        int t = 0;
        double itlSum = 0;
        int itlCount = 0;
        double generated = 0;
        for (int i = 0; i < n; i++) {
            long first = firstTokenNs[i];
            if (first < 0) {
                continue;
            }
            if (first >= fromNs && first < toNs) {
                generated++;
            }
            if (tokens[i] > 1 && endNs[i] > first) {
                // the other tokens evenly over (first, end]
                long overlap = Math.min(endNs[i], toNs) - Math.max(first, fromNs);
                if (overlap > 0) {
                    generated += (tokens[i] - 1) * (double) overlap / (endNs[i] - first);
                }
            }
            if (!inWindow[i]) {
                continue;
            }
            ttft[t++] = first - arrivalNs[i];
            if (tokens[i] > 1) {
                itlSum += (endNs[i] - first) / (double) (tokens[i] - 1);
                itlCount++;
            }
        }
        long[] sorted = Arrays.copyOf(ttft, t);
        Arrays.sort(sorted);
        return new WindowFigures(
                t,
                generated / ((toNs - fromNs) / 1e9),
                t == 0 ? Double.NaN : percentile(sorted, 0.5) / 1e6,
                t == 0 ? Double.NaN : percentile(sorted, 0.9) / 1e6,
                itlCount == 0 ? Double.NaN : itlSum / itlCount / 1e6);
    }

    /** The nearest-rank percentile of sorted values. */
    private static long percentile(long[] sorted, double q) {
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** The figure of this name: throughput, ttft_p50, ttft_p90 or itl_mean. */
    public double figure(String name) {
        return switch (name) {
            case "throughput" -> outputTokensPerS;
            case "ttft_p50" -> ttftP50Ms;
            case "ttft_p90" -> ttftP90Ms;
            case "itl_mean" -> itlMeanMs;
            default -> throw new IllegalArgumentException("no figure " + name);
        };
    }
}
