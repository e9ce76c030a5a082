package io.twinserve.traces.gen;

import io.twinserve.traces.format.ColumnReader;
import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Builds samplers from distribution specs; one factory with an exhaustive switch. */
final class Samplers {

  /** Draws a real value. */
  interface RealSampler {
    double sample();
  }

  /** Draws a non-negative integer. */
  interface IntSampler {
    int sample();
  }

  private final Path baseDir;
  private final Map<String, int[][]> loaded = new HashMap<>();

  Samplers(Path baseDir) {
    this.baseDir = baseDir;
  }

  RealSampler real(DistributionSpec spec, SplittableRandom rng, String keyPath) {
    return switch (spec) {
      case DistributionSpec.Fixed f -> {
        double v = f.value();
        yield () -> v;
      }
      case DistributionSpec.Uniform u -> {
        double lo = u.min();
        double span = u.max() - u.min();
        yield () -> lo + rng.nextDouble() * span;
      }
      case DistributionSpec.Normal n -> {
        double mean = n.mean();
        double std = n.std();
        double lo = n.min();
        double hi = n.max() == null ? Double.MAX_VALUE : n.max();
        yield () -> Math.clamp(mean + std * rng.nextGaussian(), lo, hi);
      }
      case DistributionSpec.LogNormal l -> {
        double mu = l.mu();
        double sigma = l.sigma();
        double lo = l.min() == null ? 0 : l.min();
        double hi = l.max() == null ? Double.MAX_VALUE : l.max();
        yield () -> Math.clamp(Math.exp(mu + sigma * rng.nextGaussian()), lo, hi);
      }
      case DistributionSpec.Exponential e -> {
        double mean = e.mean();
        yield () -> mean * rng.nextExponential();
      }
      case DistributionSpec.Empirical e -> {
        int[] values = column(e, keyPath);
        yield () -> values[rng.nextInt(values.length)];
      }
    };
  }

  IntSampler ints(DistributionSpec spec, SplittableRandom rng, String keyPath) {
    return switch (spec) {
      case DistributionSpec.Uniform u -> {
        long lo = Math.round(u.min());
        long span = Math.round(u.max()) - lo + 1;
        yield () -> (int) (lo + rng.nextLong(span));
      }
      case DistributionSpec.Empirical e -> {
        int[] values = column(e, keyPath);
        yield () -> values[rng.nextInt(values.length)];
      }
      default -> {
        RealSampler r = real(spec, rng, keyPath);
        yield () -> (int) Math.min(Integer.MAX_VALUE / 4, Math.round(r.sample()));
      }
    };
  }

  /** Rows of two columns of one file, sampled together. */
  int[][] columns(DistributionSpec.Empirical a, DistributionSpec.Empirical b, String keyPath) {
    return new int[][] {column(a, keyPath + ".prompt"), column(b, keyPath + ".output")};
  }

  private int[] column(DistributionSpec.Empirical e, String keyPath) {
    Path file = resolve(e.file());
    String key = file + "\u0000" + e.column();
    int[][] cached = loaded.get(key);
    if (cached == null) {
      try {
        cached = ColumnReader.readIntColumns(file, List.of(e.column()));
      } catch (TraceFormatException ex) {
        throw new SpecException(keyPath + ".file", "cannot be used: " + ex.getMessage());
      } catch (IOException ex) {
        throw new SpecException(keyPath + ".file", "cannot be read: " + file + " (" + ex + ")");
      }
      loaded.put(key, cached);
    }
    return cached[0];
  }

  Path resolve(String file) {
    Path p = Path.of(file);
    return p.isAbsolute() || baseDir == null ? p : baseDir.resolve(p).normalize();
  }
}
