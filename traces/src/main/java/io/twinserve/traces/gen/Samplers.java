package io.twinserve.traces.gen;

import io.twinserve.traces.format.ColumnReader;
import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

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
    /**
     * Columns already read, shared by every generator in the process (a sweep builds thousands of
     * generators over the same lengths file), keyed by path, column, size and modification time so that
     * an edited file is read again; cleared when it holds more than {@link #MAX_CACHED} columns.
     */
    private static final Map<String, int[][]> LOADED = new ConcurrentHashMap<>();

    private static final int MAX_CACHED = 32;

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

    /** The mean of an empirical distribution's column. */
    double mean(DistributionSpec.Empirical e, String keyPath) {
        int[] values = column(e, keyPath);
        long sum = 0;
        for (int v : values) {
            sum += v;
        }
        return values.length == 0 ? 0 : (double) sum / values.length;
    }

    /** Rows of two columns of one file, sampled together. */
    int[][] columns(DistributionSpec.Empirical a, DistributionSpec.Empirical b, String keyPath) {
        return new int[][] {column(a, keyPath + ".prompt"), column(b, keyPath + ".output")};
    }

    private int[] column(DistributionSpec.Empirical e, String keyPath) {
        Path file = resolve(e.file());
        String key;
        try {
            key = file.toAbsolutePath() + "\u0000" + e.column() + "\u0000" + Files.size(file) + "\u0000"
                    + Files.getLastModifiedTime(file).toMillis();
        } catch (IOException ex) {
            throw new SpecException(keyPath + ".file", "cannot be read: " + file + " (" + ex + ")");
        }
        int[][] cached = LOADED.get(key);
        if (cached == null) {
            try {
                cached = ColumnReader.readIntColumns(file, List.of(e.column()));
            } catch (TraceFormatException ex) {
                throw new SpecException(keyPath + ".file", "cannot be used: " + ex.getMessage());
            } catch (IOException ex) {
                throw new SpecException(keyPath + ".file", "cannot be read: " + file + " (" + ex + ")");
            }
            if (LOADED.size() >= MAX_CACHED) {
                LOADED.clear();
            }
            LOADED.put(key, cached);
        }
        return cached[0];
    }

    Path resolve(String file) {
        Path p = Path.of(file);
        return p.isAbsolute() || baseDir == null ? p : baseDir.resolve(p).normalize();
    }
}
