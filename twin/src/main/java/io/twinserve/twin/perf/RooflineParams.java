package io.twinserve.twin.perf;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;

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
 * @param requestLatencyNs time a request spends outside the engine's steps before its first token reaches
 *     the client (HTTP, tokenisation, the hand-off to the engine process, detokenisation, streaming): the
 *     server sees each request this long after it was sent (its TTFT and end-to-end latency include it)
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
    @JsonSetter(nulls = Nulls.AS_EMPTY) double loraPerLoadedAdapterNs) {

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
    for (double v : new double[] {stepOverheadNs, perSequenceNs, perNewRequestNs, loraFixedNs, loraPerAdapterNs,
        loraPerRankNs, loraPerTokenRankNs, adapterLoadFixedNs, adapterLoadPaddingNs, storageFixedNs, perWaitingNs,
        loraEnabledNs, loraPerSlotNs, loraPerTokenNs, loraPerTokenAdapterNs, perBlockedWaitingNs, requestLatencyNs,
        loraPerLoadedAdapterNs}) {
      if (!(v >= 0) || !Double.isFinite(v)) {
        throw new IllegalArgumentException("roofline costs must be finite and >= 0, got " + v);
      }
    }
    if (!(storageBandwidth > 0)) {
      throw new IllegalArgumentException("storage_bandwidth must be > 0, got " + storageBandwidth);
    }
  }

  /** Without the step terms that came after the first sixteen (scheduler queue and LoRA kernel work): 0. */
  public RooflineParams(double hbmEfficiency, double flopsEfficiency, double attentionFlopsEfficiency,
      double decodeAttentionFlopsEfficiency, double stepOverheadNs, double perSequenceNs, double perNewRequestNs,
      double loraFixedNs, double loraPerAdapterNs, double loraPerRankNs, double loraPerTokenRankNs,
      double adapterLoadFixedNs, double adapterLoadPaddingNs, double adapterLoadNsPerByte, double storageBandwidth,
      double storageFixedNs) {
    this(hbmEfficiency, flopsEfficiency, attentionFlopsEfficiency, decodeAttentionFlopsEfficiency, stepOverheadNs,
        perSequenceNs, perNewRequestNs, loraFixedNs, loraPerAdapterNs, loraPerRankNs, loraPerTokenRankNs,
        adapterLoadFixedNs, adapterLoadPaddingNs, adapterLoadNsPerByte, storageBandwidth, storageFixedNs, 0, 0, 0, 0,
        0, 0, 0, 0);
  }

  private static void check(String key, double v, double lo, double hi) {
    if (!(v > lo && v <= hi)) {
      throw new IllegalArgumentException(key + " must be in (" + lo + ", " + hi + "], got " + v);
    }
  }

  /**
   * Uncalibrated defaults: typical achieved fractions on Hopper-class GPUs and vLLM-like overheads. Use a
   * calibration for figures that matter.
   */
  public static RooflineParams defaults() {
    // host-to-GPU copies at 80% of PCIe Gen5 x16 (64 GB/s)
    return new RooflineParams(0.75, 0.6, 0.5, 0, 4_000_000, 20_000, 100_000, 15_000_000, 300_000, 0, 0,
        3_000_000, 500_000, 1e9 / (64e9 * 0.8), 2e9, 1_000_000);
  }

  /** The YAML keys of the parameters, in record order. */
  public static final java.util.List<String> KEYS = java.util.List.of("hbm_efficiency", "flops_efficiency",
      "attention_flops_efficiency", "decode_attention_flops_efficiency", "step_overhead_ns", "per_sequence_ns",
      "per_new_request_ns", "lora_fixed_ns", "lora_per_adapter_ns", "lora_per_rank_ns", "lora_per_token_rank_ns",
      "adapter_load_fixed_ns", "adapter_load_padding_ns", "adapter_load_ns_per_byte", "storage_bandwidth",
      "storage_fixed_ns", "per_waiting_ns", "lora_enabled_ns", "lora_per_slot_ns", "lora_per_token_ns",
      "lora_per_token_adapter_ns", "per_blocked_waiting_ns", "request_latency_ns", "lora_per_loaded_adapter_ns");

  /** A copy with the named parameters (YAML keys) set to {@code v}; an unknown key throws. */
  public RooflineParams with(double[] v, String... keys) {
    java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < keys.length; i++) {
      if (!KEYS.contains(keys[i])) {
        throw new IllegalArgumentException("no roofline parameter '" + keys[i] + "'; known: " + KEYS);
      }
      m.put(keys[i], v[i]);
    }
    return new RooflineParams(
        m.getOrDefault("hbm_efficiency", hbmEfficiency), m.getOrDefault("flops_efficiency", flopsEfficiency),
        m.getOrDefault("attention_flops_efficiency", attentionFlopsEfficiency),
        m.getOrDefault("decode_attention_flops_efficiency", decodeAttentionFlopsEfficiency),
        m.getOrDefault("step_overhead_ns", stepOverheadNs), m.getOrDefault("per_sequence_ns", perSequenceNs),
        m.getOrDefault("per_new_request_ns", perNewRequestNs), m.getOrDefault("lora_fixed_ns", loraFixedNs),
        m.getOrDefault("lora_per_adapter_ns", loraPerAdapterNs), m.getOrDefault("lora_per_rank_ns", loraPerRankNs),
        m.getOrDefault("lora_per_token_rank_ns", loraPerTokenRankNs),
        m.getOrDefault("adapter_load_fixed_ns", adapterLoadFixedNs),
        m.getOrDefault("adapter_load_padding_ns", adapterLoadPaddingNs),
        m.getOrDefault("adapter_load_ns_per_byte", adapterLoadNsPerByte),
        m.getOrDefault("storage_bandwidth", storageBandwidth),
        m.getOrDefault("storage_fixed_ns", storageFixedNs),
        m.getOrDefault("per_waiting_ns", perWaitingNs), m.getOrDefault("lora_enabled_ns", loraEnabledNs),
        m.getOrDefault("lora_per_slot_ns", loraPerSlotNs), m.getOrDefault("lora_per_token_ns", loraPerTokenNs),
        m.getOrDefault("lora_per_token_adapter_ns", loraPerTokenAdapterNs),
        m.getOrDefault("per_blocked_waiting_ns", perBlockedWaitingNs),
        m.getOrDefault("request_latency_ns", requestLatencyNs),
        m.getOrDefault("lora_per_loaded_adapter_ns", loraPerLoadedAdapterNs));
  }
}
