package io.twinserve.engine.live;

import io.twinserve.engine.backend.Backend;
import io.twinserve.twin.sched.SchedulerConfig;

/**
 * The live loop's scheduling limits (the KV cache size, block size and adapter slots come from the
 * backend, so the scheduler's bookkeeping matches the memory that really exists).
 */
public record LiveConfig(
        int maxNumSeqs,
        int maxNumBatchedTokens,
        boolean chunkedPrefill,
        boolean prefixCaching,
        int maxCpuAdapters,
        int maxModelLen) {
    public LiveConfig {
        if (maxNumSeqs < 1 || maxNumBatchedTokens < 1 || maxCpuAdapters < 0 || maxModelLen < 2) {
            throw new IllegalArgumentException("live config needs max_num_seqs >= 1 (" + maxNumSeqs
                    + "), max_num_batched_tokens >= 1 (" + maxNumBatchedTokens + "), max_cpu_adapters >= 0 ("
                    + maxCpuAdapters + ") and max_model_len >= 2 (" + maxModelLen + ")");
        }
    }

    /**
     * The twin's scheduler configuration for these limits over {@code backend}: its KV cache, block size,
     * adapter slots and slot rank; adapter loads stall the step (the loop loads synchronously).
     */
    public SchedulerConfig schedulerConfig(Backend backend) {
        return new SchedulerConfig(
                maxNumSeqs,
                maxNumBatchedTokens,
                chunkedPrefill,
                backend.blockSize(),
                backend.kvCacheTokens(),
                prefixCaching,
                backend.adapterSlots(),
                maxCpuAdapters,
                backend.maxAdapterRank(),
                maxModelLen,
                false);
    }

    /** vLLM-like defaults sized for the CPU backend. */
    public static LiveConfig defaults(int maxModelLen) {
        return new LiveConfig(32, 512, true, true, 16, maxModelLen);
    }
}
