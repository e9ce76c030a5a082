package io.twinserve.twin.sim;

/**
 * How long to simulate and what to record.
 *
 * @param windowNs the measurement window [0, window); null means until the last arrival
 * @param drain keep simulating after the window until every admitted request finishes (latencies of the
 *     tail); throughput still counts the window only
 * @param recordRequests keep a record per request (for --requests-out)
 * @param defaultAdapterRank rank of adapters the workload does not describe
 * @param preloadAdapters every adapter starts in host memory (up to max_cpu_adapters), as when a
 *     benchmark warms the server up; otherwise first loads come from storage
 * @param stopWhenStarving stop a windowed run as soon as its starvation is settled (see
 *     {@link io.twinserve.twin.metrics.RequestTallies#starvationSettled}) and measure it over the time
 *     simulated so far: what a sweep needs of an overloaded configuration is that it starves and the
 *     throughput it sustains, not an hour of a queue growing without bound
 */
public record RunOptions(
        Long windowNs,
        boolean drain,
        boolean recordRequests,
        int defaultAdapterRank,
        boolean preloadAdapters,
        boolean stopWhenStarving) {

    public RunOptions(
            Long windowNs, boolean drain, boolean recordRequests, int defaultAdapterRank, boolean preloadAdapters) {
        this(windowNs, drain, recordRequests, defaultAdapterRank, preloadAdapters, false);
    }

    public static RunOptions defaults() {
        return new RunOptions(null, false, false, 16, true);
    }

    public RunOptions withRecordRequests(boolean record) {
        return new RunOptions(windowNs, drain, record, defaultAdapterRank, preloadAdapters, stopWhenStarving);
    }

    public RunOptions withWindowNs(Long window) {
        return new RunOptions(window, drain, recordRequests, defaultAdapterRank, preloadAdapters, stopWhenStarving);
    }

    public RunOptions withDrain(boolean d) {
        return new RunOptions(windowNs, d, recordRequests, defaultAdapterRank, preloadAdapters, stopWhenStarving);
    }

    public RunOptions withStopWhenStarving(boolean stop) {
        return new RunOptions(windowNs, drain, recordRequests, defaultAdapterRank, preloadAdapters, stop);
    }
}
