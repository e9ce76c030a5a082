package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The CPU backend: the Llama-family forward pass with the Vector API on all cores, a paged KV cache,
 * batched multi-adapter LoRA and tensor parallelism. With {@code tp = N} the weights are split as
 * Megatron-LM splits them (q, k, v, gate and up by output rows, o and down by input columns), each shard
 * keeps the KV cache of its own heads, shards compute in parallel, and their partial outputs are summed
 * in shard order (the all-reduce) after attention and after the MLP. The KV cache is stored as bf16, or as
 * float32 for float32 models or when asked ({@link Options#kvDtype}).
 *
 * <p>Over 400 lines because the forward pass and its tensor-parallel {@code Shard} (an inner class that
 * shares the step's buffers) read top to bottom in one file; the arithmetic lives in {@link Kernels} and
 * {@link MatMul}.
 */
public final class CpuBackend implements Backend {
    /**
     * How to build the backend.
     *
     * @param kvDtype how the KV cache is stored: {@code BF16} or {@code F32}; null picks the model's
     *     (bf16 for bf16 and f16 models, f32 for f32 models)
     */
    public record Options(
            int tensorParallel, int threads, long kvCacheTokens, int blockSize, int adapterSlots, DType kvDtype) {
        public Options(int tensorParallel, int threads, long kvCacheTokens, int blockSize, int adapterSlots) {
            this(tensorParallel, threads, kvCacheTokens, blockSize, adapterSlots, null);
        }

        public Options {
            if (kvDtype == DType.F16) {
                throw new IllegalArgumentException(
                        "kv_cache_dtype f16: the CPU backend stores the KV cache as bf16 or f32");
            }
            if (tensorParallel < 1) {
                throw new IllegalArgumentException("tp must be >= 1, got " + tensorParallel);
            }
            if (blockSize < 1 || kvCacheTokens < blockSize) {
                throw new IllegalArgumentException(
                        "kv_cache_len " + kvCacheTokens + " must hold at least one block of " + blockSize + " tokens");
            }
            if (adapterSlots < 0) {
                throw new IllegalArgumentException("adapter slots must be >= 0, got " + adapterSlots);
            }
        }
    }

    private final ModelFiles model;
    private final ModelConfig c;
    private final Options options;
    private final Parallel par;
    private final Rope rope;
    private final Shard[] shards;
    private final LoraSlots lora;
    private final float[] finalNorm;
    private final float[][] inputNorm;
    private final float[][] postNorm;
    private final int numBlocks;
    private final DType kvDtype;
    // per-step buffers, grown to the largest step seen
    private float[] x = new float[0];
    private float[] xn = new float[0];
    private int[] order = new int[0];
    private int[] tokenSlot = new int[0];
    private float[] lastHidden = new float[0];

    public CpuBackend(ModelFiles model, Options options) {
        this.model = model;
        this.c = model.config();
        this.options = options;
        int tp = options.tensorParallel();
        // as vLLM shards (and the twin's memory model prices): query heads and the MLP split evenly; the KV heads
        // split too, or with more GPUs than KV heads each is replicated on tp / num_key_value_heads of them
        int kv = c.numKvHeads();
        if (c.numHeads() % tp != 0 || c.intermediateSize() % tp != 0 || (tp <= kv ? kv % tp != 0 : tp % kv != 0)) {
            throw new IllegalArgumentException("tp " + tp + " must divide num_attention_heads " + c.numHeads()
                    + " and intermediate_size " + c.intermediateSize() + ", and divide num_key_value_heads " + kv
                    + " or be a multiple of it");
        }
        this.par = new Parallel(
                options.threads() > 0 ? options.threads() : Runtime.getRuntime().availableProcessors());
        this.rope = new Rope(c);
        this.numBlocks = (int) Math.min(Integer.MAX_VALUE, options.kvCacheTokens() / options.blockSize());
        this.kvDtype = kvDtypeFor(options.kvDtype(), c.dtype());
        this.lora = new LoraSlots(c, options.adapterSlots());
        this.finalNorm = model.finalNorm().toFloats();
        int layers = c.numLayers();
        this.inputNorm = new float[layers][];
        this.postNorm = new float[layers][];
        for (int l = 0; l < layers; l++) {
            inputNorm[l] = model.layers().get(l).inputNorm().toFloats();
            postNorm[l] = model.layers().get(l).postAttentionNorm().toFloats();
        }
        this.shards = new Shard[tp];
        for (int s = 0; s < tp; s++) {
            shards[s] = new Shard(s, tp);
        }
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public long kvCacheTokens() {
        return (long) numBlocks * options.blockSize();
    }

    @Override
    public int blockSize() {
        return options.blockSize();
    }

    @Override
    public int adapterSlots() {
        return lora.count();
    }

    /**
     * The KV dtype a command line or spec names: {@code auto} (null: the model's), {@code bf16} or
     * {@code f32}; {@code field} names where it came from in the error.
     */
    public static DType kvDtype(String name, String field) {
        return switch (name == null ? "auto" : name.toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f32", "fp32", "float32" -> DType.F32;
            default ->
                throw new IllegalArgumentException(field + " '" + name + "' is not supported by the CPU backend;"
                        + " expected auto (bf16 for bf16 and f16 models, f32 for f32 models), bf16 or f32");
        };
    }

    /** The KV cache's dtype for a requested one (null: auto) and the model's weights' dtype. */
    public static DType kvDtypeFor(DType requested, DType modelDtype) {
        return requested != null ? requested : modelDtype == DType.F32 ? DType.F32 : DType.BF16;
    }

    /** How the KV cache is stored: bf16 or f32. */
    public DType kvCacheDtype() {
        return kvDtype;
    }

    public int tensorParallel() {
        return shards.length;
    }

    public int threads() {
        return par.threads();
    }

    @Override
    public long loadAdapter(int slot, LoraAdapter adapter) {
        if (!adapter.hasWeights()) {
            throw new IllegalArgumentException("adapter '" + adapter.name() + "' has no weights (a profile-only adapter"
                    + " for the simulated backend); the CPU backend needs a PEFT adapter directory");
        }
        return lora.load(slot, adapter);
    }

    @Override
    public void unloadAdapter(int slot) {
        lora.unload(slot);
    }

    @Override
    public String name() {
        return "cpu";
    }

    /** One tensor-parallel shard: its slices of every layer's weights and the KV cache of its heads. */
    private final class Shard {
        final int headStart;
        final int heads;
        final int kvHeadStart;
        final int kvHeads;
        final int interStart;
        final int inter;
        final List<Tensor[]> weights = new ArrayList<>();
        final float[][][] bias;
        final float[][] qNorm;
        final float[][] kNorm;
        final KvLayer[] keyCache;
        final KvLayer[] valueCache;
        float[] q = new float[0];
        float[] k = new float[0];
        float[] v = new float[0];
        float[] att = new float[0];
        float[] part = new float[0];
        float[] gate = new float[0];
        float[] up = new float[0];

        Shard(int index, int tp) {
            heads = c.numHeads() / tp;
            inter = c.intermediateSize() / tp;
            headStart = index * heads;
            if (tp <= c.numKvHeads()) {
                kvHeads = c.numKvHeads() / tp;
                kvHeadStart = index * kvHeads;
            } else {
                // one replicated KV head: the one this shard's query heads share (each KV head serves
                // num_attention_heads / num_key_value_heads query heads, which tp / num_key_value_heads shards hold)
                kvHeads = 1;
                kvHeadStart = index * c.numKvHeads() / tp;
            }
            interStart = index * inter;
            int hd = c.headDim();
            int layers = c.numLayers();
            bias = new float[layers][][];
            qNorm = new float[layers][];
            kNorm = new float[layers][];
            keyCache = new KvLayer[layers];
            valueCache = new KvLayer[layers];
            long cacheElements = (long) numBlocks * options.blockSize() * kvHeads * hd;
            if (cacheElements > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("kv_cache_len " + options.kvCacheTokens() + " needs " + cacheElements
                        + " values per layer and shard; the CPU backend holds at most " + (Integer.MAX_VALUE - 16));
            }
            for (int l = 0; l < layers; l++) {
                ModelFiles.LayerWeights w = model.layers().get(l);
                weights.add(new Tensor[] {
                    w.q().rowSlice(headStart * hd, heads * hd),
                    w.k().rowSlice(kvHeadStart * hd, kvHeads * hd),
                    w.v().rowSlice(kvHeadStart * hd, kvHeads * hd),
                    w.o().colSlice(headStart * hd, heads * hd),
                    w.gate().rowSlice(interStart, inter),
                    w.up().rowSlice(interStart, inter),
                    w.down().colSlice(interStart, inter)
                });
                if (w.qBias() != null) {
                    bias[l] = new float[][] {
                        w.qBias().colSlice(headStart * hd, heads * hd).toFloats(),
                        w.kBias().colSlice(kvHeadStart * hd, kvHeads * hd).toFloats(),
                        w.vBias().colSlice(kvHeadStart * hd, kvHeads * hd).toFloats()
                    };
                }
                if (w.qNorm() != null) {
                    qNorm[l] = w.qNorm().toFloats();
                    kNorm[l] = w.kNorm().toFloats();
                }
                keyCache[l] = new KvLayer(kvDtype, (int) cacheElements);
                valueCache[l] = new KvLayer(kvDtype, (int) cacheElements);
            }
        }

        void ensure(int tokens) {
            int hd = c.headDim();
            if (q.length < tokens * heads * hd) {
                q = new float[tokens * heads * hd];
                att = new float[tokens * heads * hd];
                k = new float[tokens * kvHeads * hd];
                v = new float[tokens * kvHeads * hd];
                part = new float[tokens * c.hiddenSize()];
                gate = new float[tokens * inter];
                up = new float[tokens * inter];
            }
        }

        /** Attention block of one layer for this shard's heads: leaves its share of the o projection in {@code part}. */
        void attention(ForwardBatch b, int layer, int tokens) {
            int hd = c.headDim();
            int qLocal = heads * hd;
            int kvLocal = kvHeads * hd;
            int h = c.hiddenSize();
            Tensor[] w = weights.get(layer);
            MatMul.apply(par, w[0], xn, h, 0, tokens, q, qLocal, 0, false);
            MatMul.apply(par, w[1], xn, h, 0, tokens, k, kvLocal, 0, false);
            MatMul.apply(par, w[2], xn, h, 0, tokens, v, kvLocal, 0, false);
            lora.apply(
                    par, layer, Projection.Q, order, tokenSlot, tokens, xn, h, 0, h, q, qLocal, headStart * hd, qLocal);
            lora.apply(
                    par,
                    layer,
                    Projection.K,
                    order,
                    tokenSlot,
                    tokens,
                    xn,
                    h,
                    0,
                    h,
                    k,
                    kvLocal,
                    kvHeadStart * hd,
                    kvLocal);
            lora.apply(
                    par,
                    layer,
                    Projection.V,
                    order,
                    tokenSlot,
                    tokens,
                    xn,
                    h,
                    0,
                    h,
                    v,
                    kvLocal,
                    kvHeadStart * hd,
                    kvLocal);
            float[][] bs = bias[layer];
            float eps = (float) c.rmsNormEps();
            int blockSize = options.blockSize();
            KvLayer kc = keyCache[layer];
            KvLayer vc = valueCache[layer];
            par.forRange(tokens, 8, (from, to) -> {
                for (int t = from; t < to; t++) {
                    if (bs != null) {
                        Kernels.add(q, t * qLocal, bs[0], qLocal);
                        Kernels.add(k, t * kvLocal, bs[1], kvLocal);
                        Kernels.add(v, t * kvLocal, bs[2], kvLocal);
                    }
                    int pos = b.tokenPosition(t);
                    for (int hh = 0; hh < heads; hh++) {
                        if (qNorm[layer] != null) {
                            Kernels.rmsNorm(q, t * qLocal + hh * hd, qNorm[layer], hd, eps);
                        }
                        rope.rotate(q, t * qLocal + hh * hd, pos);
                    }
                    int s = b.tokenSequence(t);
                    int block = b.block(s, pos / blockSize);
                    int inBlock = pos % blockSize;
                    for (int kh = 0; kh < kvHeads; kh++) {
                        if (kNorm[layer] != null) {
                            Kernels.rmsNorm(k, t * kvLocal + kh * hd, kNorm[layer], hd, eps);
                        }
                        rope.rotate(k, t * kvLocal + kh * hd, pos);
                    }
                    for (int kh = 0; kh < kvHeads; kh++) {
                        int cacheAt = Kernels.blockRow(block, numBlocks, kh, blockSize, hd) + inBlock * hd;
                        kc.store(k, t * kvLocal + kh * hd, cacheAt, hd);
                        vc.store(v, t * kvLocal + kh * hd, cacheAt, hd);
                    }
                }
            });
            int group = heads / kvHeads;
            float scale = (float) (1.0 / Math.sqrt(hd));
            int window = c.slidingWindow();
            // one job per token and K/V head, its query heads together
            par.forRange(tokens * kvHeads, 1, (from, to) -> {
                float[] scores = Kernels.scratch(0);
                for (int job = from; job < to; job++) {
                    int t = job / kvHeads;
                    int kh = job % kvHeads;
                    int pos = b.tokenPosition(t);
                    int s = b.tokenSequence(t);
                    int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
                    int need = group * (pos - first + 1);
                    if (scores.length < need) {
                        scores = Kernels.scratch(need);
                    }
                    int at = t * qLocal + kh * group * hd;
                    Kernels.attendGroup(
                            q, at, group, kc, vc, b, s, first, pos, blockSize, numBlocks, kh, hd, scale, scores, att,
                            at);
                }
            });
            MatMul.apply(par, w[3], att, qLocal, 0, tokens, part, h, 0, false);
            lora.apply(
                    par,
                    layer,
                    Projection.O,
                    order,
                    tokenSlot,
                    tokens,
                    att,
                    qLocal,
                    headStart * hd,
                    qLocal,
                    part,
                    h,
                    0,
                    h);
        }

        /** MLP block of one layer for this shard's share of the intermediate size: its share of down in {@code part}. */
        void mlp(int layer, int tokens) {
            int h = c.hiddenSize();
            Tensor[] w = weights.get(layer);
            MatMul.apply(par, w[4], xn, h, 0, tokens, gate, inter, 0, false);
            MatMul.apply(par, w[5], xn, h, 0, tokens, up, inter, 0, false);
            lora.apply(
                    par, layer, Projection.GATE, order, tokenSlot, tokens, xn, h, 0, h, gate, inter, interStart, inter);
            lora.apply(par, layer, Projection.UP, order, tokenSlot, tokens, xn, h, 0, h, up, inter, interStart, inter);
            Kernels.siluMul(gate, up, tokens * inter);
            MatMul.apply(par, w[6], gate, inter, 0, tokens, part, h, 0, false);
            lora.apply(
                    par,
                    layer,
                    Projection.DOWN,
                    order,
                    tokenSlot,
                    tokens,
                    gate,
                    inter,
                    interStart,
                    inter,
                    part,
                    h,
                    0,
                    h);
        }
    }

    @Override
    public void forward(ForwardBatch b, float[] logits) {
        int tokens = b.tokens();
        int h = c.hiddenSize();
        int rows = b.assignLogitRows();
        if (logits.length < (long) rows * c.vocabSize()) {
            throw new IllegalArgumentException("logits buffer holds " + logits.length + " floats; " + rows + " rows of "
                    + c.vocabSize() + " are needed");
        }
        int maxPos = 0;
        for (int s = 0; s < b.sequences(); s++) {
            int slot = b.slot(s);
            if (slot >= lora.count() || (slot >= 0 && lora.nameIn(slot) == null)) {
                throw new IllegalStateException(
                        "sequence " + s + " uses adapter slot " + slot + ", which holds no adapter");
            }
            maxPos = Math.max(maxPos, b.context(s) + b.count(s));
            if ((b.context(s) + b.count(s) + options.blockSize() - 1) / options.blockSize() > numBlocks) {
                throw new IllegalArgumentException("sequence " + s + " needs more KV blocks than the cache has");
            }
        }
        rope.ensure(maxPos);
        if (x.length < tokens * h) {
            x = new float[tokens * h];
            xn = new float[tokens * h];
            order = new int[tokens];
            tokenSlot = new int[tokens];
        }
        for (Shard s : shards) {
            s.ensure(tokens);
        }
        groupBySlot(b, tokens);
        Tensor embed = model.embed();
        for (int t = 0; t < tokens; t++) {
            int id = b.tokenId(t);
            if (id < 0 || id >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + c.vocabSize());
            }
            Kernels.row(embed, id, x, t * h);
        }
        float eps = (float) c.rmsNormEps();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            normalize(tokens, inputNorm[layer], eps);
            int l = layer;
            forShards(s -> s.attention(b, l, tokens));
            allReduce(tokens);
            normalize(tokens, postNorm[layer], eps);
            forShards(s -> s.mlp(l, tokens));
            allReduce(tokens);
        }
        // final norm and the head, only for the rows asked for
        if (lastHidden.length < rows * h) {
            lastHidden = new float[rows * h];
        }
        for (int s = 0; s < b.sequences(); s++) {
            int row = b.logitRow(s);
            if (row < 0) {
                continue;
            }
            int first = b.allLogits() ? b.start(s) : b.start(s) + b.count(s) - 1;
            int last = b.start(s) + b.count(s) - 1;
            for (int t = first; t <= last; t++, row++) {
                System.arraycopy(x, t * h, lastHidden, row * h, h);
                Kernels.rmsNorm(lastHidden, row * h, finalNorm, h, eps);
            }
        }
        MatMul.apply(par, model.lmHead(), lastHidden, h, 0, rows, logits, c.vocabSize(), 0, false);
    }

    private void forShards(Consumer<Shard> work) {
        if (shards.length == 1) {
            work.accept(shards[0]);
            return;
        }
        par.forRange(shards.length, 1, (from, to) -> {
            for (int s = from; s < to; s++) {
                work.accept(shards[s]);
            }
        });
    }

    /** Sums the shards' partial outputs into the residual stream, in shard order (deterministic). */
    private void allReduce(int tokens) {
        int n = tokens * c.hiddenSize();
        for (Shard s : shards) {
            Kernels.add(x, 0, s.part, n);
        }
    }

    private void normalize(int tokens, float[] weight, float eps) {
        int h = c.hiddenSize();
        System.arraycopy(x, 0, xn, 0, tokens * h);
        par.forRange(tokens, 16, (from, to) -> {
            for (int t = from; t < to; t++) {
                Kernels.rmsNorm(xn, t * h, weight, h, eps);
            }
        });
    }

    /** Orders the step's tokens by adapter slot (counting sort), so LoRA work runs adapter by adapter. */
    private void groupBySlot(ForwardBatch b, int tokens) {
        int slots = lora.count();
        int[] counts = new int[slots + 2];
        for (int t = 0; t < tokens; t++) {
            int slot = b.slot(b.tokenSequence(t));
            tokenSlot[t] = slot;
            counts[slot + 2]++;
        }
        for (int i = 1; i < counts.length; i++) {
            counts[i] += counts[i - 1];
        }
        for (int t = 0; t < tokens; t++) {
            order[counts[tokenSlot[t] + 1]++] = t;
        }
    }

    @Override
    public void close() {
        par.close();
    }
}
