package io.twinserve.twin.perf;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import java.util.List;

/**
 * The calibrated constants of the roofline model (fitted by {@code twinserve calibrate}).
 *
 * @param hbmEfficiency achieved fraction of the datasheet memory bandwidth
 * @param flopsEfficiency achieved fraction of the datasheet dense FLOP/s in the linear layers
 * @param attentionFlopsEfficiency achieved fraction of the FLOP/s in attention
 * @param decodeAttentionFlopsEfficiency the same for the decodes' attention when it differs from the
 *     prefill chunks' (0: the same; a CPU's decode attention, every sequence reading its own K/V, runs at
 *     a fraction of its prefill attention's rate, and engine profiles fit both)
 * @param stepOverheadNs fixed cost of every step (scheduling, launches, sampling set-up)
 * @param perSequenceNs cost per sequence in the batch (input preparation, sampling, detokenisation)
 * @param perNewRequestNs cost per request starting its prefill (admission, tokenisation hand-off)
 * @param loraFixedNs cost of a step that holds any adapter at all (the 0 to 1 adapter jump)
 * @param loraPerAdapterNs cost per distinct adapter in the batch (kernel segments)
 * @param loraPerRankNs additional cost per distinct adapter and unit of rank
 * @param loraPerTokenRankNs additional cost per adapter token and unit of its adapter's rank, beyond the
 *     roofline's LoRA FLOP term (0 where the FLOP term at the linear layers' rate covers it; a CPU's LoRA
 *     kernels run well below that rate, and engine profiles fit it)
 * @param adapterLoadFixedNs fixed cost of copying an adapter from host memory into a slot
 * @param adapterLoadPaddingNs extra cost when the adapter's rank is below the slots' max rank
 * @param adapterLoadNsPerByte cost per adapter byte copied from host memory (fitted; the study's loads
 *     barely grow with rank, so the copy is not bandwidth-bound there)
 * @param storageBandwidth bytes/s from storage into host memory (not calibrated by the shipped data)
 * @param storageFixedNs fixed cost of reading an adapter from storage
 * @param perWaitingNs cost per request waiting in the queue, per step: the scheduler scans its waiting
 *     queue every step (vLLM V1's per-step scheduling time grows with it; fitted on the study's
 *     scheduler-overhead runs)
 * @param loraEnabledNs cost of every step of a replica with LoRA enabled, adapters in the batch or not
 *     (LoRA metadata and the punica kernels' launches over the adapter slots)
 * @param loraPerSlotNs additional cost per step and reserved adapter slot when LoRA is enabled (a lone
 *     base-model request's inter-token latency grows with the slots reserved)
 * @param loraPerTokenNs cost per adapter token (shrink and expand over the tokens, whatever their adapter)
 * @param loraPerTokenAdapterNs cost per adapter token and distinct adapter in the batch: the multi-LoRA
 *     kernels' work grows with both, which is why saturated batches of many adapters slow down far more
 *     than a per-adapter constant explains
 * @param perBlockedWaitingNs additional cost per waiting request and step while every adapter slot is
 *     pinned: vLLM's scheduler then walks the whole queue skipping requests it cannot admit
 * @param loraPerLoadedAdapterNs cost per step and adapter held in a GPU slot, in the batch or not (an empty
 *     reserved slot costs {@code loraPerSlotNs} alone)
 * @param loraPerSlotTileNs cost per step, reserved adapter slot and tile of the multi-LoRA kernels' launch grid
 *     ({@link RooflinePerfModel#loraTilesPerSlot}): vLLM's Triton shrink and expand kernels launch their tiles of
 *     tokens for every slot, and a tile of a slot without tokens in the step exits at once, yet is launched
 * @param requestLatencyNs time a request spends outside the engine's steps before its first token reaches
 *     the client (HTTP, tokenisation, the hand-off to the engine process, detokenisation, streaming): the
 *     server sees each request this long after it was sent (its TTFT and end-to-end latency include it)
 * @param linearTokenOffset tokens' worth of compute the linear layers spend on any step whatever its tokens, when
 *     their FLOPs bound it: a GEMM runs whole tiles and waves of tiles over the GPU's multiprocessors, so its time
 *     grows with the tokens from a floor rather than from 0 (the decode bursts of 50 to 1,000 sequences: their
 *     step grows about 3.3 ms per 100 sequences from 200 to 600 and 2 ms from 800 to 1,000, a line in the tokens
 *     that does not pass through 0; 0 where not fitted)
 * @param eagerStepNs additional cost of a step of more tokens than the largest captured CUDA graph
 *     ({@link RooflinePerfModel#GRAPH_MAX_TOKENS}): vLLM 0.8 replays a captured graph for a step of up to 512 tokens
 *     and launches the model's kernels one by one above that (0 where not fitted)
 */
public record RooflineParams(
        double hbmEfficiency,
        double flopsEfficiency,
        double attentionFlopsEfficiency,
        // absent from GPU calibrations and calibrations written before it existed: 0
        @JsonSetter(nulls = Nulls.AS_EMPTY) double decodeAttentionFlopsEfficiency,
        double stepOverheadNs,
        double perSequenceNs,
        double perNewRequestNs,
        double loraFixedNs,
        double loraPerAdapterNs,
        double loraPerRankNs,
        // absent from calibrations written before it existed, and from GPU calibrations: 0
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerTokenRankNs,
        double adapterLoadFixedNs,
        double adapterLoadPaddingNs,
        double adapterLoadNsPerByte,
        double storageBandwidth,
        double storageFixedNs,
        // absent from calibrations written before they existed, and from engine profiles: 0
        @JsonSetter(nulls = Nulls.AS_EMPTY) double perWaitingNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraEnabledNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerSlotNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerTokenNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerTokenAdapterNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double perBlockedWaitingNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double requestLatencyNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerLoadedAdapterNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerSlotTileNs,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double linearTokenOffset,
        @JsonSetter(nulls = Nulls.AS_EMPTY) double eagerStepNs) {

    public RooflineParams {
        check("hbm_efficiency", hbmEfficiency, 0, 1);
        check("flops_efficiency", flopsEfficiency, 0, 1);
        check("attention_flops_efficiency", attentionFlopsEfficiency, 0, 1);
        if (decodeAttentionFlopsEfficiency != 0) {
            check("decode_attention_flops_efficiency", decodeAttentionFlopsEfficiency, 0, 1);
        }
        if (!(adapterLoadNsPerByte >= 0)) {
            throw new IllegalArgumentException("adapter_load_ns_per_byte must be >= 0, got " + adapterLoadNsPerByte);
        }
        cost(Term.STEP_OVERHEAD_NS, stepOverheadNs);
        cost(Term.PER_SEQUENCE_NS, perSequenceNs);
        cost(Term.PER_NEW_REQUEST_NS, perNewRequestNs);
        cost(Term.LORA_FIXED_NS, loraFixedNs);
        cost(Term.LORA_PER_ADAPTER_NS, loraPerAdapterNs);
        cost(Term.LORA_PER_RANK_NS, loraPerRankNs);
        cost(Term.LORA_PER_TOKEN_RANK_NS, loraPerTokenRankNs);
        cost(Term.ADAPTER_LOAD_FIXED_NS, adapterLoadFixedNs);
        cost(Term.ADAPTER_LOAD_PADDING_NS, adapterLoadPaddingNs);
        cost(Term.STORAGE_FIXED_NS, storageFixedNs);
        cost(Term.PER_WAITING_NS, perWaitingNs);
        cost(Term.LORA_ENABLED_NS, loraEnabledNs);
        cost(Term.LORA_PER_SLOT_NS, loraPerSlotNs);
        cost(Term.LORA_PER_TOKEN_NS, loraPerTokenNs);
        cost(Term.LORA_PER_TOKEN_ADAPTER_NS, loraPerTokenAdapterNs);
        cost(Term.PER_BLOCKED_WAITING_NS, perBlockedWaitingNs);
        cost(Term.REQUEST_LATENCY_NS, requestLatencyNs);
        cost(Term.LORA_PER_LOADED_ADAPTER_NS, loraPerLoadedAdapterNs);
        cost(Term.LORA_PER_SLOT_TILE_NS, loraPerSlotTileNs);
        cost(Term.LINEAR_TOKEN_OFFSET, linearTokenOffset);
        cost(Term.EAGER_STEP_NS, eagerStepNs);
        if (!(storageBandwidth > 0)) {
            throw new IllegalArgumentException("storage_bandwidth must be > 0, got " + storageBandwidth);
        }
    }

    private static void cost(Term t, double v) {
        if (!(v >= 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException(t.key + " is a cost and must be finite and >= 0, got " + v);
        }
    }

    private static void check(String key, double v, double lo, double hi) {
        if (!(v > lo && v <= hi)) {
            throw new IllegalArgumentException(key + " must be in (" + lo + ", " + hi + "], got " + v);
        }
    }

    /** The parameters by name: a typed key for {@link #with(Term, double)} and {@link #get(Term)}. */
    public enum Term {
        HBM_EFFICIENCY("hbm_efficiency"),
        FLOPS_EFFICIENCY("flops_efficiency"),
        ATTENTION_FLOPS_EFFICIENCY("attention_flops_efficiency"),
        DECODE_ATTENTION_FLOPS_EFFICIENCY("decode_attention_flops_efficiency"),
        STEP_OVERHEAD_NS("step_overhead_ns"),
        PER_SEQUENCE_NS("per_sequence_ns"),
        PER_NEW_REQUEST_NS("per_new_request_ns"),
        LORA_FIXED_NS("lora_fixed_ns"),
        LORA_PER_ADAPTER_NS("lora_per_adapter_ns"),
        LORA_PER_RANK_NS("lora_per_rank_ns"),
        LORA_PER_TOKEN_RANK_NS("lora_per_token_rank_ns"),
        ADAPTER_LOAD_FIXED_NS("adapter_load_fixed_ns"),
        ADAPTER_LOAD_PADDING_NS("adapter_load_padding_ns"),
        ADAPTER_LOAD_NS_PER_BYTE("adapter_load_ns_per_byte"),
        STORAGE_BANDWIDTH("storage_bandwidth"),
        STORAGE_FIXED_NS("storage_fixed_ns"),
        PER_WAITING_NS("per_waiting_ns"),
        LORA_ENABLED_NS("lora_enabled_ns"),
        LORA_PER_SLOT_NS("lora_per_slot_ns"),
        LORA_PER_TOKEN_NS("lora_per_token_ns"),
        LORA_PER_TOKEN_ADAPTER_NS("lora_per_token_adapter_ns"),
        PER_BLOCKED_WAITING_NS("per_blocked_waiting_ns"),
        REQUEST_LATENCY_NS("request_latency_ns"),
        LORA_PER_LOADED_ADAPTER_NS("lora_per_loaded_adapter_ns"),
        LORA_PER_SLOT_TILE_NS("lora_per_slot_tile_ns"),
        LINEAR_TOKEN_OFFSET("linear_token_offset"),
        EAGER_STEP_NS("eager_step_ns");

        /** The parameter's key in calibration files. */
        public final String key;

        Term(String key) {
            this.key = key;
        }

        /** Whether it is an achieved fraction of a datasheet rate (in (0, 1]) rather than a cost. */
        public boolean efficiency() {
            return key.endsWith("efficiency");
        }
    }

    // Uncalibrated defaults: typical achieved fractions on Hopper-class GPUs and vLLM-like overheads
    public static final double DEFAULT_HBM_EFFICIENCY = 0.75;
    public static final double DEFAULT_FLOPS_EFFICIENCY = 0.6;
    public static final double DEFAULT_ATTENTION_FLOPS_EFFICIENCY = 0.5;
    public static final double DEFAULT_STEP_OVERHEAD_NS = 4_000_000;
    public static final double DEFAULT_PER_SEQUENCE_NS = 20_000;
    public static final double DEFAULT_PER_NEW_REQUEST_NS = 100_000;
    public static final double DEFAULT_LORA_FIXED_NS = 15_000_000;
    public static final double DEFAULT_LORA_PER_ADAPTER_NS = 300_000;
    public static final double DEFAULT_ADAPTER_LOAD_FIXED_NS = 3_000_000;
    public static final double DEFAULT_ADAPTER_LOAD_PADDING_NS = 500_000;
    /** Host-to-GPU copies at 80% of PCIe Gen5 x16 (64 GB/s). */
    public static final double DEFAULT_ADAPTER_LOAD_NS_PER_BYTE = 1e9 / (64e9 * 0.8);

    public static final double DEFAULT_STORAGE_BANDWIDTH = 2e9;
    public static final double DEFAULT_STORAGE_FIXED_NS = 1_000_000;

    /**
     * Uncalibrated defaults (the {@code DEFAULT_} constants; every other cost 0). Use a calibration for
     * figures that matter.
     */
    public static RooflineParams defaults() {
        double[] v = new double[Term.values().length];
        v[Term.HBM_EFFICIENCY.ordinal()] = DEFAULT_HBM_EFFICIENCY;
        v[Term.FLOPS_EFFICIENCY.ordinal()] = DEFAULT_FLOPS_EFFICIENCY;
        v[Term.ATTENTION_FLOPS_EFFICIENCY.ordinal()] = DEFAULT_ATTENTION_FLOPS_EFFICIENCY;
        v[Term.STEP_OVERHEAD_NS.ordinal()] = DEFAULT_STEP_OVERHEAD_NS;
        v[Term.PER_SEQUENCE_NS.ordinal()] = DEFAULT_PER_SEQUENCE_NS;
        v[Term.PER_NEW_REQUEST_NS.ordinal()] = DEFAULT_PER_NEW_REQUEST_NS;
        v[Term.LORA_FIXED_NS.ordinal()] = DEFAULT_LORA_FIXED_NS;
        v[Term.LORA_PER_ADAPTER_NS.ordinal()] = DEFAULT_LORA_PER_ADAPTER_NS;
        v[Term.ADAPTER_LOAD_FIXED_NS.ordinal()] = DEFAULT_ADAPTER_LOAD_FIXED_NS;
        v[Term.ADAPTER_LOAD_PADDING_NS.ordinal()] = DEFAULT_ADAPTER_LOAD_PADDING_NS;
        v[Term.ADAPTER_LOAD_NS_PER_BYTE.ordinal()] = DEFAULT_ADAPTER_LOAD_NS_PER_BYTE;
        v[Term.STORAGE_BANDWIDTH.ordinal()] = DEFAULT_STORAGE_BANDWIDTH;
        v[Term.STORAGE_FIXED_NS.ordinal()] = DEFAULT_STORAGE_FIXED_NS;
        return of(v);
    }

    /**
     * No overheads at all and every rate at its datasheet value (efficiencies 1; storage at its defaults):
     * what a measured profile's own terms are set on.
     */
    public static RooflineParams none() {
        double[] v = new double[Term.values().length];
        v[Term.HBM_EFFICIENCY.ordinal()] = 1;
        v[Term.FLOPS_EFFICIENCY.ordinal()] = 1;
        v[Term.ATTENTION_FLOPS_EFFICIENCY.ordinal()] = 1;
        v[Term.STORAGE_BANDWIDTH.ordinal()] = DEFAULT_STORAGE_BANDWIDTH;
        v[Term.STORAGE_FIXED_NS.ordinal()] = DEFAULT_STORAGE_FIXED_NS;
        return of(v);
    }

    /** The value of one parameter. */
    public double get(Term t) {
        return values()[t.ordinal()];
    }

    /** A copy with one parameter set. */
    public RooflineParams with(Term t, double value) {
        double[] v = values();
        v[t.ordinal()] = value;
        return of(v);
    }

    /** A copy with {@code terms.get(i)} set to {@code values[i]} (a fit's vector of free parameters). */
    public RooflineParams with(List<Term> terms, double[] values) {
        if (terms.size() != values.length) {
            throw new IllegalArgumentException(terms.size() + " terms but " + values.length + " values");
        }
        double[] v = values();
        for (int i = 0; i < values.length; i++) {
            v[terms.get(i).ordinal()] = values[i];
        }
        return of(v);
    }

    /** The parameters in {@link Term} order (the record's component order). */
    private double[] values() {
        return new double[] {
            hbmEfficiency,
            flopsEfficiency,
            attentionFlopsEfficiency,
            decodeAttentionFlopsEfficiency,
            stepOverheadNs,
            perSequenceNs,
            perNewRequestNs,
            loraFixedNs,
            loraPerAdapterNs,
            loraPerRankNs,
            loraPerTokenRankNs,
            adapterLoadFixedNs,
            adapterLoadPaddingNs,
            adapterLoadNsPerByte,
            storageBandwidth,
            storageFixedNs,
            perWaitingNs,
            loraEnabledNs,
            loraPerSlotNs,
            loraPerTokenNs,
            loraPerTokenAdapterNs,
            perBlockedWaitingNs,
            requestLatencyNs,
            loraPerLoadedAdapterNs,
            loraPerSlotTileNs,
            linearTokenOffset,
            eagerStepNs
        };
    }

    /** The one place the components are listed by position: {@code v} in {@link Term} order. */
    private static RooflineParams of(double[] v) {
        return new RooflineParams(
                v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15],
                v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26]);
    }
}
