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

    /**
     * The mean pause {@link #nextNs} draws, in seconds: the distribution's own mean where its draws are not
     * clamped (fixed, uniform, exponential, an unbounded normal or log-normal), an empirical column's mean, and
     * for a clamped normal or log-normal the mean of 100,000 draws from a fixed seed (the clamp moves it).
     *
     * @param baseDir where an empirical distribution's file is looked up (may be null)
     */
    public static double meanS(DistributionSpec thinkTimeS, Path baseDir) {
        return switch (thinkTimeS) {
            case DistributionSpec.Fixed f -> Math.max(0, f.value());
            case DistributionSpec.Uniform u -> Math.max(0, (u.min() + u.max()) / 2);
            case DistributionSpec.Exponential e -> e.mean();
            case DistributionSpec.Normal n
            when n.min() == null && n.max() == null && n.mean() >= 3 * n.std() -> n.mean();
            case DistributionSpec.LogNormal l when l.min() == null && l.max() == null -> l.mean();
            case DistributionSpec.Empirical e -> new Samplers(baseDir).mean(e, "client.think_time_s");
            default -> {
                ThinkTimes t = new ThinkTimes(thinkTimeS, new SplittableRandom(1), baseDir);
                double sum = 0;
                for (int i = 0; i < 100_000; i++) {
                    sum += t.nextNs();
                }
                yield sum / 100_000 / 1e9;
            }
        };
    }

    /** The next user's pause between its answer and its next request. */
    public long nextNs() {
        return (long) (Math.max(0, seconds.sample()) * 1e9);
    }
}
