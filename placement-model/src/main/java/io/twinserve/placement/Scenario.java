package io.twinserve.placement;

import java.util.List;

/**
 * One cell of a sweep: a workload on a configuration.
 *
 * @param index position in the sweep's grid order (stable: shards and samples refer to it)
 * @param workload index of the workload (the same traffic for every configuration and model)
 * @param rates per-adapter rates of the three tiers, highest first
 * @param kvCacheLen requested KV capacity in tokens; 0 means from memory
 * @param cv arrival coefficient of variation (1: Poisson)
 */
public record Scenario(
    long index,
    long workload,
    SweepSpec.ModelEntry model,
    SweepSpec.PoolEntry pool,
    SweepSpec.LengthShape lengths,
    double cv,
    List<Integer> ranks,
    double[] rates,
    int served,
    int slots,
    int tp,
    int kvCacheLen) {

  /** Requests per second over all adapters: a third of the adapters at each tier's rate. */
  public double requestRate() {
    return requestRate(served, rates);
  }

  /** The total rate of {@code served} adapters split into three contiguous tiers (as the generator does). */
  public static double requestRate(int served, double[] rates) {
    double sum = 0;
    for (int i = 0; i < served; i++) {
      sum += rates[(int) ((long) i * rates.length / served)];
    }
    return sum;
  }
}
