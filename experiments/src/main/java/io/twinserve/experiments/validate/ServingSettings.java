package io.twinserve.experiments.validate;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.live.LiveConfig;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.sched.SchedulerConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The serving settings that the twin and the live loop both run with: the scheduler's limits, the KV
 * cache, the adapter slots and the backend's threads. The twin gets them as its replica spec, the live
 * loop as its backend options and {@link LiveConfig}.
 *
 * @param kvCacheTokens a whole number of blocks (the backend allocates whole blocks)
 * @param maxAdapterRank the twin's slot rank: adapters above it are refused, those below it pay the
 *     padding of a load (the live loop's slots take any rank up to 256)
 * @param threads the CPU backend's threads (the profile's, so that its timings apply)
 */
public record ServingSettings(
        int maxNumSeqs,
        int maxNumBatchedTokens,
        @JsonProperty("kv_cache_len") long kvCacheTokens,
        int blockSize,
        @JsonProperty("max_adapters") int adapterSlots,
        int maxCpuAdapters,
        int maxAdapterRank,
        int maxModelLen,
        boolean chunkedPrefill,
        boolean prefixCaching,
        @JsonProperty("tp") int tensorParallel,
        int threads) {

    public ServingSettings {
        positive("max_num_seqs", maxNumSeqs);
        positive("max_num_batched_tokens", maxNumBatchedTokens);
        positive("block_size", blockSize);
        positive("max_adapter_rank", maxAdapterRank);
        positive("tp", tensorParallel);
        positive("threads", threads);
        if (maxModelLen < 2) {
            throw new IllegalArgumentException("max_model_len must be >= 2, got " + maxModelLen);
        }
        if (kvCacheTokens < blockSize || kvCacheTokens % blockSize != 0) {
            throw new IllegalArgumentException(
                    "kv_cache_len must be a positive multiple of block_size " + blockSize + ", got " + kvCacheTokens);
        }
        if (adapterSlots < 0 || maxCpuAdapters < adapterSlots) {
            throw new IllegalArgumentException("max_adapters must be >= 0 and max_cpu_adapters >= max_adapters, got "
                    + adapterSlots + " and " + maxCpuAdapters);
        }
        if (!chunkedPrefill && maxNumBatchedTokens < maxModelLen) {
            throw new IllegalArgumentException("max_num_batched_tokens (" + maxNumBatchedTokens
                    + ") must be >= max_model_len (" + maxModelLen + ") without chunked prefill");
        }
    }

    /**
     * The settings of a profile's replica spec, with the model's longest sequence where the spec has none.
     * The KV cache is rounded down to whole blocks.
     */
    public static ServingSettings of(ReplicaSpec r, int modelMaxLen, int threads) {
        if (r.kvCacheLen() == null) {
            throw new IllegalArgumentException(
                    "replica.kv_cache_len is required: the live backend allocates its KV cache"
                            + " in tokens, not from gpu_memory_utilization");
        }
        int block = r.blockSize();
        long kv = (long) r.kvCacheLen() / block * block;
        return new ServingSettings(
                r.maxNumSeqs(),
                r.maxNumBatchedTokens(),
                kv,
                block,
                r.maxAdapters(),
                r.maxCpuAdapters(),
                r.maxAdapterRank(),
                r.maxModelLen() != null ? r.maxModelLen() : modelMaxLen,
                r.chunkedPrefill(),
                r.prefixCaching(),
                r.tp(),
                threads);
    }

    /**
     * {@code base} with these settings: adapter loads stall the step that needs them, as the live loop's
     * loads do; its memory utilisation and dtypes are kept.
     */
    public ReplicaSpec replicaSpec(ReplicaSpec base) {
        if (base.speculative() != null) {
            throw new IllegalArgumentException(
                    "replica.speculative: the live loop has no speculative decoding; remove it"
                            + " from the profile's deployment");
        }
        if (kvCacheTokens > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("kv_cache_len " + kvCacheTokens + " is above what a replica spec holds");
        }
        return new ReplicaSpec(
                tensorParallel,
                (int) kvCacheTokens,
                base.gpuMemoryUtilization(),
                adapterSlots,
                maxCpuAdapters,
                maxAdapterRank,
                maxNumSeqs,
                maxNumBatchedTokens,
                blockSize,
                chunkedPrefill,
                prefixCaching,
                maxModelLen,
                ReplicaSpec.AdapterLoad.SYNC,
                base.weightDtype(),
                base.kvCacheDtype(),
                null);
    }

    /** The live replica's backend: {@code kind}, sized as the twin's replica is. */
    public EngineBackend backend(EngineBackend.Kind kind) {
        return new EngineBackend(
                kind,
                tensorParallel,
                threads,
                kvCacheTokens,
                blockSize,
                adapterSlots,
                maxAdapterRank,
                null,
                0.9,
                maxNumBatchedTokens,
                maxNumSeqs,
                maxModelLen);
    }

    public LiveConfig liveConfig() {
        return new LiveConfig(
                maxNumSeqs, maxNumBatchedTokens, chunkedPrefill, prefixCaching, maxCpuAdapters, maxModelLen);
    }

    /**
     * The fields in which two scheduler configurations differ, by their spec keys, leaving out
     * {@code max_adapter_rank} (see the record's note); empty when they schedule alike.
     */
    public static List<String> differences(SchedulerConfig twin, SchedulerConfig live) {
        List<String> out = new ArrayList<>();
        differ(out, "max_num_seqs", twin.maxNumSeqs(), live.maxNumSeqs());
        differ(out, "max_num_batched_tokens", twin.maxNumBatchedTokens(), live.maxNumBatchedTokens());
        differ(out, "chunked_prefill", twin.chunkedPrefill(), live.chunkedPrefill());
        differ(out, "block_size", twin.blockSize(), live.blockSize());
        differ(out, "kv_cache_len", twin.kvCacheTokens(), live.kvCacheTokens());
        differ(out, "prefix_caching", twin.prefixCaching(), live.prefixCaching());
        differ(out, "max_adapters", twin.maxAdapters(), live.maxAdapters());
        differ(out, "max_cpu_adapters", twin.maxCpuAdapters(), live.maxCpuAdapters());
        differ(out, "max_model_len", twin.maxModelLen(), live.maxModelLen());
        differ(out, "adapter_load (async)", twin.asyncAdapterLoads(), live.asyncAdapterLoads());
        return out;
    }

    private static void differ(List<String> out, String key, Object twin, Object live) {
        if (!twin.equals(live)) {
            out.add(key + ": twin " + twin + ", live " + live);
        }
    }

    private static void positive(String key, long v) {
        if (v < 1) {
            throw new IllegalArgumentException(key + " must be >= 1, got " + v);
        }
    }
}
