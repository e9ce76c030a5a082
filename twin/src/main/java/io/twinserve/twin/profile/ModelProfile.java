package io.twinserve.twin.profile;

/**
 * The architecture of a decoder-only transformer (Llama family: GQA attention, gated MLP), as its
 * Hugging Face config.json gives it.
 *
 * @param dtype the weights' dtype (bf16, fp16, fp8 or fp32)
 * @param kvCacheDtype the KV cache's dtype; null means the weights' dtype, as vLLM's {@code auto} does for
 *     an unquantised checkpoint
 */
public record ModelProfile(
        String name,
        int layers,
        int hiddenSize,
        int heads,
        int kvHeads,
        int headDim,
        int intermediateSize,
        int vocabSize,
        int maxModelLen,
        boolean tiedEmbeddings,
        String dtype,
        String kvCacheDtype) {

    public ModelProfile {
        for (var e : new Object[][] {
            {"layers", layers},
            {"hidden_size", hiddenSize},
            {"heads", heads},
            {"kv_heads", kvHeads},
            {"head_dim", headDim},
            {"intermediate_size", intermediateSize},
            {"vocab_size", vocabSize},
            {"max_model_len", maxModelLen}
        }) {
            if ((int) e[1] < 1) {
                throw new IllegalArgumentException("model " + name + ": " + e[0] + " must be >= 1, got " + e[1]);
            }
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "model " + name + ": heads (" + heads + ") must be a multiple of kv_heads (" + kvHeads + ")");
        }
        if (dtype == null) {
            dtype = "bf16";
        }
        checkDtype(name, "dtype", dtype);
        if (kvCacheDtype == null) {
            kvCacheDtype = dtype;
        }
        checkDtype(name, "kv_cache_dtype", kvCacheDtype);
    }

    /** A profile whose KV cache has the weights' dtype (the shape of models.yaml and config.json). */
    public ModelProfile(
            String name,
            int layers,
            int hiddenSize,
            int heads,
            int kvHeads,
            int headDim,
            int intermediateSize,
            int vocabSize,
            int maxModelLen,
            boolean tiedEmbeddings,
            String dtype) {
        this(
                name,
                layers,
                hiddenSize,
                heads,
                kvHeads,
                headDim,
                intermediateSize,
                vocabSize,
                maxModelLen,
                tiedEmbeddings,
                dtype,
                null);
    }

    private static void checkDtype(String name, String key, String dtype) {
        if (!dtype.equals("bf16") && !dtype.equals("fp16") && !dtype.equals("fp8") && !dtype.equals("fp32")) {
            throw new IllegalArgumentException(
                    "model " + name + ": " + key + " must be bf16, fp16, fp8 or fp32, got " + dtype);
        }
    }

    /**
     * The same architecture with its weights stored as {@code weightDtype} and its KV cache as
     * {@code kvDtype} (null: the weights' dtype).
     */
    public ModelProfile withDtypes(String weightDtype, String kvDtype) {
        if (weightDtype.equals(dtype) && (kvDtype == null ? weightDtype : kvDtype).equals(kvCacheDtype)) {
            return this;
        }
        return new ModelProfile(
                name,
                layers,
                hiddenSize,
                heads,
                kvHeads,
                headDim,
                intermediateSize,
                vocabSize,
                maxModelLen,
                tiedEmbeddings,
                weightDtype,
                kvDtype);
    }

    /** Bytes of one weight. */
    public int dtypeBytes() {
        return bytes(dtype);
    }

    /** Bytes of one KV-cache element. */
    public int kvCacheDtypeBytes() {
        return bytes(kvCacheDtype);
    }

    /**
     * Bytes of one element of the hidden states, and of LoRA adapters, which stay at 16 bits when the
     * weights are fp8: fp8 checkpoints (vLLM's fp8 quantisation, Micikevicius et al., "FP8 Formats for
     * Deep Learning", 2022) scale activations to fp8 only inside the matrix multiplications, and the
     * residual stream, the all-reduces and the adapters stay in bf16.
     */
    public int activationBytes() {
        return dtype.equals("fp8") ? 2 : dtypeBytes();
    }

    private static int bytes(String dtype) {
        return switch (dtype) {
            case "fp32" -> 4;
            case "fp8" -> 1;
            default -> 2;
        };
    }

    public int queryWidth() {
        return heads * headDim;
    }

    public int kvWidth() {
        return kvHeads * headDim;
    }

    /** Parameters of one transformer layer: attention projections, gated MLP, two norms. */
    public long paramsPerLayer() {
        long h = hiddenSize;
        long attention = h * (queryWidth() + 2L * kvWidth()) + (long) queryWidth() * h;
        long mlp = 3L * h * intermediateSize;
        return attention + mlp + 2 * h;
    }

    /** Embedding and LM head (one matrix when tied). */
    public long embeddingParams() {
        return (long) vocabSize * hiddenSize * (tiedEmbeddings ? 1 : 2);
    }

    public long totalParams() {
        return layers * paramsPerLayer() + embeddingParams() + hiddenSize;
    }

    public long weightBytes() {
        return totalParams() * dtypeBytes();
    }

    /** Bytes of K and V for one token over all layers, at the KV cache's dtype. */
    public long kvBytesPerToken() {
        return 2L * layers * kvWidth() * kvCacheDtypeBytes();
    }

    /**
     * Bytes of K and V for one token over all layers on each of {@code tp} GPUs: a share of the KV heads, or one
     * head each when there are more GPUs than KV heads (vLLM then replicates them), so not {@code
     * kvBytesPerToken() / tp} above {@code kv_heads} GPUs. {@link #checkTensorParallel} first.
     */
    public long kvBytesPerTokenPerGpu(int tp) {
        return 2L * layers * (long) Math.max(1, kvHeads / tp) * headDim * kvCacheDtypeBytes();
    }

    /**
     * Refuses a tensor parallelism vLLM cannot shard this model over: the attention heads must divide evenly over the
     * GPUs, and the KV heads too (or, with more GPUs than KV heads, the GPUs evenly over them).
     */
    public void checkTensorParallel(int tp) {
        if (heads % tp != 0) {
            throw new IllegalArgumentException("model " + name + " has " + heads
                    + " attention heads, which do not divide over " + tp + " GPUs; choose a tp that divides " + heads);
        }
        if (tp <= kvHeads ? kvHeads % tp != 0 : tp % kvHeads != 0) {
            throw new IllegalArgumentException("model " + name + " has " + kvHeads + " KV heads, which cannot be"
                    + " sharded or replicated evenly over " + tp + " GPUs; choose a tp that divides or is a multiple"
                    + " of " + kvHeads);
        }
    }

    /**
     * (in, out) widths of the seven LoRA target projections of one layer: q, k, v, o, gate, up, down.
     */
    public int[][] loraProjections() {
        int h = hiddenSize;
        return new int[][] {
            {h, queryWidth()},
            {h, kvWidth()},
            {h, kvWidth()},
            {queryWidth(), h},
            {h, intermediateSize},
            {h, intermediateSize},
            {intermediateSize, h}
        };
    }

    /** LoRA parameters per unit of rank over all layers and target projections: Σ (in + out). */
    public long loraParamsPerRank() {
        long sum = 0;
        for (int[] p : loraProjections()) {
            sum += p[0] + p[1];
        }
        return sum * layers;
    }
}
