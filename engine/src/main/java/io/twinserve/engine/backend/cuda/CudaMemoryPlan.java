package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.Projection;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.memory.MemoryBreakdown;

/**
 * Where a CUDA replica's device memory goes, with the twin's arithmetic ({@link
 * io.twinserve.twin.memory.MemoryModel}): of the device's memory times the utilisation, the bf16 weights, the
 * adapter slots at {@code maxRank} for every projection a LoRA adapter may target, the cuBLAS workspace and the
 * activation buffers of a full step come first, and the KV cache takes what is left in whole blocks. A replica
 * whose cache cannot hold one sequence of {@code maxModelLen} tokens (or the {@code kvCacheTokens} asked for) is
 * refused with the shortfall, as the twin refuses it, so the twin's predicted capacity and the engine's real
 * one can be set side by side ({@link #breakdown}).
 *
 * @param weightBytes the model's weights as uploaded (bf16)
 * @param adapterSlotBytes A ([slot][maxRank][in]) and B ([slot][out][maxRank]) in bf16, every layer and projection
 * @param workspaceBytes cuBLAS's workspace
 * @param activationBytes the buffers of a step of {@code maxBatchedTokens} tokens and {@code maxNumSeqs} logit rows
 * @param kvBlockBytes one block of K and V for every layer
 */
public record CudaMemoryPlan(
        long budgetBytes,
        long weightBytes,
        long adapterSlotBytes,
        long workspaceBytes,
        long activationBytes,
        long kvBlockBytes,
        int blockSize,
        long kvBlocks) {

    /** cuBLAS's recommended workspace on Hopper. */
    public static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    /**
     * What a replica asks of the device.
     *
     * @param deviceBytes the device's memory
     * @param utilization the share of it the replica may use (vLLM's {@code gpu_memory_utilization})
     * @param kvBytesPerValue 2 for a bf16 KV cache, 4 for f32
     * @param kvCacheTokens the cache size asked for, or null for what is left
     * @param graphBatch the largest decode batch replayed as a CUDA graph (0: none): its graphs' step buffers of
     *     that many rows and the one KV block their padding rows write are reserved too
     */
    public record Request(
            long deviceBytes,
            double utilization,
            int adapterSlots,
            int maxRank,
            int maxBatchedTokens,
            int maxNumSeqs,
            int blockSize,
            int kvBytesPerValue,
            int maxModelLen,
            Long kvCacheTokens,
            int graphBatch) {
        public Request {
            if (deviceBytes <= 0 || utilization <= 0 || utilization > 1) {
                throw new IllegalArgumentException("device memory must be positive and utilization in (0, 1], got "
                        + deviceBytes + " bytes and " + utilization);
            }
            if (adapterSlots < 0 || maxRank < 0 || maxBatchedTokens < 1 || maxNumSeqs < 1 || blockSize < 1) {
                throw new IllegalArgumentException("adapter slots and rank must be >= 0, the step's tokens, sequences"
                        + " and the block size >= 1");
            }
            if (kvBytesPerValue != 2 && kvBytesPerValue != 4) {
                throw new IllegalArgumentException("kv_cache_dtype: bf16 (2 bytes) or f32 (4), got " + kvBytesPerValue);
            }
        }
    }

    public long kvCacheTokens() {
        return kvBlocks * blockSize;
    }

    public long usedBytes() {
        return weightBytes + adapterSlotBytes + workspaceBytes + activationBytes + kvBlocks * kvBlockBytes;
    }

    /** The plan in the twin's terms (the workspace counted with the activations), to compare with its model. */
    public MemoryBreakdown breakdown() {
        return new MemoryBreakdown(
                budgetBytes,
                weightBytes,
                adapterSlotBytes,
                workspaceBytes + activationBytes,
                kvBlocks * kvBlockBytes,
                kvCacheTokens());
    }

    /** Plans model {@code c} on the device {@code r} describes; refuses with the shortfall when it does not fit. */
    public static CudaMemoryPlan plan(ModelConfig c, Request r) {
        long budget = (long) (r.deviceBytes() * r.utilization());
        long weights = weightBytes(c);
        long slots = adapterSlotBytes(c, r.adapterSlots(), r.maxRank());
        long blockBytes = (long) r.blockSize() * kvBytesPerToken(c, r.kvBytesPerValue());
        long activations = activationBytes(c, r.maxBatchedTokens(), r.maxNumSeqs(), r.maxRank())
                + tableBytes(c, r.adapterSlots(), r.kvCacheTokens())
                // the draws of a step's rows on the device and their tokens
                + 4L * (CudaKernels.DRAW_INTS + 1) * r.maxNumSeqs()
                // a graph's step buffers, its padding rows' KV block and the tokens a drawing graph draws
                + (r.graphBatch() > 0
                        ? activationBytes(c, r.graphBatch(), r.graphBatch(), r.maxRank())
                                + blockBytes
                                + 4L * r.graphBatch()
                        : 0);
        long free = budget - weights - slots - CUBLAS_WORKSPACE_BYTES - activations;
        long blocks;
        if (r.kvCacheTokens() != null) {
            blocks = ceilDiv(r.kvCacheTokens(), r.blockSize());
            CudaMemoryPlan p = new CudaMemoryPlan(
                    budget, weights, slots, CUBLAS_WORKSPACE_BYTES, activations, blockBytes, r.blockSize(), blocks);
            if (p.usedBytes() > budget) {
                throw new InsufficientGpuMemoryException(
                        "kv_cache_len " + r.kvCacheTokens() + " does not fit", p.breakdown(), p.usedBytes() - budget);
            }
            return p;
        }
        blocks = Math.max(0, free / blockBytes);
        CudaMemoryPlan p = new CudaMemoryPlan(
                budget, weights, slots, CUBLAS_WORKSPACE_BYTES, activations, blockBytes, r.blockSize(), blocks);
        long need = ceilDiv(r.maxModelLen(), r.blockSize());
        if (blocks < need) {
            long shortfall = (need - blocks) * blockBytes - Math.min(0, free);
            throw new InsufficientGpuMemoryException(
                    "the KV cache left over holds " + p.kvCacheTokens() + " tokens, fewer than one sequence of"
                            + " max_model_len " + r.maxModelLen(),
                    p.breakdown(),
                    shortfall);
        }
        return p;
    }

    /** The weights in bf16: every parameter (the embedding once when tied) and the attention biases. */
    public static long weightBytes(ModelConfig c) {
        long biases = c.attentionBias() ? (long) c.numLayers() * (c.qDim() + 2L * c.kvDim()) : 0;
        return 2 * (c.parameters() + biases);
    }

    /** A and B of every slot at {@code maxRank}, for the seven projections an adapter may target, in bf16. */
    public static long adapterSlotBytes(ModelConfig c, int slots, int maxRank) {
        long perLayer = 0;
        for (Projection p : Projection.values()) {
            perLayer += (long) maxRank * (p.inDim(c) + p.outDim(c));
        }
        return 2L * slots * perLayer * c.numLayers();
    }

    /**
     * The fp32 buffers of a step of {@code tokens} tokens: the residual stream, its normed copy, a layer's output and
     * the final norm's rows, q/k/v, the attention output, gate/up and their product, the LoRA intermediate (three projections fused at most),
     * a bf16 copy of the widest input for tensor cores, split-K attention's partials, and the logits of {@code seqs}
     * rows in fp32 and in bf16 (as they go back to the host).
     */
    public static long activationBytes(ModelConfig c, int tokens, int seqs, int maxRank) {
        long t = tokens;
        long h = c.hiddenSize();
        long i = c.intermediateSize();
        long f32 = 4 * t * (4 * h + c.qDim() + 2L * c.kvDim() + c.qDim() + 3 * i + 3L * maxRank);
        long bf16 = 2 * t * Math.max(c.qDim(), Math.max(h, i));
        long partials = 4 * CudaKernels.maxAttentionPartialFloats(tokens, c.numKvHeads(), c.numHeads(), c.headDim());
        long logits = (4L + 2L) * seqs * c.vocabSize();
        return f32 + bf16 + partials + logits;
    }

    /**
     * The backend's small tables: RoPE's cos and sin for every position it can reach (the model's maximum, or a
     * smaller KV cache's tokens when the cache is given; 67 MB for Llama-3.1-8B's 131,072 positions), and each
     * adapter slot's rank and scale.
     */
    public static long tableBytes(ModelConfig c, int adapterSlots, Long kvCacheTokens) {
        long positions =
                kvCacheTokens == null ? c.maxPositionEmbeddings() : Math.min(c.maxPositionEmbeddings(), kvCacheTokens);
        return 2 * 4 * positions * (c.headDim() / 2) + 8L * Math.max(1, adapterSlots);
    }

    /** K and V of one token in every layer. */
    public static long kvBytesPerToken(ModelConfig c, int bytesPerValue) {
        return 2L * c.numLayers() * c.kvDim() * bytesPerValue;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
