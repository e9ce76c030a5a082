package io.twinserve.traces.gen;

/**
 * An adapter of a generated workload: its id, LoRA rank and expected share of requests.
 *
 * @param ratePerSecond its own request rate when the spec gives per-adapter rates, else NaN
 */
public record Adapter(String id, int rank, double share, double ratePerSecond) {}
