package io.twinserve.traces.stats;

import java.util.List;

/**
 * The statistics of one trace, as {@code twinserve trace stats} prints them.
 *
 * @param interarrivalCv coefficient of variation of the gaps between arrivals (1 for Poisson)
 * @param prefixReuseRatio share of prefix blocks that continue a prefix already seen earlier in the
 *     trace: the KV hit rate of an unbounded prefix cache; NaN without hashes
 */
public record TraceSummary(
        String source,
        long requests,
        double spanS,
        double meanRatePerS,
        double interarrivalCv,
        Lengths prompt,
        Lengths output,
        long baseRequests,
        List<AdapterShare> adapters,
        long sessions,
        double meanTurnsPerSession,
        int prefixBlockSize,
        long prefixBlocks,
        double prefixReuseRatio,
        long skippedLines,
        long droppedRecords) {

    /** Token-count statistics. */
    public record Lengths(double mean, int p50, int p90, int p99, int max) {}

    /** One adapter's request count and share of all requests. */
    public record AdapterShare(String adapter, long requests, double share) {}
}
