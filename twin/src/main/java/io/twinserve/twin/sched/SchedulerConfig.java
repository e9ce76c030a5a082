package io.twinserve.twin.sched;

/**
 * The scheduler's limits, resolved from a replica's configuration.
 *
 * @param kvCacheTokens KV-cache capacity in tokens
 * @param asyncAdapterLoads whether loads overlap steps (true) or stall the step that needs them
 */
public record SchedulerConfig(
        int maxNumSeqs,
        int maxNumBatchedTokens,
        boolean chunkedPrefill,
        int blockSize,
        long kvCacheTokens,
        boolean prefixCaching,
        int maxAdapters,
        int maxCpuAdapters,
        int maxAdapterRank,
        int maxModelLen,
        boolean asyncAdapterLoads) {}
