package io.twinserve.traces.gen;

import io.twinserve.traces.spec.DistributionSpec;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Draws a closed-loop client's think times, in nanoseconds, from a seeded stream of their own, so that
 * the same workload and seed give the same pauses.
 */
public final class ThinkTimes {
  private final Samplers.RealSampler seconds;

  /**
   * @param baseDir where an empirical distribution's file is looked up (may be null)
   */
  public ThinkTimes(DistributionSpec thinkTimeS, SplittableRandom rng, Path baseDir) {
    this.seconds = new Samplers(baseDir).real(thinkTimeS, rng, "client.think_time_s");
  }

  /** The next user's pause between its answer and its next request. */
  public long nextNs() {
    return (long) (Math.max(0, seconds.sample()) * 1e9);
  }
}
