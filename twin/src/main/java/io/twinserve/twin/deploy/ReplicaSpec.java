package io.twinserve.twin.deploy;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.profile.ModelProfile;
import java.util.Locale;

/**
 * The configuration of one replica, with vLLM's meaning for each key (documented in
 * docs/deployment-spec.md). Null means the default.
 *
 * @param kvCacheLen KV-cache capacity in tokens; derived from {@code gpu_memory_utilization} when absent
 * @param maxAdapters GPU adapter slots: the most distinct adapters in one batch (0 disables LoRA)
 * @param maxCpuAdapters adapters kept in host memory (LRU); loading from there skips storage
 * @param maxAdapterRank slot buffers are reserved at this rank
 * @param maxModelLen the longest sequence; a replica whose KV cache cannot hold one does not start
 * @param weightDtype how the weights are stored (vLLM's {@code --quantization fp8} for fp8); auto keeps
 *     the model's dtype
 * @param kvCacheDtype how the KV cache is stored (vLLM's {@code --kv-cache-dtype}); auto keeps the model's
 * @param speculative speculative decoding with a draft model; null turns it off
 */
public record ReplicaSpec(
        Integer tp,
        Integer kvCacheLen,
        Double gpuMemoryUtilization,
        Integer maxAdapters,
        Integer maxCpuAdapters,
        Integer maxAdapterRank,
        Integer maxNumSeqs,
        Integer maxNumBatchedTokens,
        Integer blockSize,
        Boolean chunkedPrefill,
        Boolean prefixCaching,
        Integer maxModelLen,
        AdapterLoad adapterLoad,
        Dtype weightDtype,
        Dtype kvCacheDtype,
        Speculative speculative) {

    /** Whether adapter loads stall the step that needs them (vLLM) or overlap running steps. */
    public enum AdapterLoad {
        @JsonProperty("sync")
        SYNC,
        @JsonProperty("async")
        ASYNC
    }

    /** A storage dtype chosen for the weights or the KV cache; {@code auto} keeps the model's. */
    public enum Dtype {
        @JsonProperty("auto")
        AUTO,
        @JsonProperty("bf16")
        BF16,
        @JsonProperty("fp16")
        FP16,
        @JsonProperty("fp8")
        FP8;

        /** The dtype's name as model profiles spell it, {@code auto} being {@code modelDtype}. */
        public String or(String modelDtype) {
            return this == AUTO ? modelDtype : name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Speculative decoding (Leviathan, Kalman and Matias, "Fast Inference from Transformers via
     * Speculative Decoding", ICML 2023): a draft model proposes {@code num_draft_steps} tokens one at a
     * time, and the target verifies them in one pass, accepting each with probability
     * {@code acceptance_rate}.
     *
     * @param draftModel a model profile name or the path of a Hugging Face config.json
     */
    public record Speculative(Integer numDraftSteps, String draftModel, Double acceptanceRate) {
        public static final int MAX_DRAFT_STEPS = 8;

        public Speculative {
            if (numDraftSteps == null) {
                throw new SpecException(
                        "num_draft_steps", "is required: tokens the draft proposes per step, 1 to " + MAX_DRAFT_STEPS);
            }
            if (numDraftSteps < 1 || numDraftSteps > MAX_DRAFT_STEPS) {
                throw new SpecException(
                        "num_draft_steps", "must be between 1 and " + MAX_DRAFT_STEPS + ", got " + numDraftSteps);
            }
            if (draftModel == null || draftModel.isBlank()) {
                throw new SpecException(
                        "draft_model",
                        "is required: a model profile name (e.g. llama-3.2-1b) or a" + " config.json path");
            }
            if (acceptanceRate == null) {
                throw new SpecException(
                        "acceptance_rate",
                        "is required: the probability that the target accepts a" + " draft token, in (0, 1)");
            }
            if (!(acceptanceRate > 0 && acceptanceRate < 1)) {
                throw new SpecException("acceptance_rate", "must be in (0, 1), got " + acceptanceRate);
            }
        }
    }

    public ReplicaSpec {
        tp = tp == null ? 1 : tp;
        if (tp < 1 || Integer.bitCount(tp) != 1) {
            throw new SpecException("tp", "must be a power of two >= 1, got " + tp);
        }
        if (kvCacheLen != null && kvCacheLen < 1) {
            throw new SpecException("kv_cache_len", "must be >= 1 token, got " + kvCacheLen);
        }
        gpuMemoryUtilization = gpuMemoryUtilization == null ? 0.9 : gpuMemoryUtilization;
        if (!(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1)) {
            throw new SpecException("gpu_memory_utilization", "must be in (0, 1], got " + gpuMemoryUtilization);
        }
        maxAdapters = atLeast("max_adapters", maxAdapters, 4, 0);
        maxCpuAdapters = atLeast("max_cpu_adapters", maxCpuAdapters, maxAdapters, 0);
        if (maxCpuAdapters < maxAdapters) {
            throw new SpecException(
                    "max_cpu_adapters", "must be >= max_adapters (" + maxAdapters + "), got " + maxCpuAdapters);
        }
        maxAdapterRank = atLeast("max_adapter_rank", maxAdapterRank, 16, 1);
        maxNumSeqs = atLeast("max_num_seqs", maxNumSeqs, 256, 1);
        maxNumBatchedTokens = atLeast("max_num_batched_tokens", maxNumBatchedTokens, 2048, 1);
        blockSize = atLeast("block_size", blockSize, 16, 1);
        chunkedPrefill = chunkedPrefill == null ? Boolean.TRUE : chunkedPrefill;
        prefixCaching = prefixCaching == null ? Boolean.TRUE : prefixCaching;
        if (maxModelLen != null && maxModelLen < 1) {
            throw new SpecException("max_model_len", "must be >= 1, got " + maxModelLen);
        }
        adapterLoad = adapterLoad == null ? AdapterLoad.SYNC : adapterLoad;
        weightDtype = weightDtype == null ? Dtype.AUTO : weightDtype;
        kvCacheDtype = kvCacheDtype == null ? Dtype.AUTO : kvCacheDtype;
    }

    /** A replica with the model's dtypes and no speculative decoding. */
    public ReplicaSpec(
            Integer tp,
            Integer kvCacheLen,
            Double gpuMemoryUtilization,
            Integer maxAdapters,
            Integer maxCpuAdapters,
            Integer maxAdapterRank,
            Integer maxNumSeqs,
            Integer maxNumBatchedTokens,
            Integer blockSize,
            Boolean chunkedPrefill,
            Boolean prefixCaching,
            Integer maxModelLen,
            AdapterLoad adapterLoad) {
        this(
                tp,
                kvCacheLen,
                gpuMemoryUtilization,
                maxAdapters,
                maxCpuAdapters,
                maxAdapterRank,
                maxNumSeqs,
                maxNumBatchedTokens,
                blockSize,
                chunkedPrefill,
                prefixCaching,
                maxModelLen,
                adapterLoad,
                null,
                null,
                null);
    }

    public static ReplicaSpec defaults() {
        return new ReplicaSpec(null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    /** The target model as this replica stores it: weights and KV cache at the chosen dtypes. */
    public ModelProfile servedModel(ModelProfile model) {
        return model.withDtypes(weightDtype.or(model.dtype()), kvCacheDtype.or(model.kvCacheDtype()));
    }

    /**
     * The draft model as this replica stores it: its KV cache at the chosen KV dtype (vLLM's cache
     * configuration is shared by both models), its weights at its own dtype ({@code weight_dtype}
     * quantises the target only, as vLLM's {@code --quantization} does).
     */
    public ModelProfile servedDraftModel(ModelProfile draft) {
        return draft.withDtypes(draft.dtype(), kvCacheDtype.or(draft.kvCacheDtype()));
    }

    private static int atLeast(String key, Integer v, int dflt, int min) {
        int x = v == null ? dflt : v;
        if (x < min) {
            throw new SpecException(key, "must be >= " + min + ", got " + x);
        }
        return x;
    }

    public boolean loraEnabled() {
        return maxAdapters > 0;
    }
}
