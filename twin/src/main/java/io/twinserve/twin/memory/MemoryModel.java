package io.twinserve.twin.memory;

import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;

/**
 * Per-GPU memory of a replica: weights/tp + adapter slot buffers + activation reserve + KV cache must fit
 * in memory x gpu_memory_utilization. When {@code kv_cache_len} is absent the KV cache takes what is left
 * (rounded down to whole blocks), as vLLM does; a replica whose KV cache cannot hold one sequence of
 * {@code max_model_len} tokens refuses to start, as vLLM 0.8.5 does.
 *
 * <p>Adapter slots follow vLLM's layout: for each target projection, stacked A (slots x rank x in) and B
 * (slots x out x rank) tensors at {@code max_adapter_rank}, sharded by tp, each allocation rounded up to
 * the allocator's granularity.
 *
 * <p>Weights and KV cache follow the replica's {@code weight_dtype} and {@code kv_cache_dtype}; adapter
 * slots stay at the activations' 16 bits. With speculative decoding the draft's weights/tp come off the
 * budget too, and every KV token also stores the draft's K and V: vLLM's speculative-decoding worker
 * splits the KV memory so that both models get the same number of blocks, so the two caches are priced as
 * one with the sum of their bytes per token.
 */
public final class MemoryModel {
    private MemoryModel() {}

    /** The memory of a replica without speculative decoding; {@code model} as loaded or as served. */
    public static MemoryBreakdown resolve(ModelProfile model, GpuProfile gpu, ReplicaSpec r, MemoryCalibration c) {
        if (r.speculative() != null) {
            throw new IllegalArgumentException("a replica with speculative decoding needs its draft model's profile;"
                    + " use the overload that takes it");
        }
        return resolve(model, null, gpu, r, c);
    }

    /**
     * The memory of a replica whose draft model is {@code draft} (null without speculative decoding). The
     * replica's dtypes are applied here, so the profiles may be passed as loaded or as served.
     */
    public static MemoryBreakdown resolve(
            ModelProfile model, ModelProfile draft, GpuProfile gpu, ReplicaSpec r, MemoryCalibration c) {
        model = r.servedModel(model);
        long budget = (long) (gpu.memoryBytes() * r.gpuMemoryUtilization());
        long weights = model.weightBytes() / r.tp();
        long slots = adapterSlotBytes(model, r, c);
        long activation = c.activationBytes();
        long perToken = Math.max(1, model.kvBytesPerTokenPerGpu(r.tp()));
        if (draft != null) {
            draft = r.servedDraftModel(draft);
            weights += draft.weightBytes() / r.tp();
            perToken += draft.kvBytesPerTokenPerGpu(r.tp());
        }
        int maxModelLen = r.maxModelLen() != null ? r.maxModelLen() : model.maxModelLen();
        if (r.kvCacheLen() != null) {
            long tokens = (long) r.kvCacheLen();
            MemoryBreakdown m = new MemoryBreakdown(budget, weights, slots, activation, tokens * perToken, tokens);
            if (m.usedBytes() > budget) {
                throw new InsufficientGpuMemoryException(
                        "kv_cache_len " + tokens + " does not fit", m, m.usedBytes() - budget);
            }
            return m;
        }
        long free = budget - weights - slots - activation;
        long tokens = Math.max(0, free / perToken) / r.blockSize() * r.blockSize();
        MemoryBreakdown m = new MemoryBreakdown(budget, weights, slots, activation, tokens * perToken, tokens);
        if (tokens < maxModelLen) {
            // when the fixed terms alone overflow the budget (free < 0), that overflow is short as well
            long shortfall = (maxModelLen - tokens) * perToken - Math.min(0, free);
            throw new InsufficientGpuMemoryException(
                    "the KV cache left over holds " + tokens + " tokens, fewer than one sequence of max_model_len "
                            + maxModelLen,
                    m,
                    shortfall);
        }
        return m;
    }

    /** Bytes of the adapter slot buffers per GPU (0 with LoRA disabled). */
    public static long adapterSlotBytes(ModelProfile model, ReplicaSpec r, MemoryCalibration c) {
        if (!r.loraEnabled()) {
            return 0;
        }
        long slots = r.maxAdapters();
        long rank = r.maxAdapterRank();
        long g = Math.max(1, c.allocationGranularityBytes());
        long tensors = 0;
        for (int[] p : model.loraProjections()) {
            long a = slots * rank * p[0] * model.activationBytes() / r.tp();
            long b = slots * rank * p[1] * model.activationBytes() / r.tp();
            tensors += ceil(a, g) + ceil(b, g);
        }
        tensors *= model.layers();
        return c.loraEnabledBytes() + slots * c.loraSlotBytes() + Math.round(c.loraTensorScale() * tensors);
    }

    private static long ceil(long v, long g) {
        return (v + g - 1) / g * g;
    }
}
