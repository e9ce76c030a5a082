package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.RopeTables;
import io.twinserve.engine.backend.cuda.Gpu.Arg;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.sample.Sampler;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * The CUDA backend: the model's layers in device memory in {@link CudaWeightLayout}'s bf16 layout, a paged bf16
 * KV cache, adapter slots at {@code maxRank}, and a forward pass for mixed prefill/decode batches with many
 * adapters that runs the kernels of {@link CudaKernels} on a {@link Gpu}. Linear layers are the GEMV kernel over
 * chunks of at most {@link CudaKernels#GEMV_MAX_TOKENS} tokens, or tensor cores above that where {@link
 * Gpu#tensorCoreLinear} asks (cuBLAS, else {@code ts_gemm_bf16}); attention is a block per row and KV head (split
 * across more blocks for few rows over long contexts) and prefill tiles on tensor cores; decode steps replay CUDA
 * graphs; rows may be drawn on the device. Each fast path has an environment switch (the {@code *_ENV} constants).
 *
 * <p>Per layer: add + RMSNorm (the residual stream in fp32), q, k and v with their biases and LoRA deltas, QK
 * norm + RoPE + KV write, paged attention, o + LoRA, add + RMSNorm, gate/up + LoRA into one row, SiLU-mul, down
 * + LoRA; then the final norm on the rows whose logits are wanted and the LM head.
 *
 * <p>Why it is long: the device state (layers, caches, slots, scratch), its upload through the pinned staging
 * buffers (or, for benchmarks, its fill with random weights on the device), and the one forward pass that walks it, each launch with its arguments spelled out; the layout,
 * metadata and memory plan are in their own classes, and {@link Sizing} is the small request the plan sizes. The
 * decode graphs (their buckets, keys and padded metadata), the cuBLAS path, the attention kernels' choice (rows
 * or prefill tiles) and the slot-grouped LoRA launches add to it. Not yet split: the forward pass (launchStep and
 * its linear, GEMV, attention and LoRA helpers, about 300 lines) could move to a class of its own over the device
 * state; it was left here while its kernels changed without a GPU to run them on, so that the first GPU session
 * debugs one file.
 */
public final class CudaBackend implements Backend {
    /** The size of each of the two pinned staging buffers, at most. */
    static final long STAGING_CHUNK_BYTES = 64L << 20;

    /**
     * @param kvCacheTokens the KV cache's capacity (a multiple of {@code blockSize} is used)
     * @param adapterSlots adapter slots on the device
     * @param maxRank the rank every slot is reserved at
     * @param kvF32 the KV cache stored in fp32 (else bf16, as serving stores it)
     * @param graphBatch decode steps of up to this many sequences replay a CUDA graph captured per padded batch
     *     bucket ({@link #GRAPH_BUCKETS}); 0 launches every kernel of every step
     * @param stepTokens the step buffers' tokens, allocated once at the first step (the memory plan's {@code
     *     max_num_batched_tokens}); 0 sizes them to the steps as they come. A larger step (a model check's) grows
     *     them to its size, freeing the old ones.
     * @param stepRows the step buffers' logit rows, likewise (the plan's {@code max_num_seqs}); 0: as they come
     */
    public record Options(
            long kvCacheTokens,
            int blockSize,
            int adapterSlots,
            int maxRank,
            boolean kvF32,
            int graphBatch,
            int stepTokens,
            int stepRows) {
        /** With a bf16 KV cache and no graphs. */
        public Options(long kvCacheTokens, int blockSize, int adapterSlots, int maxRank) {
            this(kvCacheTokens, blockSize, adapterSlots, maxRank, false, 0);
        }

        /** With the step buffers sized to the steps as they come. */
        public Options(
                long kvCacheTokens, int blockSize, int adapterSlots, int maxRank, boolean kvF32, int graphBatch) {
            this(kvCacheTokens, blockSize, adapterSlots, maxRank, kvF32, graphBatch, 0, 0);
        }

        public Options {
            if (blockSize < 1 || kvCacheTokens < blockSize) {
                throw new IllegalArgumentException(
                        "kv_cache_len " + kvCacheTokens + " must hold at least one block of " + blockSize + " tokens");
            }
            if (adapterSlots < 0 || maxRank < 1 || maxRank > LoraAdapter.MAX_RANK) {
                throw new IllegalArgumentException("adapter slots must be >= 0 and max_lora_rank 1 to "
                        + LoraAdapter.MAX_RANK + ", got " + adapterSlots + " and " + maxRank);
            }
            if (graphBatch < 0 || graphBatch > MAX_GRAPH_BATCH) {
                throw new IllegalArgumentException(
                        "graph batch must be 0 (no graphs) to " + MAX_GRAPH_BATCH + ", got " + graphBatch);
            }
            if (stepTokens < 0 || stepRows < 0) {
                throw new IllegalArgumentException("step tokens and rows must be >= 0 (0: as the steps come), got "
                        + stepTokens + " and " + stepRows);
            }
        }
    }

    /**
     * The padded batch sizes decode graphs are captured for: a decode step of n sequences runs the graph of the
     * smallest bucket of at least n (its padding rows compute nothing anyone reads), so at most a third of a
     * graph's rows are padding above 4.
     */
    static final int[] GRAPH_BUCKETS = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256};

    /** The largest decode batch a graph is captured for. */
    public static final int MAX_GRAPH_BATCH = 256;

    /**
     * The bucket of a decode step of {@code n} sequences: the smallest of {@link #GRAPH_BUCKETS} that holds them,
     * capped at {@code limit}; -1 when {@code n} is above {@code limit} (the step launches its kernels).
     */
    static int graphBucket(int n, int limit) {
        if (n < 1 || n > limit) {
            return -1;
        }
        for (int b : GRAPH_BUCKETS) {
            if (b >= n) {
                return Math.min(b, limit);
            }
        }
        return -1;
    }

    /** The block-table width of a decode graph: the smallest power of two of at least {@code blocks}, and 8. */
    static int graphWidth(int blocks) {
        return Math.max(8, Integer.highestOneBit(Math.max(1, blocks - 1)) << 1);
    }

    /**
     * What a CUDA replica asks of its device, before the memory plan turns it into {@link Options}.
     *
     * @param kvCacheTokens the KV cache asked for, or null for what the plan leaves
     * @param utilization the share of the device's memory the replica may use
     * @param maxBatchedTokens the most tokens of a step (the step buffers are sized by it)
     * @param maxNumSeqs the most sequences (logit rows) of a step
     * @param maxModelLen the longest sequence, 0 for none (a KV cache left over must hold one)
     * @param graphBatch decode steps of up to this many sequences replay CUDA graphs (0: none; see {@link Options})
     */
    public record Sizing(
            Long kvCacheTokens,
            int blockSize,
            int adapterSlots,
            int maxRank,
            double utilization,
            int maxBatchedTokens,
            int maxNumSeqs,
            int maxModelLen,
            boolean kvF32,
            int graphBatch) {
        public Sizing {
            if (blockSize < 1 || (kvCacheTokens != null && kvCacheTokens < blockSize)) {
                throw new IllegalArgumentException(
                        "kv_cache_len " + kvCacheTokens + " must hold at least one block of " + blockSize + " tokens");
            }
            if (adapterSlots < 0 || maxRank < 1 || maxRank > LoraAdapter.MAX_RANK) {
                throw new IllegalArgumentException("adapter slots must be >= 0 and max_lora_rank 1 to "
                        + LoraAdapter.MAX_RANK + ", got " + adapterSlots + " and " + maxRank);
            }
        }

        /** The memory plan's request on a device of {@code deviceBytes}. */
        public CudaMemoryPlan.Request request(long deviceBytes) {
            return new CudaMemoryPlan.Request(
                    deviceBytes,
                    utilization,
                    adapterSlots,
                    maxRank,
                    maxBatchedTokens,
                    maxNumSeqs,
                    blockSize,
                    kvF32 ? 4 : 2,
                    maxModelLen,
                    kvCacheTokens,
                    graphBatch);
        }

        /** The backend's options once {@code plan} has sized the KV cache. */
        public Options options(CudaMemoryPlan plan) {
            return new Options(
                    plan.kvCacheTokens(),
                    blockSize,
                    adapterSlots,
                    maxRank,
                    kvF32,
                    graphBatch,
                    maxBatchedTokens,
                    maxNumSeqs);
        }
    }

    private final Gpu gpu;
    private final ModelConfig c;
    private final Options options;
    private final CudaWeightLayout layout;
    private final long[] layers;
    private final long embed;
    private final long lmHead;
    private final long finalNorm;
    private final long cos;
    private final long sin;
    private final int ropePositions;
    private final long[] keyCache;
    private final long[] valueCache;
    private final int numBlocks;
    /** [layer][projection]: A of every slot ([slot][maxRank][in]) and B ([slot][out][maxRank]). */
    private final long[][] loraA;

    private final long[][] loraB;
    private final long slotRanks;
    private final long slotScales;
    private final int[] ranks;
    private final float[] scales;
    private final String[] slotNames;
    /** Bulk uploads go through it (see {@link Staging}). */
    private final Staging staging;

    private final CudaStepMetadata meta = new CudaStepMetadata();
    private long metaBuffer;
    private int metaCapacity;
    private Scratch scratch;

    /** A captured decode graph: its metadata buffer (fixed, as the graph's pointers are) and its handle. */
    private record DecodeGraph(long meta, long handle) {}

    /** Whether steps above the GEMV's 8 tokens run their linear layers through cuBLAS (when the device has it). */
    private final boolean gemm;

    /** Linear layers run by cuBLAS (for reports and tests). */
    private long gemmCalls;
    /** Whether linear layers of more than 8 tokens run on tensor cores (bf16 inputs; see {@link Gpu#tensorCoreLinear}). */
    private final boolean tensorCoreLinear;
    /** Linear layers run by {@code ts_gemm_bf16}, the backend's own tensor-core GEMM (where cuBLAS is not found). */
    private long tensorCoreGemms;

    /** How the linear layers of more than 8 tokens of the step being launched run. */
    private enum Linear {
        /** {@code ts_gemv_bf16}, 8 tokens a launch (fp32 inputs). */
        GEMV,
        /** cuBLAS, bf16 inputs. */
        CUBLAS,
        /** {@code ts_gemm_bf16}, bf16 inputs. */
        TENSOR_CORES
    }

    private Linear linearNow = Linear.GEMV;

    /** Decode graphs by bucket, block-table width, whether they run the LoRA kernels and whether they draw. */
    private final Map<String, DecodeGraph> graphs = new HashMap<>();
    /** The step buffers of every graph, sized for {@link Options#graphBatch} once (their pointers are in the graphs). */
    private Scratch graphScratch;
    /** Decode steps run by a graph, and graphs captured (for reports and tests). */
    private long graphSteps;

    private long graphCaptures;
    private long gemmGraphs;
    /** The tokens a drawing graph draws, on the device (its bucket's rows) and back in pinned memory. */
    private long graphDrawn;

    private long graphDrawSteps;
    /** The metadata buffers of the graphs captured so far. */
    private long graphMetadataBytes;

    private MemorySegment graphDrawnHost;

    /**
     * Set to 0 to attend prefill rows with the row kernel instead of {@code ts_prefill_attention} (for comparing the
     * two on a GPU); unset or 1 uses it wherever it applies.
     */
    public static final String FLASH_PREFILL_ENV = "TWINSERVE_CUDA_FLASH_PREFILL";

    /** Whether prefill chunks of more than one token go through {@code ts_prefill_attention}'s tensor-core tiles. */
    private final boolean flashPrefill;

    /**
     * Whether {@code ts_prefill_attention} serves this model: head size 128, a bf16 KV cache, no sliding window
     * (the kernel has neither), and not switched off by {@link #FLASH_PREFILL_ENV} ({@code env}, its value or null).
     */
    static boolean flashPrefillFor(ModelConfig c, boolean kvF32, String env) {
        return switchedOn(
                        FLASH_PREFILL_ENV,
                        env,
                        "tensor-core prefill attention where it applies",
                        "the row kernel for every row")
                && c.headDim() == 128
                && !kvF32
                && c.slidingWindow() <= 0;
    }
    /**
     * Set to {@code f32} to bring a step's logits back as fp32; unset or {@code bf16}, they come back as bf16 into
     * pinned memory and are widened on the host. At batch 64 of a 128k-token vocabulary that is 16 MB over the bus by
     * DMA instead of 33 MB staged by the driver from pageable memory (a few milliseconds, against a device step of
     * about 8): vLLM's logits are bf16 too until its sampler widens them, and the numerics gate (max |diff| / max
     * |logit| at most 2e-2) has room for the rounding (at most 2^-8 of a value).
     */
    public static final String LOGITS_ENV = "TWINSERVE_CUDA_LOGITS";

    /** Whether logits come back as bf16: {@link #LOGITS_ENV}'s value ({@code env}, or null) is unset, blank or bf16. */
    static boolean bf16LogitsFor(String env) {
        String value = env == null ? "" : env.strip();
        if (value.isEmpty() || value.equals("bf16")) {
            return true;
        }
        if (value.equals("f32")) {
            return false;
        }
        throw new IllegalArgumentException(LOGITS_ENV + "=" + env + ": expected bf16 (logits back as bf16, widened on"
                + " the host) or f32 (back as fp32)");
    }

    /**
     * Set to 0 to attend every row in one block per (row, KV head) ({@code ts_paged_attention}); unset or 1 splits the
     * positions of steps with few rows over long contexts across more blocks ({@code ts_paged_attention_split}, then
     * {@code ts_attention_combine}; see {@link CudaKernels#attentionSplits}).
     */
    public static final String SPLIT_K_ENV = "TWINSERVE_CUDA_SPLIT_K";

    /**
     * Set to 0 to run a step's gate/up projection and its SiLU-mul as two kernels ({@code ts_gemv_bf16}, then {@code
     * ts_silu_mul}); unset or 1 fuses them ({@code ts_gemv_silu_bf16}) where the GEMV runs them and no adapter adds to
     * the gate/up products.
     */
    public static final String FUSED_SILU_ENV = "TWINSERVE_CUDA_FUSED_SILU";

    /** Whether the gate/up GEMV and the SiLU-mul fuse: {@link #FUSED_SILU_ENV}'s value ({@code env}, or null) is unset, blank or 1. */
    static boolean fusedSiluFor(String env) {
        return switchedOn(
                FUSED_SILU_ENV,
                env,
                "the SiLU-mul in the gate/up GEMV's epilogue",
                "the gate/up GEMV and the SiLU-mul apart");
    }

    /** Whether the gate/up GEMV of a step without adapters ends in the SiLU-mul (see {@link #FUSED_SILU_ENV}). */
    private boolean fusedSilu;

    /** Whether split-K attention is on: {@link #SPLIT_K_ENV}'s value ({@code env}, or null) is unset, blank or 1. */
    static boolean splitKFor(String env) {
        return switchedOn(
                SPLIT_K_ENV,
                env,
                "split the positions of steps with few rows over long contexts",
                "one block per row and KV head");
    }

    /**
     * A fast path's switch, on unless set to 0: {@code env} (the variable {@code name}'s value, or null) unset, blank
     * or 1 is on; anything else is refused, naming the variable and what 1 and 0 mean.
     */
    static boolean switchedOn(String name, String env, String on, String off) {
        String value = env == null ? "" : env.strip();
        if (!value.isEmpty() && !value.equals("0") && !value.equals("1")) {
            throw new IllegalArgumentException(name + "=" + env + ": expected 1 (" + on + ") or 0 (" + off + ")");
        }
        return !value.equals("0");
    }

    /** The fewest positions a split of attention takes ({@link Integer#MAX_VALUE}: no splits). */
    private int minSplitPositions;
    /** Attention launches split (a graph's count once, at its capture). */
    private long splitAttentionLaunches;

    /** Whether a step's logits come back as bf16 (see {@link #LOGITS_ENV}). */
    private final boolean bf16Logits;

    /**
     * Set to 0 to draw every row on the host from logits brought back; unset or 1 lets the live loop draw the rows
     * whose requests have no penalties, logit bias or log-probabilities on the device ({@code ts_sample_rows}), so
     * that a step whose rows are all such brings back only its tokens.
     */
    public static final String DEVICE_DRAWS_ENV = "TWINSERVE_CUDA_DEVICE_DRAWS";

    /** Whether rows may be drawn on the device: {@link #DEVICE_DRAWS_ENV}'s value ({@code env}, or null) is unset, blank or 1. */
    static boolean deviceDrawsFor(String env) {
        return switchedOn(
                DEVICE_DRAWS_ENV,
                env,
                "rows without penalties, bias or log-probabilities drawn on the device",
                "every row drawn on the host");
    }

    private boolean deviceDraws;
    // the draws of a step: packed on the host, on the device, the tokens drawn there and back in pinned memory
    private int[] drawInts = new int[0];
    private int[] drawRows = new int[0];
    private int drawCapacity;
    private long drawBuffer;
    private long drawnBuffer;
    private MemorySegment drawnHost;
    /** Rows drawn on the device so far. */
    private long deviceDrawn;
    /** Pinned host memory the bf16 logits land in, grown to the most rows a step has had. */
    private MemorySegment logitsHost;

    /** Whether decode graphs above the GEMV's tile capture cuBLAS (false once a capture of it failed). */
    private boolean graphGemm = true;

    /** Uploads {@code model} (which the caller keeps open until this closes) to {@code gpu}. */
    public CudaBackend(ModelFiles model, Options options, Gpu gpu) {
        this(model, options, gpu, bf16LogitsFor(System.getenv(LOGITS_ENV)));
    }

    /** As {@link #CudaBackend(ModelFiles, Options, Gpu)}, the logits' way back chosen here, not by {@link #LOGITS_ENV}. */
    CudaBackend(ModelFiles model, Options options, Gpu gpu, boolean bf16Logits) {
        this(model.config(), CudaWeightLayout.of(model), model, 0, options, gpu, bf16Logits);
    }

    /**
     * A model of shape {@code c} whose weights the device fills itself ({@code ts_random_bf16}, uniform in
     * +-{@value #RANDOM_SCALE}, norm weights 1), reading no file: a GPU benchmark's 8B-shaped model in milliseconds
     * instead of 16 GB written and uploaded. The weights depend on {@code seed} alone.
     */
    public static CudaBackend random(ModelConfig c, long seed, Options options, Gpu gpu) {
        return new CudaBackend(
                c, new CudaWeightLayout(c, false), null, seed, options, gpu, bf16LogitsFor(System.getenv(LOGITS_ENV)));
    }

    /** Weights of {@link #random} models and adapters: uniform in +- this. */
    static final float RANDOM_SCALE = 0.02f;

    /** Blocks of a {@code ts_random_bf16} launch (grid-stride: any count of values). */
    private static final int RANDOM_BLOCKS = 264;

    private CudaBackend(
            ModelConfig config,
            CudaWeightLayout layout,
            ModelFiles model,
            long seed,
            Options options,
            Gpu gpu,
            boolean bf16Logits) {
        this.gpu = gpu;
        this.c = config;
        this.options = options;
        this.tensorCoreLinear = gpu.tensorCoreLinear();
        this.gemm = tensorCoreLinear && gpu.hasGemm();
        this.flashPrefill = flashPrefillFor(c, options.kvF32(), System.getenv(FLASH_PREFILL_ENV));
        this.bf16Logits = bf16Logits;
        this.deviceDraws = deviceDrawsFor(System.getenv(DEVICE_DRAWS_ENV));
        this.fusedSilu = fusedSiluFor(System.getenv(FUSED_SILU_ENV));
        this.minSplitPositions =
                splitKFor(System.getenv(SPLIT_K_ENV)) ? CudaKernels.MIN_SPLIT_POSITIONS : Integer.MAX_VALUE;
        if (c.headDim() > CudaKernels.MAX_HEAD_DIM || c.headDim() % 2 != 0) {
            throw new IllegalArgumentException("head_dim " + c.headDim() + ": the CUDA kernels take even head"
                    + " dimensions up to " + CudaKernels.MAX_HEAD_DIM);
        }
        this.layout = layout;
        int n = c.numLayers();
        layers = new long[n];
        long largest =
                Math.max(layout.layerElements, Math.max((long) c.vocabSize() * c.hiddenSize(), largestAdapterMatrix()));
        this.staging = new Staging(Math.min(STAGING_CHUNK_BYTES, 2 * largest));
        if (model != null) {
            // each layer packed on the host (f16 converted to bf16), then copied through the pinned buffers in turn
            short[] host = new short[Math.toIntExact(layout.layerElements)];
            for (int l = 0; l < n; l++) {
                layout.pack(model.layers().get(l), host, 0);
                layers[l] = gpu.alloc(2 * layout.layerElements);
                staging.upload(layers[l], host, host.length);
            }
            embed = upload(model.embed());
            lmHead = model.lmHead() == model.embed() ? embed : upload(model.lmHead());
            finalNorm = upload(model.finalNorm());
        } else {
            long h = c.hiddenSize();
            for (int l = 0; l < n; l++) {
                layers[l] = gpu.alloc(2 * layout.layerElements);
                fillRandom(layers[l], layout.layerElements, tensorSeed(seed, l), RANDOM_SCALE);
                ones(layers[l] + 2 * layout.inputNorm, h);
                ones(layers[l] + 2 * layout.postNorm, h);
            }
            embed = gpu.alloc(2L * c.vocabSize() * h);
            fillRandom(embed, (long) c.vocabSize() * h, tensorSeed(seed, n), RANDOM_SCALE);
            if (c.tieWordEmbeddings()) {
                lmHead = embed;
            } else {
                lmHead = gpu.alloc(2L * c.vocabSize() * h);
                fillRandom(lmHead, (long) c.vocabSize() * h, tensorSeed(seed, n + 1), RANDOM_SCALE);
            }
            finalNorm = gpu.alloc(2 * h);
            ones(finalNorm, h);
        }
        ropePositions = (int) Math.min(c.maxPositionEmbeddings(), options.kvCacheTokens());
        float[] inv = RopeTables.inverseFrequencies(c);
        float[] cosHost = new float[ropePositions * inv.length];
        float[] sinHost = new float[cosHost.length];
        RopeTables.fill(inv, ropePositions, cosHost, sinHost);
        cos = gpu.alloc(4L * cosHost.length);
        sin = gpu.alloc(4L * sinHost.length);
        gpu.copyIn(cos, cosHost, 0, cosHost.length);
        gpu.copyIn(sin, sinHost, 0, sinHost.length);
        numBlocks = (int) (options.kvCacheTokens() / options.blockSize());
        // graphs' padding rows write their K and V into one more block, which no sequence owns
        int physicalBlocks = numBlocks + (options.graphBatch() > 0 ? 1 : 0);
        long cacheBytes =
                (options.kvF32() ? 4L : 2L) * physicalBlocks * c.numKvHeads() * options.blockSize() * c.headDim();
        keyCache = new long[n];
        valueCache = new long[n];
        for (int l = 0; l < n; l++) {
            keyCache[l] = gpu.alloc(cacheBytes);
            valueCache[l] = gpu.alloc(cacheBytes);
        }
        int slots = options.adapterSlots();
        loraA = new long[n][Projection.values().length];
        loraB = new long[n][Projection.values().length];
        if (slots > 0) {
            for (int l = 0; l < n; l++) {
                for (Projection p : Projection.values()) {
                    loraA[l][p.ordinal()] = gpu.alloc(2L * slots * options.maxRank() * p.inDim(c));
                    loraB[l][p.ordinal()] = gpu.alloc(2L * slots * p.outDim(c) * options.maxRank());
                }
            }
        }
        ranks = new int[Math.max(1, slots)];
        scales = new float[Math.max(1, slots)];
        slotNames = new String[slots];
        slotRanks = gpu.alloc(4L * ranks.length);
        slotScales = gpu.alloc(4L * scales.length);
    }

    private long upload(io.twinserve.engine.model.Tensor t) {
        short[] host = new short[Math.multiplyExact(t.rows(), t.cols())];
        CudaWeightLayout.rows(t, host, 0);
        long p = gpu.alloc(2L * host.length);
        staging.upload(p, host, host.length);
        return p;
    }

    /** {@code count} bf16 values at {@code dst}, {@code ts_random_bf16} of {@code seed} times {@code scale} (0: zeros). */
    private void fillRandom(long dst, long count, long seed, float scale) {
        gpu.launch(
                "ts_random_bf16", RANDOM_BLOCKS, 1, 256, Arg.ptr(dst), Arg.i64(count), Arg.i64(seed), Arg.f32(scale));
    }

    /** {@code count} bf16 ones at {@code dst} (a norm's weights). */
    private void ones(long dst, long count) {
        short[] one = new short[Math.toIntExact(count)];
        java.util.Arrays.fill(one, (short) 0x3f80);
        gpu.copyIn(dst, one, 0, one.length);
    }

    /** The seed of tensor {@code i} of a random model or adapter of {@code seed}: far apart streams. */
    private static long tensorSeed(long seed, long i) {
        return seed * 0x2545F4914F6CDD1DL + (i + 1) * 0x632BE59BD9B4E019L;
    }

    /** The most values of one adapter matrix a slot holds (A or B of the widest projection, at max_lora_rank). */
    private long largestAdapterMatrix() {
        long most = 0;
        for (Projection p : Projection.values()) {
            most = Math.max(most, (long) options.maxRank() * Math.max(p.inDim(c), p.outDim(c)));
        }
        return most;
    }

    /**
     * Two pinned host buffers used in turn for every bulk upload (weights at start, adapters into slots): a chunk
     * is copied into one while the device copies the other's on the copy stream, so that packing on the host
     * and the bus overlap; a buffer is written again only once its last copy is done.
     */
    private final class Staging {
        private final MemorySegment[] buffers;
        private final long[] tickets = new long[2];
        private final long chunkBytes;
        private int next;

        Staging(long chunkBytes) {
            this.chunkBytes = Math.max(2, chunkBytes & ~1L);
            this.buffers = new MemorySegment[] {gpu.pinned(this.chunkBytes), gpu.pinned(this.chunkBytes)};
        }

        /** Starts the upload of {@code count} bf16 values of {@code src} to {@code dst}; returns at once. */
        void upload(long dst, short[] src, int count) {
            long bytes = 2L * count;
            for (long done = 0; done < bytes; done += chunkBytes) {
                long n = Math.min(chunkBytes, bytes - done);
                int i = next;
                next ^= 1;
                if (tickets[i] != 0) {
                    gpu.awaitCopy(tickets[i]);
                }
                MemorySegment.copy(
                        src, (int) (done / 2), buffers[i], ValueLayout.JAVA_SHORT_UNALIGNED, 0, (int) (n / 2));
                tickets[i] = gpu.copyInAsync(dst + done, buffers[i], 0, n);
            }
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
        return options.adapterSlots();
    }

    @Override
    public int maxAdapterRank() {
        return options.maxRank();
    }

    @Override
    public long loadAdapter(int slot, LoraAdapter adapter) {
        checkSlot(slot);
        int maxRank = options.maxRank();
        long bytes = 0;
        float scale = adapter.scale();
        for (int l = 0; l < c.numLayers(); l++) {
            for (Projection p : Projection.values()) {
                int in = p.inDim(c);
                int out = p.outDim(c);
                short[] a = new short[maxRank * in];
                short[] b = new short[out * maxRank];
                scale = layout.packAdapter(adapter, l, p, maxRank, a, 0, b, 0);
                // on the copy stream: the next step's kernels wait for it on the device, this thread does not
                staging.upload(loraA[l][p.ordinal()] + 2L * slot * maxRank * in, a, a.length);
                staging.upload(loraB[l][p.ordinal()] + 2L * slot * out * maxRank, b, b.length);
                bytes += 2L * (a.length + b.length);
            }
        }
        ranks[slot] = adapter.rank();
        scales[slot] = scale;
        slotNames[slot] = adapter.name();
        gpu.copyIn(slotRanks, ranks, 0, ranks.length);
        gpu.copyIn(slotScales, scales, 0, scales.length);
        return bytes;
    }

    /**
     * Puts a random adapter of {@code rank} (every projection, uniform in +-{@value #RANDOM_SCALE}, scale 1) into
     * {@code slot}, filled on the device from {@code seed} (for benchmarks: no file, no host copy). Rows of A past
     * the rank are zero, as a loaded adapter's are, so the slot computes exactly a rank-{@code rank} adapter.
     */
    public void loadRandomAdapter(int slot, String name, int rank, long seed) {
        checkSlot(slot);
        int maxRank = options.maxRank();
        if (rank < 1 || rank > maxRank) {
            throw new IllegalArgumentException(
                    "adapter " + name + " has rank " + rank + ", outside 1 to the slots' max_lora_rank " + maxRank);
        }
        long i = 0;
        for (int l = 0; l < c.numLayers(); l++) {
            for (Projection p : Projection.values()) {
                int in = p.inDim(c);
                int out = p.outDim(c);
                long a = loraA[l][p.ordinal()] + 2L * slot * maxRank * in;
                fillRandom(a, (long) rank * in, tensorSeed(seed, i++), RANDOM_SCALE);
                if (rank < maxRank) {
                    fillRandom(a + 2L * rank * in, (long) (maxRank - rank) * in, 0, 0f);
                }
                fillRandom(
                        loraB[l][p.ordinal()] + 2L * slot * out * maxRank,
                        (long) out * maxRank,
                        tensorSeed(seed, i++),
                        RANDOM_SCALE);
            }
        }
        ranks[slot] = rank;
        scales[slot] = 1f;
        slotNames[slot] = name;
        gpu.copyIn(slotRanks, ranks, 0, ranks.length);
        gpu.copyIn(slotScales, scales, 0, scales.length);
    }

    private void checkSlot(int slot) {
        if (slot < 0 || slot >= options.adapterSlots()) {
            throw new IllegalArgumentException(
                    "adapter slot " + slot + " does not exist; there are " + options.adapterSlots());
        }
    }

    @Override
    public void unloadAdapter(int slot) {
        ranks[slot] = 0;
        slotNames[slot] = null;
        gpu.copyIn(slotRanks, ranks, 0, ranks.length);
    }

    /** The step's device buffers, grown to the largest step seen. */
    private final class Scratch {
        final int tokens;
        final long x;
        final long normed;
        final long q;
        final long k;
        final long v;
        final long att;
        final long out;
        final long gateUp;
        final long act;
        final long loraTmp;
        final long lastNormed;
        /** Logit rows the logit buffers hold (a step's rows are its sequences', not its tokens). */
        int logitRows;

        long logits;
        /** The logits in bf16, as they go back to the host (0 when they go back as fp32). */
        long logitsBf16;
        /** Split-K attention's partials, for the most a launch of up to {@link #tokens} rows can have. */
        final long attentionPartials;
        /** A bf16 copy of a linear layer's input for cuBLAS (0 without it). */
        final long inputBf16;

        Scratch(int tokens, int logitRows) {
            this.tokens = tokens;
            long t = tokens;
            x = gpu.alloc(4 * t * c.hiddenSize());
            normed = gpu.alloc(4 * t * c.hiddenSize());
            q = gpu.alloc(4 * t * c.qDim());
            k = gpu.alloc(4 * t * c.kvDim());
            v = gpu.alloc(4 * t * c.kvDim());
            att = gpu.alloc(4 * t * c.qDim());
            out = gpu.alloc(4 * t * c.hiddenSize());
            gateUp = gpu.alloc(4 * t * 2 * c.intermediateSize());
            act = gpu.alloc(4 * t * c.intermediateSize());
            // the shrinks of up to three projections at once (q, k and v)
            loraTmp = gpu.alloc(4 * 3 * t * options.maxRank());
            lastNormed = gpu.alloc(4 * t * c.hiddenSize());
            allocateLogits(Math.max(1, logitRows));
            attentionPartials = gpu.alloc(
                    4 * CudaKernels.maxAttentionPartialFloats(tokens, c.numKvHeads(), c.numHeads(), c.headDim()));
            inputBf16 = tensorCoreLinear
                    ? gpu.alloc(2 * t * Math.max(c.qDim(), Math.max(c.hiddenSize(), c.intermediateSize())))
                    : 0;
        }

        private void allocateLogits(int rows) {
            logitRows = rows;
            logits = gpu.alloc(4L * rows * c.vocabSize());
            logitsBf16 = bf16Logits ? gpu.alloc(2L * rows * c.vocabSize()) : 0;
        }

        private void freeLogits() {
            gpu.free(logits);
            if (logitsBf16 != 0) {
                gpu.free(logitsBf16);
            }
        }

        /**
         * Room for {@code rows} logit rows (the step's launches are not captured in a graph: a graph's scratch holds
         * its bucket's rows from the start): the buffers it outgrows are freed (the last step has finished).
         */
        void ensureLogitRows(int rows) {
            if (rows > logitRows) {
                freeLogits();
                allocateLogits(Math.max(rows, options.stepRows() > 0 ? options.stepRows() : 2 * logitRows));
            }
        }

        /** Frees every buffer (the last step has finished). */
        void free() {
            for (long p :
                    new long[] {x, normed, q, k, v, att, out, gateUp, act, loraTmp, lastNormed, attentionPartials}) {
                gpu.free(p);
            }
            if (inputBf16 != 0) {
                gpu.free(inputBf16);
            }
            freeLogits();
        }
    }

    @Override
    public void forward(ForwardBatch b, float[] logits) {
        int rows = b.assignLogitRows();
        checkLogits(logits, rows);
        copyLogits(run(b, rows), rows, logits);
    }

    @Override
    public boolean drawsOnDevice() {
        return deviceDraws;
    }

    /**
     * As {@link #forward(ForwardBatch, float[])}, the rows {@code draws} marks drawn on the device ({@code
     * ts_sample_rows}, from the fp32 logits) into {@code tokens[row]}; the other rows' logits come back as usual, and
     * none at all when every row is drawn on the device (then only the tokens cross the bus).
     */
    @Override
    public void forward(ForwardBatch b, DeviceDraws draws, int[] tokens, float[] logits) {
        int rows = b.assignLogitRows();
        if (draws.count() > 0 && !deviceDraws) {
            throw new IllegalStateException(
                    "device draws are off (" + DEVICE_DRAWS_ENV + "=0); " + draws.count() + " rows asked");
        }
        if (draws.count() > 0 && draws.rows() != rows) {
            throw new IllegalArgumentException(
                    "the draws are for " + draws.rows() + " logit rows; the step has " + rows);
        }
        if (draws.count() < rows) {
            checkLogits(logits, rows);
        }
        if (tokens.length < rows) {
            throw new IllegalArgumentException(
                    "tokens buffer holds " + tokens.length + "; " + rows + " rows are needed");
        }
        if (draws.count() == rows && rows > 0 && graphable(b, rows)) {
            // every row drawn: the graph draws them after the LM head, and only the tokens come back
            forwardGraph(b, checkBatch(b), draws);
            for (int i = 0; i < rows; i++) {
                tokens[i] = graphDrawnHost.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            }
            deviceDrawn += rows;
            graphDrawSteps++;
            return;
        }
        Scratch s = run(b, rows);
        if (draws.count() < rows) {
            copyLogits(s, rows, logits);
        }
        if (draws.count() > 0) {
            drawOnDevice(s, draws, tokens);
        }
    }

    private void checkLogits(float[] logits, int rows) {
        if (logits.length < (long) rows * c.vocabSize()) {
            throw new IllegalArgumentException("logits buffer holds " + logits.length + " floats; " + rows + " rows of "
                    + c.vocabSize() + " are needed");
        }
    }

    /** The draws' rows drawn by {@code ts_sample_rows} from {@code s.logits}, their tokens into {@code tokens}. */
    private void drawOnDevice(Scratch s, DeviceDraws draws, int[] tokens) {
        int n = draws.count();
        int w = CudaKernels.DRAW_INTS;
        if (drawInts.length < n * w) {
            drawInts = new int[Math.max(n * w, 2 * drawInts.length)];
            drawRows = new int[drawInts.length / w];
        }
        int k = 0;
        for (int row = 0; row < draws.rows(); row++) {
            if (draws.onDevice(row)) {
                CudaStepMetadata.putDraw(draws, row, drawInts, k * w);
                drawRows[k++] = row;
            }
        }
        if (drawCapacity < n) {
            drawCapacity = Math.max(n, 2 * drawCapacity);
            drawBuffer = gpu.alloc(4L * w * drawCapacity);
            drawnBuffer = gpu.alloc(4L * drawCapacity);
            drawnHost = gpu.pinned(4L * drawCapacity);
        }
        gpu.copyIn(drawBuffer, drawInts, 0, n * w);
        gpu.launch(
                "ts_sample_rows",
                n,
                1,
                CudaKernels.SAMPLE_THREADS,
                Arg.ptr(s.logits),
                Arg.i32(c.vocabSize()),
                Arg.ptr(drawBuffer),
                Arg.ptr(drawnBuffer));
        gpu.copyOut(drawnHost, drawnBuffer, 4L * n);
        for (int i = 0; i < n; i++) {
            tokens[drawRows[i]] = drawnHost.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
        }
        deviceDrawn += n;
    }

    /**
     * Runs step {@code b} of {@code rows} logit rows (as a decode graph's replay where it can) and waits for it;
     * returns the buffers it ran in, its logits in {@code logits} (and {@code logitsBf16}).
     */
    private Scratch run(ForwardBatch b, int rows) {
        boolean anyAdapter = checkBatch(b);
        if (graphable(b, rows)) {
            forwardGraph(b, anyAdapter, null);
            return graphScratch;
        }
        int tokens = b.tokens();
        meta.pack(b, options.blockSize(), flashPrefill);
        if (meta.size() > metaCapacity) {
            if (metaBuffer != 0) {
                gpu.free(metaBuffer);
            }
            metaCapacity = Math.max(meta.size(), 2 * metaCapacity);
            metaBuffer = gpu.alloc(4L * metaCapacity);
        }
        gpu.copyIn(metaBuffer, meta.data(), 0, meta.size());
        if (scratch == null || scratch.tokens < tokens) {
            // the plan's step at once where it is known (what the memory plan counted), else doubling; the outgrown
            // buffers are freed, as the previous step has finished
            int size = options.stepTokens() > 0
                    ? Math.max(tokens, options.stepTokens())
                    : Math.max(tokens, scratch == null ? 16 : 2 * scratch.tokens);
            int logitRows = options.stepRows() > 0
                    ? Math.max(rows, options.stepRows())
                    : Math.max(rows, scratch == null ? 1 : scratch.logitRows);
            if (scratch != null) {
                scratch.free();
            }
            scratch = new Scratch(size, logitRows);
        }
        scratch.ensureLogitRows(rows);
        launchStep(scratch, metaBuffer, meta, tokens, rows, anyAdapter, stepLinear(), 0, 0);
        gpu.synchronize();
        return scratch;
    }

    /** Checks that step {@code b}'s adapters are loaded and its positions and blocks fit; returns whether it uses any adapter. */
    private boolean checkBatch(ForwardBatch b) {
        for (int t = 0; t < b.tokens(); t++) {
            int id = b.tokenId(t);
            // the embedding gather trusts its ids: one past the table would read another tensor, or fault
            if (id < 0 || id >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + c.vocabSize());
            }
        }
        boolean anyAdapter = false;
        for (int s = 0; s < b.sequences(); s++) {
            int slot = b.slot(s);
            if (slot >= options.adapterSlots() || (slot >= 0 && slotNames[slot] == null)) {
                throw new IllegalStateException(
                        "sequence " + s + " uses adapter slot " + slot + ", which holds no adapter");
            }
            anyAdapter |= slot >= 0;
            if (b.context(s) + b.count(s) > ropePositions) {
                throw new IllegalArgumentException("sequence " + s + " reaches position " + (b.context(s) + b.count(s))
                        + ", past the " + ropePositions + " the backend was built for");
            }
            if ((b.context(s) + b.count(s) + options.blockSize() - 1) / options.blockSize() > numBlocks) {
                throw new IllegalArgumentException("sequence " + s + " needs more KV blocks than the cache has");
            }
        }
        return anyAdapter;
    }

    /**
     * The step's logits of {@code rows} rows into {@code logits}: as fp32 straight into the array, or as bf16 into
     * pinned memory by DMA, widened on the host (see {@link #LOGITS_ENV}).
     */
    private void copyLogits(Scratch s, int rows, float[] logits) {
        if (rows == 0) {
            return;
        }
        int count = rows * c.vocabSize();
        if (s.logitsBf16 == 0) {
            gpu.copyOut(logits, 0, s.logits, count);
            return;
        }
        long bytes = 2L * count;
        if (logitsHost == null || logitsHost.byteSize() < bytes) {
            // doubling: a few sizes over a run (each freed when the device closes), none per step
            logitsHost = gpu.pinned(Math.max(bytes, logitsHost == null ? 0 : 2 * logitsHost.byteSize()));
        }
        gpu.copyOut(logitsHost, s.logitsBf16, bytes);
        HostBf16.toFloats(logitsHost, logits, rows, c.vocabSize(), Sampler.PARALLEL_FROM_VALUES);
    }

    /** Whether steps without adapters run the gate/up GEMV with the SiLU-mul in its epilogue (see {@link #FUSED_SILU_ENV}). */
    public boolean fusedSilu() {
        return fusedSilu;
    }

    /** Fuses the gate/up GEMV and the SiLU-mul or not (tests: both ways on the same backend). */
    void fusedSilu(boolean on) {
        this.fusedSilu = on;
        // the graphs captured hold the other launches
        graphs.clear();
    }

    /** Turns drawing on the device on or off (tests: the host's draws on the same backend). */
    void deviceDraws(boolean on) {
        this.deviceDraws = on;
    }

    /** Rows drawn on the device so far. */
    public long deviceDrawn() {
        return deviceDrawn;
    }

    /** Sets the fewest positions a split of attention takes (tests: splits on short contexts). */
    void minSplitPositions(int positions) {
        if (positions < 1) {
            throw new IllegalArgumentException("a split takes at least one position, got " + positions);
        }
        this.minSplitPositions = positions;
        graphs.clear();
    }

    /** Attention launches that split their rows' positions (a decode graph's once, when it was captured). */
    public long splitAttentionLaunches() {
        return splitAttentionLaunches;
    }

    /** Whether attention may split the positions of steps with few rows (see {@link #SPLIT_K_ENV}). */
    public boolean splitAttention() {
        return minSplitPositions != Integer.MAX_VALUE;
    }

    /** How a step's logits come back from the device: "bf16" or "f32" (see {@link #LOGITS_ENV}). */
    public String logitsDtype() {
        return bf16Logits ? "bf16" : "f32";
    }

    /**
     * Whether step {@code b} replays a decode graph: graphs are on, and every sequence brings one token and takes
     * one logit row, in order, within {@link Options#graphBatch} sequences.
     */
    private boolean graphable(ForwardBatch b, int rows) {
        int n = b.sequences();
        if (options.graphBatch() == 0 || n > options.graphBatch() || n == 0 || b.tokens() != n || rows != n) {
            return false;
        }
        for (int s = 0; s < n; s++) {
            if (b.count(s) != 1 || b.start(s) != s || b.logitRow(s) != s) {
                return false;
            }
        }
        return true;
    }

    /**
     * A decode step as one metadata copy and one graph launch: the batch padded to its bucket, with block tables of
     * its width class, runs the graph captured for them (captured now, the first time, and then run). With {@code
     * draws} (every row drawn on the device) the graph also draws the rows ({@code ts_sample_rows} after the LM head,
     * the draws in the metadata) and the tokens come back into {@link #graphDrawnHost}, not the logits.
     */
    private void forwardGraph(ForwardBatch b, boolean anyAdapter, DeviceDraws draws) {
        int n = b.sequences();
        int bucket = graphBucket(n, options.graphBatch());
        int blocks = 1;
        for (int s = 0; s < n; s++) {
            blocks = Math.max(blocks, b.blockCount(s));
        }
        int width = graphWidth(blocks);
        meta.packDecode(b, options.blockSize(), bucket, width, numBlocks);
        if (draws != null) {
            meta.packDraws(draws);
        }
        if (graphScratch == null) {
            graphScratch = new Scratch(options.graphBatch(), options.graphBatch());
            graphDrawn = gpu.alloc(4L * options.graphBatch());
            graphDrawnHost = gpu.pinned(4L * options.graphBatch());
        }
        String key = bucket + "x" + width + (anyAdapter ? "+lora" : "") + (draws != null ? "+draw" : "");
        long drawn = draws != null ? graphDrawn : 0;
        DecodeGraph g = graphs.get(key);
        if (g == null) {
            long buffer = gpu.alloc(4L * meta.size());
            graphMetadataBytes += 4L * meta.size();
            // a bucket above the GEMV's 8 tokens captures tensor cores for its linear layers (the GEMV would stream
            // every weight once per 8 rows): cuBLAS, or, should cuBLAS refuse the capture, the backend's own GEMM
            Linear mode = bucket <= CudaKernels.GEMV_MAX_TOKENS || !tensorCoreLinear
                    ? Linear.GEMV
                    : gemm && graphGemm ? Linear.CUBLAS : Linear.TENSOR_CORES;
            long handle;
            try {
                handle = gpu.capture(() -> launchStep(
                        graphScratch, buffer, meta, bucket, bucket, anyAdapter, mode, drawsAt(buffer), drawn));
            } catch (RuntimeException e) {
                if (mode != Linear.CUBLAS) {
                    throw e;
                }
                graphGemm = false;
                System.getLogger(CudaBackend.class.getName())
                        .log(
                                System.Logger.Level.WARNING,
                                "CUDA: cuBLAS could not be captured in a decode graph ({0}); decode graphs use the"
                                        + " backend's own tensor-core GEMM",
                                e.getMessage());
                handle = gpu.capture(() -> launchStep(
                        graphScratch,
                        buffer,
                        meta,
                        bucket,
                        bucket,
                        anyAdapter,
                        Linear.TENSOR_CORES,
                        drawsAt(buffer),
                        drawn));
            }
            if (mode == Linear.CUBLAS && graphGemm) {
                gemmGraphs++;
            }
            g = new DecodeGraph(buffer, handle);
            graphs.put(key, g);
            graphCaptures++;
        }
        gpu.copyIn(g.meta(), meta.data(), 0, meta.size());
        gpu.replay(g.handle());
        graphSteps++;
        gpu.synchronize();
        if (draws != null) {
            gpu.copyOut(graphDrawnHost, graphDrawn, 4L * n);
        }
    }

    /** Where the metadata packed last puts its draws in a device copy at {@code metaBase} (0 when it has none). */
    private long drawsAt(long metaBase) {
        return meta.drawRows() == 0 ? 0 : metaBase + 4L * meta.drawsOffset();
    }

    /** Decode steps a graph ran. */
    public long graphSteps() {
        return graphSteps;
    }

    /**
     * Device bytes of step metadata (the launched steps' buffer, grown to the largest step, and one per graph), which
     * the memory plan does not count: per token its block table, so it grows with the step's tokens times its longest
     * context's blocks.
     */
    long metadataBytes() {
        return 4L * metaCapacity + graphMetadataBytes;
    }

    /** Decode steps whose graph drew every row (only the tokens came back). */
    public long graphDrawSteps() {
        return graphDrawSteps;
    }

    /** Whether prefill chunks attend in {@code ts_prefill_attention}'s tensor-core tiles here (see {@link #FLASH_PREFILL_ENV}). */
    public boolean flashPrefill() {
        return flashPrefill;
    }

    /** Decode graphs captured with cuBLAS for their linear layers (buckets above the GEMV's tile). */
    public long gemmGraphs() {
        return gemmGraphs;
    }

    /** Decode graphs captured (one per bucket, block-table width and LoRA or not that a step needed). */
    public long graphCaptures() {
        return graphCaptures;
    }

    /**
     * Launches a step's kernels over {@code tokens} tokens whose metadata {@code m} describes at {@code metaBase}
     * on the device, into {@code s}; the logits of {@code rows} rows end in {@code s.logits} (and as bf16 in {@code
     * s.logitsBf16} when they go back so). Launches only (no
     * copy, no wait), so that a graph can capture it; with {@code allowGemm} the linear layers of more than 8 tokens
     * go through cuBLAS. With {@code draws} (a device pointer to one draw per row, see {@link
     * CudaStepMetadata#packDraws}) the rows are drawn on the device into {@code drawn} instead of the logits going to
     * bf16.
     */
    private void launchStep(
            Scratch s,
            long metaBase,
            CudaStepMetadata m,
            int tokens,
            int rows,
            boolean anyAdapter,
            Linear linear,
            long draws,
            long drawn) {
        linearNow = linear;
        long bf16 = linear == Linear.GEMV ? 0 : s.inputBf16;
        long ids = metaBase + 4L * m.tokenIdsOffset();
        long positions = metaBase + 4L * m.positionsOffset();
        long slotMapping = metaBase + 4L * m.slotMappingOffset();
        long tokenSlots = metaBase + 4L * m.adapterSlotsOffset();
        long contextLens = metaBase + 4L * m.contextLensOffset();
        long blockTables = metaBase + 4L * m.blockTablesOffset();
        long logitTokens = metaBase + 4L * m.logitTokensOffset();
        long attentionRows = metaBase + 4L * m.attentionRowsOffset();
        long prefillTiles = metaBase + 4L * m.prefillTilesOffset();
        int maxBlocks = m.maxBlocks();
        int h = c.hiddenSize();
        int q = c.qDim();
        int kv = c.kvDim();
        int inter = c.intermediateSize();
        float eps = (float) c.rmsNormEps();
        int threads = 256;
        gpu.launch("ts_embed_gather", tokens, 1, threads, Arg.ptr(embed), Arg.ptr(ids), Arg.i32(h), Arg.ptr(s.x));
        for (int l = 0; l < c.numLayers(); l++) {
            long w = layers[l];
            gpu.launch(
                    "ts_add_rmsnorm",
                    tokens,
                    1,
                    threads,
                    Arg.ptr(s.x),
                    l == 0 ? Arg.NULL : Arg.ptr(s.out),
                    Arg.ptr(w + 2 * layout.inputNorm),
                    Arg.NULL,
                    Arg.i32(h),
                    Arg.f32(eps),
                    Arg.ptr(s.normed));
            long qkv = w + 2 * layout.qkv;
            long bias = layout.qkvBias < 0 ? 0 : w + 2 * layout.qkvBias;
            linearQkv(bf16, qkv, q, kv, h, s.normed, tokens, bias, s.q, s.k, s.v);
            if (anyAdapter) {
                lora(
                        s.loraTmp,
                        l,
                        s.normed,
                        tokens,
                        tokenSlots,
                        new Projection[] {Projection.Q, Projection.K, Projection.V},
                        new long[] {s.q, s.k, s.v},
                        new int[] {q, kv, kv});
            }
            gpu.launch(
                    "ts_qk_rope_kv_write",
                    tokens,
                    c.numHeads() + c.numKvHeads(),
                    32,
                    Arg.ptr(s.q),
                    Arg.ptr(s.k),
                    Arg.ptr(s.v),
                    Arg.ptr(positions),
                    Arg.ptr(cos),
                    Arg.ptr(sin),
                    layout.qNorm < 0 ? Arg.NULL : Arg.ptr(w + 2 * layout.qNorm),
                    layout.kNorm < 0 ? Arg.NULL : Arg.ptr(w + 2 * layout.kNorm),
                    Arg.f32(eps),
                    Arg.i32(c.numHeads()),
                    Arg.i32(c.numKvHeads()),
                    Arg.i32(c.headDim()),
                    Arg.ptr(slotMapping),
                    Arg.ptr(keyCache[l]),
                    Arg.ptr(valueCache[l]),
                    Arg.i32(options.blockSize()),
                    Arg.i32(options.kvF32() ? 1 : 0));
            float scale = (float) (1.0 / Math.sqrt(c.headDim()));
            if (m.attentionRows() > 0) {
                attention(s, l, m.attentionRows(), maxBlocks, blockTables, contextLens, attentionRows);
            }
            if (m.prefillTiles() > 0) {
                gpu.launch(
                        "ts_prefill_attention",
                        m.prefillTiles(),
                        c.numHeads(),
                        32,
                        Arg.ptr(s.q),
                        Arg.ptr(keyCache[l]),
                        Arg.ptr(valueCache[l]),
                        Arg.ptr(blockTables),
                        Arg.i32(maxBlocks),
                        Arg.ptr(contextLens),
                        Arg.ptr(prefillTiles),
                        Arg.i32(c.numHeads()),
                        Arg.i32(c.numKvHeads()),
                        Arg.i32(options.blockSize()),
                        Arg.f32(scale),
                        Arg.ptr(s.att));
            }
            linear(bf16, w + 2 * layout.o, h, q, s.att, tokens, 0, s.out);
            if (anyAdapter) {
                lora(
                        s.loraTmp,
                        l,
                        s.att,
                        tokens,
                        tokenSlots,
                        new Projection[] {Projection.O},
                        new long[] {s.out},
                        new int[] {h});
            }
            gpu.launch(
                    "ts_add_rmsnorm",
                    tokens,
                    1,
                    threads,
                    Arg.ptr(s.x),
                    Arg.ptr(s.out),
                    Arg.ptr(w + 2 * layout.postNorm),
                    Arg.NULL,
                    Arg.i32(h),
                    Arg.f32(eps),
                    Arg.ptr(s.normed));
            if (!anyAdapter && fusedSilu && !tensorCores(bf16, w + 2 * layout.gateUp, h, tokens)) {
                // no LoRA delta to add before the silu: the GEMV's epilogue takes it
                gemvSilu(w + 2 * layout.gateUp, inter, h, s.normed, tokens, s.act);
            } else {
                linear(bf16, w + 2 * layout.gateUp, 2 * inter, h, s.normed, tokens, 0, s.gateUp);
                if (anyAdapter) {
                    lora(
                            s.loraTmp,
                            l,
                            s.normed,
                            tokens,
                            tokenSlots,
                            new Projection[] {Projection.GATE, Projection.UP},
                            new long[] {s.gateUp, s.gateUp + 4L * inter},
                            new int[] {2 * inter, 2 * inter});
                }
                gpu.launch("ts_silu_mul", tokens, 1, threads, Arg.ptr(s.gateUp), Arg.i32(inter), Arg.ptr(s.act));
            }
            linear(bf16, w + 2 * layout.down, h, inter, s.act, tokens, 0, s.out);
            if (anyAdapter) {
                lora(
                        s.loraTmp,
                        l,
                        s.act,
                        tokens,
                        tokenSlots,
                        new Projection[] {Projection.DOWN},
                        new long[] {s.out},
                        new int[] {h});
            }
        }
        if (rows > 0) {
            gpu.launch(
                    "ts_add_rmsnorm",
                    rows,
                    1,
                    threads,
                    Arg.ptr(s.x),
                    Arg.ptr(s.out),
                    Arg.ptr(finalNorm),
                    Arg.ptr(logitTokens),
                    Arg.i32(h),
                    Arg.f32(eps),
                    Arg.ptr(s.lastNormed));
            linear(bf16, lmHead, c.vocabSize(), h, s.lastNormed, rows, 0, s.logits);
            if (draws != 0) {
                gpu.launch(
                        "ts_sample_rows",
                        rows,
                        1,
                        CudaKernels.SAMPLE_THREADS,
                        Arg.ptr(s.logits),
                        Arg.i32(c.vocabSize()),
                        Arg.ptr(draws),
                        Arg.ptr(drawn));
            } else if (s.logitsBf16 != 0) {
                long count = (long) rows * c.vocabSize();
                gpu.launch(
                        "ts_to_bf16",
                        (int) Math.min(4096, (count + 255) / 256),
                        1,
                        256,
                        Arg.ptr(s.logits),
                        Arg.i64(count),
                        Arg.ptr(s.logitsBf16));
            }
        }
    }

    /**
     * Layer {@code l}'s attention for the {@code rows} rows listed at {@code rowList} (those no prefill tile covers):
     * one block per (row, KV head), or, for few rows over long contexts, each row's positions split across blocks
     * and the splits combined (FlashDecoding; {@link CudaKernels#attentionSplits}), from q into {@code s.att}.
     */
    private void attention(
            Scratch s, int l, int rows, int maxBlocks, long blockTables, long contextLens, long rowList) {
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        int splits =
                CudaKernels.attentionSplits(rows, c.numKvHeads(), maxBlocks * options.blockSize(), minSplitPositions);
        Arg[] args = {
            Arg.ptr(s.q),
            Arg.ptr(keyCache[l]),
            Arg.ptr(valueCache[l]),
            Arg.ptr(blockTables),
            Arg.i32(maxBlocks),
            Arg.ptr(contextLens),
            Arg.i32(c.numHeads()),
            Arg.i32(c.numKvHeads()),
            Arg.i32(c.headDim()),
            Arg.i32(options.blockSize()),
            Arg.f32(scale),
            Arg.i32(c.slidingWindow()),
            Arg.ptr(splits > 1 ? s.attentionPartials : s.att),
            Arg.i32(options.kvF32() ? 1 : 0),
            Arg.ptr(rowList)
        };
        int threads = CudaKernels.attentionThreads(c.numHeads(), c.numKvHeads());
        if (splits == 1) {
            gpu.launch("ts_paged_attention", rows, c.numKvHeads(), threads, args);
            return;
        }
        gpu.launchGrid3("ts_paged_attention_split", rows, c.numKvHeads(), splits, threads, args);
        gpu.launch(
                "ts_attention_combine",
                rows,
                c.numHeads(),
                Math.min(256, (c.headDim() + 31) / 32 * 32),
                Arg.ptr(s.attentionPartials),
                Arg.i32(splits),
                Arg.i32(c.numHeads()),
                Arg.i32(c.headDim()),
                Arg.ptr(rowList),
                Arg.ptr(s.att));
        splitAttentionLaunches++;
    }

    /**
     * y[t] = W x[t] (+ bias) for {@code tokens} rows: on tensor cores when {@code bf16} (a buffer for x in bf16) is
     * given and the step has more than the GEMV's 8 tokens (the bias then added by {@link #addBias}), else in GEMV
     * launches of up to 8 tokens with the bias in their epilogue.
     */
    private void linear(long bf16, long w, int n, int k, long x, int tokens, long bias, long y) {
        if (tensorCores(bf16, w, k, tokens)) {
            toBf16(x, (long) tokens * k, bf16);
            multiply(bf16, w, n, k, tokens, y);
            if (bias != 0) {
                addBias(y, bias, n, tokens);
            }
            return;
        }
        gemv(w, n, k, x, tokens, bias, new long[] {y}, new int[] {n});
    }

    /** {@code ts_add_bias_rows}: the bf16 {@code bias} of {@code n} outputs added to each of {@code tokens} rows of y. */
    private void addBias(long y, long bias, int n, int tokens) {
        long count = (long) tokens * n;
        gpu.launch(
                "ts_add_bias_rows",
                (int) Math.min(4096, (count + 255) / 256),
                1,
                256,
                Arg.ptr(y),
                Arg.ptr(bias),
                Arg.i32(n),
                Arg.i64(count));
    }

    /** {@code ts_to_bf16}: {@code count} values of x into {@code bf16}. */
    private void toBf16(long x, long count, long bf16) {
        gpu.launch(
                "ts_to_bf16",
                (int) Math.min(4096, (count + 255) / 256),
                1,
                256,
                Arg.ptr(x),
                Arg.i64(count),
                Arg.ptr(bf16));
    }

    /** y = W x on tensor cores over {@code bf16}, x already in bf16: cuBLAS or the backend's own GEMM. */
    private void multiply(long bf16, long w, int n, int k, int tokens, long y) {
        if (linearNow == Linear.CUBLAS) {
            gpu.gemmBf16(tokens, n, k, w, bf16, y);
            gemmCalls++;
            return;
        }
        gpu.launch(
                "ts_gemm_bf16",
                (n + CudaKernels.GEMM_TILE - 1) / CudaKernels.GEMM_TILE,
                (tokens + CudaKernels.GEMM_TILE - 1) / CudaKernels.GEMM_TILE,
                CudaKernels.GEMM_THREADS,
                Arg.ptr(w),
                Arg.ptr(bf16),
                Arg.ptr(y),
                Arg.i32(tokens),
                Arg.i32(n),
                Arg.i32(k));
        tensorCoreGemms++;
    }

    /**
     * q, k and v from the fused q/k/v weight ({@code q} + 2 {@code kv} rows of {@code k} inputs, the bias likewise
     * fused when there is one) into their three buffers: one GEMV launch per 8 tokens for all three (the k and v
     * rows alone, 1,024 each in Llama-3.1-8B, would leave most of a GPU idle), or, where {@link #linear} takes tensor
     * cores, the input converted to bf16 once and three GEMMs.
     */
    private void linearQkv(
            long bf16, long w, int q, int kv, int k, long x, int tokens, long bias, long yq, long yk, long yv) {
        if (tensorCores(bf16, w, k, tokens)
                && tensorCores(bf16, w + 2L * q * k, k, tokens)
                && tensorCores(bf16, w + 2L * (q + kv) * k, k, tokens)) {
            // the input in bf16 once, for the three
            toBf16(x, (long) tokens * k, bf16);
            multiply(bf16, w, q, k, tokens, yq);
            multiply(bf16, w + 2L * q * k, kv, k, tokens, yk);
            multiply(bf16, w + 2L * (q + kv) * k, kv, k, tokens, yv);
            if (bias != 0) {
                // the fused bias likewise [q | k | v] (bf16)
                addBias(yq, bias, q, tokens);
                addBias(yk, bias + 2L * q, kv, tokens);
                addBias(yv, bias + 2L * (q + kv), kv, tokens);
            }
            return;
        }
        gemv(w, q + 2 * kv, k, x, tokens, bias, new long[] {yq, yk, yv}, new int[] {q, kv, kv});
    }

    /**
     * {@code ts_gemv_silu_bf16} over {@code tokens} rows of {@code x}, 8 at a time: the fused gate/up weight's 2
     * {@code inter} rows multiplied and their SiLU-mul written to {@code act} ([tokens][inter]).
     */
    private void gemvSilu(long w, int inter, int k, long x, int tokens, long act) {
        int grid = (inter + CudaKernels.GEMV_ROWS_PER_BLOCK - 1) / CudaKernels.GEMV_ROWS_PER_BLOCK;
        for (int t0 = 0; t0 < tokens; t0 += CudaKernels.GEMV_MAX_TOKENS) {
            int count = Math.min(CudaKernels.GEMV_MAX_TOKENS, tokens - t0);
            gpu.launch(
                    "ts_gemv_silu_bf16",
                    grid,
                    1,
                    CudaKernels.GEMV_THREADS,
                    Arg.ptr(w),
                    Arg.i32(inter),
                    Arg.i32(k),
                    Arg.ptr(x + 4L * t0 * k),
                    Arg.i32(count),
                    Arg.ptr(act + 4L * t0 * inter));
        }
    }

    /**
     * {@code ts_gemv_bf16} over {@code tokens} rows of {@code x}, 8 at a time: the weight's {@code n} rows into one
     * output, or (three outputs) its rows split by {@code widths} into {@code ys} (each [tokens][its width]).
     */
    private void gemv(long w, int n, int k, long x, int tokens, long bias, long[] ys, int[] widths) {
        int grid = (n + CudaKernels.GEMV_ROWS_PER_BLOCK - 1) / CudaKernels.GEMV_ROWS_PER_BLOCK;
        boolean split = ys.length == 3;
        for (int t0 = 0; t0 < tokens; t0 += CudaKernels.GEMV_MAX_TOKENS) {
            int count = Math.min(CudaKernels.GEMV_MAX_TOKENS, tokens - t0);
            gpu.launch(
                    "ts_gemv_bf16",
                    grid,
                    1,
                    CudaKernels.GEMV_THREADS,
                    Arg.ptr(w),
                    Arg.i32(n),
                    Arg.i32(k),
                    Arg.ptr(x + 4L * t0 * k),
                    Arg.i32(count),
                    bias == 0 ? Arg.NULL : Arg.ptr(bias),
                    Arg.NULL,
                    Arg.ptr(ys[0] + 4L * t0 * widths[0]),
                    split ? Arg.ptr(ys[1] + 4L * t0 * widths[1]) : Arg.NULL,
                    split ? Arg.ptr(ys[2] + 4L * t0 * widths[2]) : Arg.NULL,
                    Arg.i32(split ? widths[0] : 0),
                    Arg.i32(split ? widths[0] + widths[1] : 0));
        }
    }

    /** Linear layers run by cuBLAS so far. */
    /** Linear layers run by the backend's own tensor-core GEMM ({@code ts_gemm_bf16}). */
    public long tensorCoreGemms() {
        return tensorCoreGemms;
    }

    /**
     * How prefill steps' linear layers run here: "cublas", "tensor cores" (the backend's own GEMM, where cuBLAS is not
     * found) or "gemv" (see {@link DriverGpu#CUBLAS_ENV}).
     */
    public String prefillLinear() {
        return stepLinear() == Linear.CUBLAS ? "cublas" : stepLinear() == Linear.TENSOR_CORES ? "tensor cores" : "gemv";
    }

    private Linear stepLinear() {
        return !tensorCoreLinear ? Linear.GEMV : gemm ? Linear.CUBLAS : Linear.TENSOR_CORES;
    }

    /**
     * Whether a linear layer goes to tensor cores: the step's mode allows it ({@code bf16}, the input's bf16 buffer,
     * is given), it has more than the GEMV's 8 tokens (a bias is added after it, {@link #addBias}), and (for the
     * backend's own GEMM) its K is a
     * multiple of 8 and its weight 16-byte aligned, as the kernel's 16-byte loads need.
     */
    private boolean tensorCores(long bf16, long w, int k, int tokens) {
        if (bf16 == 0 || tokens <= CudaKernels.GEMV_MAX_TOKENS) {
            return false;
        }
        return linearNow == Linear.CUBLAS || (k % 8 == 0 && (w & 15) == 0);
    }

    public long gemmCalls() {
        return gemmCalls;
    }

    /**
     * Adds the LoRA deltas of {@code ps} (one to three projections that read the same input {@code x}) into their
     * outputs: projection i's columns of rows of {@code strides[i]} from {@code ys[i]}. Two launches whatever the
     * number of slots and projections: the shrinks, then the expands, each grouped by slot so that an adapter's
     * weights are read once per step.
     */
    private void lora(
            long tmp, int layer, long x, int tokens, long tokenSlots, Projection[] ps, long[] ys, int[] strides) {
        int maxRank = options.maxRank();
        int slots = options.adapterSlots();
        Arg[] a = new Arg[3];
        int maxOut = 0;
        for (int i = 0; i < 3; i++) {
            a[i] = i < ps.length ? Arg.ptr(loraA[layer][ps[i].ordinal()]) : Arg.NULL;
            if (i < ps.length) {
                maxOut = Math.max(maxOut, ps[i].outDim(c));
            }
        }
        gpu.launchGrid3(
                "ts_lora_shrink",
                slots + 1,
                (maxRank + 7) / 8,
                ps.length,
                256,
                Arg.ptr(x),
                Arg.i32(ps[0].inDim(c)),
                a[0],
                a[1],
                a[2],
                Arg.ptr(tokenSlots),
                Arg.i32(tokens),
                Arg.ptr(slotRanks),
                Arg.i32(maxRank),
                Arg.ptr(tmp));
        Arg[] e = new Arg[12];
        for (int i = 0; i < 3; i++) {
            boolean on = i < ps.length;
            e[4 * i] = on ? Arg.ptr(loraB[layer][ps[i].ordinal()]) : Arg.NULL;
            e[4 * i + 1] = Arg.i32(on ? ps[i].outDim(c) : 0);
            e[4 * i + 2] = on ? Arg.ptr(ys[i]) : Arg.NULL;
            e[4 * i + 3] = Arg.i32(on ? strides[i] : 0);
        }
        gpu.launchGrid3(
                "ts_lora_expand",
                slots,
                (maxOut + 255) / 256,
                ps.length,
                256,
                Arg.ptr(tmp),
                Arg.i32(tokens),
                e[0],
                e[1],
                e[2],
                e[3],
                e[4],
                e[5],
                e[6],
                e[7],
                e[8],
                e[9],
                e[10],
                e[11],
                Arg.ptr(tokenSlots),
                Arg.ptr(slotRanks),
                Arg.ptr(slotScales),
                Arg.i32(maxRank));
    }

    /** How the KV cache is stored: bf16, or f32. */
    public io.twinserve.engine.model.DType kvCacheDtype() {
        return options.kvF32() ? io.twinserve.engine.model.DType.F32 : io.twinserve.engine.model.DType.BF16;
    }

    /**
     * The fast paths this backend runs with, as its switches resolved them (the {@code TWINSERVE_CUDA_*} variables
     * and what the device and the model allow): recorded with an engine profile, whose timings depend on them.
     */
    public java.util.Map<String, Object> fastPaths() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("graph_batch", options.graphBatch());
        m.put("device_draws", deviceDraws);
        m.put("flash_prefill", flashPrefill);
        m.put("split_attention", splitAttention());
        m.put("fused_silu", fusedSilu);
        m.put("logits_dtype", logitsDtype());
        m.put("prefill_linear", prefillLinear());
        return m;
    }

    /** The device's name, for reports and profiles. */
    public String deviceName() {
        return gpu.name();
    }

    /** The device's memory in bytes. */
    public long deviceMemoryBytes() {
        return gpu.memoryBytes();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public void close() {
        gpu.close();
    }
}
