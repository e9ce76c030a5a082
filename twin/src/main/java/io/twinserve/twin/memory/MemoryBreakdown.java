package io.twinserve.twin.memory;

/**
 * Where a replica's per-GPU memory goes, in bytes.
 *
 * @param budgetBytes GPU memory times gpu_memory_utilization
 * @param kvCacheTokens the KV cache's capacity in tokens (a multiple of the block size)
 */
public record MemoryBreakdown(
        long budgetBytes,
        long weightBytes,
        long adapterSlotBytes,
        long activationBytes,
        long kvCacheBytes,
        long kvCacheTokens) {

    public long usedBytes() {
        return weightBytes + adapterSlotBytes + activationBytes + kvCacheBytes;
    }

    public static double gib(long bytes) {
        return bytes / (double) (1L << 30);
    }
}
