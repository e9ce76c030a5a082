package io.twinserve.twin.perf;

import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;

/**
 * A roofline model of one replica's step: each part costs max(FLOPs / achieved FLOP/s, bytes / achieved
 * bandwidth) (Williams, Waterman and Patterson, "Roofline", CACM 2009), plus calibrated overheads.
 *
 * <ul>
 *   <li>linear layers: 2·tokens·params FLOPs; bytes = weights/tp + activations in and out;
 *   <li>attention: 4·heads·head_dim FLOPs per query-key pair (the decodes' pairs at their own FLOP/s
 *       when the parameters give one); bytes = the K/V read over the real context lengths (prefill and
 *       decode);
 *   <li>LM head for the sequences that sample a token;
 *   <li>LoRA: a fixed cost once any adapter is in the batch (the largest step, from 0 to 1 adapter),
 *       a cost per distinct adapter and per unit of its rank, a cost per adapter token and unit of rank
 *       (fitted by engine profiles; 0 in the GPU calibrations), and the adapters' FLOPs and weights read
 *       from HBM on the roofline;
 *   <li>tensor parallelism: two all-reduces of the hidden states per layer (after attention and after
 *       the MLP, Shoeybi et al., "Megatron-LM", 2019), priced by an {@link AllReduceModel};
 *   <li>with LoRA enabled, a cost of every step, one per reserved slot (a lone base-model request slows
 *       down as slots are reserved) and one per reserved slot and tile of the multi-LoRA kernels' launch grid
 *       ({@link #loraTilesPerSlot}: the grid covers every slot over the step's tokens, so many slots cost more
 *       in a step of many tokens), and per adapter token, alone and times the distinct adapters (the
 *       multi-LoRA kernels' work grows with both: fitted jointly across batch sizes);
 *   <li>per-step, per-sequence and per-new-request overheads, and the scheduler's scan of its waiting
 *       queue (per waiting request).
 * </ul>
 *
 * <p>Weights are read at the model's weight dtype and K/V at its KV-cache dtype. With fp8 weights the
 * linear layers and the LM head run at the GPU's fp8 FLOP/s when it has fp8 tensor cores (W8A8, as on
 * Hopper); without them (A100) the weights are upcast and compute stays at the bf16 peak (weight-only
 * fp8: the bytes halve, the FLOP/s do not double). Attention computes at the bf16 peak whatever the KV
 * dtype (an fp8 cache halves the bytes it reads; fp8 attention arithmetic is not modelled). Hidden
 * states, all-reduces and adapters stay at 16 bits ({@link ModelProfile#activationBytes()}).
 *
 * <p>Why one class of about 400 lines: a step's price and a decode stretch's prices must agree to the ns
 * (DecodeStretchPropertyTest), so the terms, their fixed order, the fixed-point attention rates and the stretch
 * that reuses them live together; split apart, each half would have to restate the other's constants.
 */
public final class RooflinePerfModel implements PerfModel {
    private final RooflineParams p;
    private final int tp;
    private final double bandwidth;
    private final double linearFlops;
    private final double attentionFlops;
    /** The decodes' attention FLOP/s where it differs from the prefill chunks'; 0 when the same. */
    private final double decodeAttentionFlops;

    private final double layerWeightBytes;
    private final double headWeightBytes;
    private final double activationBytesPerToken;
    private final double kvBytesPerToken;
    private final double attentionFlopsPerPair;
    private final double linearFlopsPerToken;
    private final double headFlopsPerToken;
    private final double loraBytesPerRank;
    private final double loraFlopsPerTokenRank;
    private final long allReduceBytesPerToken;
    private final AllReduceModel allReduce;
    private final int layers;
    private final double loraBytesPerRankFull;
    /** Layers x the LoRA target projections: the shrink kernel's tiles per tile of tokens, split and rank tile. */
    private final long shrinkTilesPerTokenTile;
    /** Layers x Σ over the target projections of their output width (on one GPU) in the expand kernel's tiles. */
    private final long expandTilesPerTokenTile;
    /**
     * Attention's rates in fixed point, 2^-{@value #FX} ns per prefill pair, decode context token and K/V
     * token read: a step's attention is then a whole number of ns computed in integers, the same whether
     * the step is priced alone or as step i of a decode stretch, where it is affine in i and costs two
     * multiply-adds (the doubles it replaced needed a rounding-margin check per step to agree bit for bit).
     */
    private final long pairFx;

    private final long decodePairFx;
    private final long kvTokenFx;

    /** With the analytic all-reduce of the GPU profile's interconnect. */
    public RooflinePerfModel(ModelProfile model, GpuProfile gpu, int tp, RooflineParams params) {
        this(model, gpu, tp, params, AnalyticAllReduceModel.forGpu(gpu));
    }

    /**
     * @param model the model as served: its weight and KV-cache dtypes set the bytes and the FLOP/s
     * @throws IllegalArgumentException when {@code allReduce} cannot price {@code tp} GPUs
     */
    public RooflinePerfModel(
            ModelProfile model, GpuProfile gpu, int tp, RooflineParams params, AllReduceModel allReduce) {
        this.p = params;
        this.tp = tp;
        this.layers = model.layers();
        boolean fp8 = "fp8".equals(model.dtype());
        this.bandwidth = gpu.hbmBandwidth() * params.hbmEfficiency();
        double linearPeak = fp8 && gpu.fp8Flops() > 0 ? gpu.fp8Flops() : gpu.bf16Flops();
        this.linearFlops = linearPeak * params.flopsEfficiency();
        this.attentionFlops = gpu.bf16Flops() * params.attentionFlopsEfficiency();
        this.decodeAttentionFlops = gpu.bf16Flops() * params.decodeAttentionFlopsEfficiency();
        int weightBytes = model.dtypeBytes();
        int activationBytes = model.activationBytes();
        this.layerWeightBytes = (double) model.layers() * model.paramsPerLayer() * weightBytes / tp;
        this.headWeightBytes = (double) model.vocabSize() * model.hiddenSize() * weightBytes / tp;
        // each layer reads and writes the hidden state about four times (norms, residual, projections)
        this.activationBytesPerToken = 8.0 * model.layers() * model.hiddenSize() * activationBytes;
        this.kvBytesPerToken = (double) model.kvBytesPerTokenPerGpu(tp);
        this.attentionFlopsPerPair = 4.0 * model.layers() * model.heads() * model.headDim() / tp;
        this.linearFlopsPerToken = 2.0 * model.layers() * model.paramsPerLayer() / tp;
        this.headFlopsPerToken = 2.0 * model.vocabSize() * model.hiddenSize() / tp;
        this.loraBytesPerRank = (double) model.loraParamsPerRank() * activationBytes / tp;
        int[][] projections = model.loraProjections();
        this.shrinkTilesPerTokenTile = (long) model.layers() * projections.length;
        int expandTiles = 0;
        for (int i = 0; i < projections.length; i++) {
            // in loraProjections' order (q, k, v, o, gate, up, down) the column-parallel projections are split
            // over tp; the row-parallel ones (o, down) write the whole hidden state on every GPU
            boolean rowParallel = i == 3 || i == 6;
            int out = rowParallel ? projections[i][1] : Math.max(1, projections[i][1] / tp);
            expandTiles += ceilDiv(out, EXPAND_BLOCK_N);
        }
        this.expandTilesPerTokenTile = (long) model.layers() * expandTiles;
        this.loraBytesPerRankFull = (double) model.loraParamsPerRank() * activationBytes;
        this.loraFlopsPerTokenRank = 2.0 * model.loraParamsPerRank() / tp;
        this.allReduceBytesPerToken = (long) model.hiddenSize() * activationBytes;
        this.allReduce = allReduce;
        this.pairFx = fixedPoint(attentionFlopsPerPair / attentionFlops * 1e9);
        this.decodePairFx =
                decodeAttentionFlops == 0 ? pairFx : fixedPoint(attentionFlopsPerPair / decodeAttentionFlops * 1e9);
        this.kvTokenFx = fixedPoint(kvBytesPerToken / bandwidth * 1e9);
        if (tp > 1) {
            // fails now rather than at the first step when the model has no figures for this many GPUs
            allReduce.allReduceNs(0, tp);
        }
    }

    public RooflineParams params() {
        return p;
    }

    @Override
    public long stepNs(StepShape s) {
        if (s.sequences == 0) {
            return 0;
        }
        return (long) constantPartNs(s)
                + attentionWholeNs(s.prefillAttentionPairs, s.decodeContextTokens, s.kvReadTokens);
    }

    /** Fixed-point scale of the attention rates (bits after the point). */
    private static final int FX = 32;

    private static long fixedPoint(double nsPerUnit) {
        double scaled = Math.rint(nsPerUnit * (double) (1L << FX));
        if (!(scaled >= 0 && scaled < 0x1p62)) {
            throw new IllegalArgumentException(
                    "attention rate of " + nsPerUnit + " ns per pair or token is out of range");
        }
        return (long) scaled;
    }

    /**
     * Attention of a step in whole ns (rounded down): max(FLOPs / FLOP/s, K/V bytes read / bandwidth), in
     * the fixed-point rates. Beyond 2^63 of them (no real step) the sums are taken in doubles, and held
     * below 2^60 ns so that the step's sum stays a long.
     */
    long attentionWholeNs(long prefillPairs, long decodeContextTokens, long kvReadTokens) {
        try {
            long compute = Math.addExact(
                    Math.multiplyExact(prefillPairs, pairFx), Math.multiplyExact(decodeContextTokens, decodePairFx));
            long bytes = Math.multiplyExact(kvReadTokens, kvTokenFx);
            return Math.max(compute, bytes) >>> FX;
        } catch (ArithmeticException overflow) {
            double compute = (double) prefillPairs * pairFx + (double) decodeContextTokens * decodePairFx;
            double bytes = (double) kvReadTokens * kvTokenFx;
            return (long) Math.min(0x1p60, Math.floor(Math.max(compute, bytes) / (double) (1L << FX)));
        }
    }

    /**
     * The terms of a step added before attention, in ns (overheads, the waiting queue's scan, LoRA slots,
     * the linear layers). With {@link #afterAttentionNs} they are every term but attention, and stay the
     * same over a decode stretch, where only the decodes' context lengths grow (the waiting count among
     * them: nothing joins or leaves the queue during a stretch). A new per-step term belongs in one of
     * them, so that {@link #decodeStretch} prices it too. The terms are added in one fixed order, so that
     * a stretch's steps are priced bit for bit as {@link #stepNs} prices them.
     */
    double beforeAttentionNs(StepShape s) {
        double t = p.stepOverheadNs()
                + p.perSequenceNs() * s.sequences
                + p.perNewRequestNs() * s.newRequests
                + (p.perWaitingNs() + (s.slotsBlocked ? p.perBlockedWaitingNs() : 0)) * s.waitingSequences;
        if (s.loraSlots > 0) {
            t += p.loraEnabledNs() + p.loraPerSlotNs() * s.loraSlots + p.loraPerLoadedAdapterNs() * s.loadedAdapters;
            if (p.loraPerSlotTileNs() > 0) {
                t += p.loraPerSlotTileNs() * s.loraSlots * loraTilesPerSlot(s.newTokens, s.loraSlotRank);
            }
        }
        if (s.newTokens > GRAPH_MAX_TOKENS) {
            t += p.eagerStepNs();
        }
        t += linearNs(s.newTokens);
        return t;
    }

    /** {@code t} (the step so far, attention included) plus the terms that follow attention, in order. */
    double afterAttentionNs(double t, StepShape s) {
        t += roof(headFlopsPerToken * s.sampledTokens, headWeightBytes, linearFlops);
        if (s.distinctAdapters > 0) {
            // the shape does not say which token uses which adapter: each adapter token counts the mean rank
            double tokenRanks = s.adapterTokens * ((double) s.adapterRankSum / s.distinctAdapters);
            t += p.loraFixedNs()
                    + p.loraPerAdapterNs() * s.distinctAdapters
                    + p.loraPerRankNs() * s.adapterRankSum
                    + p.loraPerTokenRankNs() * tokenRanks
                    + p.loraPerTokenNs() * s.adapterTokens
                    + p.loraPerTokenAdapterNs() * s.adapterTokens * (double) s.distinctAdapters;
            t += roof(loraFlopsPerTokenRank * tokenRanks, loraBytesPerRank * s.adapterRankSum, linearFlops);
        }
        if (tp > 1) {
            t += 2.0 * layers * allReduceNs(s.newTokens);
        }
        return t;
    }

    /** Every term of a step except attention, in ns (a step costs this, truncated, plus its attention). */
    public double constantPartNs(StepShape s) {
        return afterAttentionNs(beforeAttentionNs(s), s);
    }

    /**
     * A decode stretch priced in integers: every term but attention once, and attention as two lines in
     * the step index (compute and K/V bytes, in the fixed-point rates), so that step i costs two
     * multiply-adds and is exactly what {@link #stepNs} gives its shape (DecodeStretchPropertyTest).
     */
    @Override
    public DecodeStretch decodeStretch(StepShape first) {
        return decodeStretch(first, null, -1);
    }

    /**
     * As {@link #decodeStretch(StepShape)}, refilling {@code reuse} when it is one of this model's stretches; the
     * constant part is {@code firstStepNs} less the first step's attention when that is known (the same whole
     * number {@link #stepNs} added it to, so the prices are the same to the ns).
     */
    @Override
    public DecodeStretch decodeStretch(StepShape first, DecodeStretch reuse, long firstStepNs) {
        if (first.sequences == 0) {
            return PerfModel.super.decodeStretch(first);
        }
        long pairs = first.prefillAttentionPairs;
        long context = first.decodeContextTokens;
        long kvRead = first.kvReadTokens;
        long decoders = first.decodeSequences;
        long compute0;
        long computeSlope;
        long bytes0;
        long bytesSlope;
        try {
            compute0 = Math.addExact(Math.multiplyExact(pairs, pairFx), Math.multiplyExact(context, decodePairFx));
            computeSlope = Math.multiplyExact(decoders, decodePairFx);
            bytes0 = Math.multiplyExact(kvRead, kvTokenFx);
            bytesSlope = Math.multiplyExact(decoders, kvTokenFx);
        } catch (ArithmeticException overflow) {
            return PerfModel.super.decodeStretch(first);
        }
        LinearStretch s = reuse instanceof LinearStretch l && l.model == this ? l : new LinearStretch(this);
        s.constant = firstStepNs >= 0
                ? firstStepNs - attentionWholeNs(pairs, context, kvRead)
                : (long) constantPartNs(first);
        s.pairs = pairs;
        s.context = context;
        s.kvRead = kvRead;
        s.decoders = decoders;
        s.compute0 = compute0;
        s.computeSlope = computeSlope;
        s.bytes0 = bytes0;
        s.bytesSlope = bytesSlope;
        // the last step index whose two lines stay within a long (beyond it, each step is priced as alone)
        s.safe = Math.min(
                computeSlope == 0 ? Long.MAX_VALUE : (Long.MAX_VALUE - compute0) / computeSlope,
                bytesSlope == 0 ? Long.MAX_VALUE : (Long.MAX_VALUE - bytes0) / bytesSlope);
        return s;
    }

    /**
     * The prices of one decode stretch ({@link #decodeStretch(StepShape, DecodeStretch)}), mutable so that a loop
     * refills one object per replica instead of allocating one per stretch (a stretch opens after most arrivals and
     * finishes; at light load that allocation was a fifth of a run's bytes).
     */
    private static final class LinearStretch implements DecodeStretch {
        private final RooflinePerfModel model;
        private long constant;
        private long pairs;
        private long context;
        private long kvRead;
        private long decoders;
        private long compute0;
        private long computeSlope;
        private long bytes0;
        private long bytesSlope;
        private long safe;

        LinearStretch(RooflinePerfModel model) {
            this.model = model;
        }

        @Override
        public long stepNs(long i) {
            if (i <= safe) {
                return constant + (Math.max(compute0 + computeSlope * i, bytes0 + bytesSlope * i) >>> FX);
            }
            return constant + model.attentionWholeNs(pairs, context + i * decoders, kvRead + i * decoders);
        }
    }

    /** The most tokens of a step vLLM 0.8 captures CUDA graphs for (its default largest capture size). */
    public static final int GRAPH_MAX_TOKENS = 512;

    /** vLLM 0.8's default tiles of its LoRA kernels (lora/ops/triton_ops utils, without a tuned config file). */
    private static final int SHRINK_BLOCK_M = 32;

    private static final int SHRINK_BLOCK_N = 16;

    private static final int EXPAND_BLOCK_M = 64;
    private static final int EXPAND_BLOCK_N = 128;
    /** The shrink kernel splits its reduction 64 ways below this many tokens, 8 ways from it. */
    private static final int SHRINK_SPLIT_K_TOKENS = 128;

    private static final int SHRINK_SPLIT_K_SMALL = 64;
    private static final int SHRINK_SPLIT_K_LARGE = 8;
    // the tiles are powers of two: counted with shifts, each derived from its size
    private static final int SHRINK_M_SHIFT = Integer.numberOfTrailingZeros(SHRINK_BLOCK_M);
    private static final int SHRINK_N_SHIFT = Integer.numberOfTrailingZeros(SHRINK_BLOCK_N);
    private static final int EXPAND_M_SHIFT = Integer.numberOfTrailingZeros(EXPAND_BLOCK_M);
    private static final int SPLIT_SMALL_SHIFT = Integer.numberOfTrailingZeros(SHRINK_SPLIT_K_SMALL);
    private static final int SPLIT_LARGE_SHIFT = Integer.numberOfTrailingZeros(SHRINK_SPLIT_K_LARGE);

    /**
     * The tiles (thread blocks) the multi-LoRA shrink and expand kernels launch per adapter slot in a step of
     * {@code tokens} tokens on slots sized for {@code slotRank} (0: unknown, as rank 16), over all layers: the grid
     * covers every slot, each slot over tiles of the whole step's tokens (a slot without tokens exits at once, but
     * is launched). Per layer, the shrink launches split-K x ceil(tokens / 32) x ceil(rank / 16) tiles per target
     * projection, the expand ceil(tokens / 64) tiles per 128 output columns of each projection. Why the cost of
     * many slots grows with the step's tokens (a 2,048-token step launches about 18 times a lone decode's tiles),
     * and why rank-32 slots cost more than rank-8 and rank-16 ones, which cost the same (as a lone request's
     * inter-token latency against the slots reserved measures).
     */
    public long loraTilesPerSlot(int tokens, int slotRank) {
        if (tokens <= 0) {
            return 0;
        }
        // priced in every full step: shifts for the powers of two (split-K 64 or 8, tiles of 32 and 64 tokens, of 16
        // of the rank) rather than divisions; the same counts (RooflinePerfModelTest)
        int splitShift = tokens < SHRINK_SPLIT_K_TOKENS ? SPLIT_SMALL_SHIFT : SPLIT_LARGE_SHIFT;
        long rankTiles = (Math.max(1, slotRank) + SHRINK_BLOCK_N - 1) >>> SHRINK_N_SHIFT;
        long shrink = ((((long) tokens + SHRINK_BLOCK_M - 1) >>> SHRINK_M_SHIFT) * rankTiles * shrinkTilesPerTokenTile)
                << splitShift;
        long expand = (((long) tokens + EXPAND_BLOCK_M - 1) >>> EXPAND_M_SHIFT) * expandTilesPerTokenTile;
        return shrink + expand;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** The linear layers of all layers for a batch of {@code tokens} tokens, in ns. */
    public double linearNs(int tokens) {
        // the GEMMs' compute from a floor of linear_token_offset tokens (whole tiles and waves; 0 where not fitted)
        double computeTokens = tokens > 0 ? tokens + p.linearTokenOffset() : 0;
        return roof(
                linearFlopsPerToken * computeTokens, layerWeightBytes + activationBytesPerToken * tokens, linearFlops);
    }

    /** One all-reduce of the hidden states of {@code tokens} tokens across the tp GPUs, in ns. */
    public double allReduceNs(int tokens) {
        return allReduce.allReduceNs(tokens * allReduceBytesPerToken, tp);
    }

    /** max(flops / flopRate, bytes / bandwidth) in ns. */
    private double roof(double flops, double bytes, double flopRate) {
        return Math.max(flops / flopRate, bytes / bandwidth) * 1e9;
    }

    /** Bytes of one adapter of this rank (all target projections, all layers). */
    public double adapterBytes(int rank) {
        return loraBytesPerRankFull * rank;
    }

    /** A fixed cost, the copy of the adapter's bytes, and a padding cost when it is smaller than the slot. */
    @Override
    public long adapterLoadFromCpuNs(int rank, int slotRank) {
        return (long) (p.adapterLoadFixedNs()
                + loraBytesPerRankFull * rank * p.adapterLoadNsPerByte()
                + (rank < slotRank ? p.adapterLoadPaddingNs() : 0));
    }

    @Override
    public long adapterLoadFromStorageNs(int rank) {
        return (long) (p.storageFixedNs() + loraBytesPerRankFull * rank / p.storageBandwidth() * 1e9);
    }

    @Override
    public long requestLatencyNs() {
        return Math.round(p.requestLatencyNs());
    }
}
