package io.twinserve.traces.gen;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceFormat;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.AhrensDieterMarsagliaTsangGammaSampler;

/** The times at which requests (or sessions) arrive, in increasing order. */
abstract sealed class ArrivalProcess implements AutoCloseable {
    static final long END = Long.MAX_VALUE;

    /** The next arrival in ns, or {@link #END}. */
    abstract long next();

    @Override
    public void close() throws IOException {}

    static ArrivalProcess of(ArrivalsSpec spec, double totalRate, SplittableRandom rng, Path baseDir) {
        return switch (spec) {
            case ArrivalsSpec.Poisson p -> new Renewal(() -> rng.nextExponential() / totalRate);
            case ArrivalsSpec.Gamma g -> {
                // Gamma gaps with mean 1/rate and coefficient of variation cv: shape 1/cv², scale cv²/rate.
                double shape = 1 / (g.cv() * g.cv());
                double scale = 1 / (g.rate() * shape);
                UniformRandomProvider urp = rng::nextLong;
                var sampler = AhrensDieterMarsagliaTsangGammaSampler.of(urp, shape, scale);
                yield new Renewal(sampler::sample);
            }
            case ArrivalsSpec.Constant c -> new Constant(c.rate());
            case ArrivalsSpec.Trace t -> new FromTrace(t, baseDir);
        };
    }

    /** Independent gaps drawn from a distribution, accumulated in double seconds to avoid drift. */
    static final class Renewal extends ArrivalProcess {
        private final Samplers.RealSampler gapSeconds;
        private double timeSeconds;

        Renewal(Samplers.RealSampler gapSeconds) {
            this.gapSeconds = gapSeconds;
        }

        @Override
        long next() {
            timeSeconds += gapSeconds.sample();
            return (long) (timeSeconds * 1e9);
        }
    }

    /** The i-th arrival at i / rate, starting at 0. */
    static final class Constant extends ArrivalProcess {
        private final double rate;
        private long index;

        Constant(double rate) {
            this.rate = rate;
        }

        @Override
        long next() {
            return (long) (index++ * 1e9 / rate);
        }
    }

    /** Arrival times read from a trace file, divided by the time scale. */
    static final class FromTrace extends ArrivalProcess {
        private final TraceReader reader;
        private final double timeScale;

        FromTrace(ArrivalsSpec.Trace spec, Path baseDir) {
            Path file = Path.of(spec.file());
            if (!file.isAbsolute() && baseDir != null) {
                file = baseDir.resolve(file).normalize();
            }
            this.timeScale = spec.timeScale();
            try {
                ReadOptions options = ReadOptions.defaults()
                        .withFormat(spec.format() == null ? null : TraceFormat.fromName(spec.format()));
                this.reader = TraceReaders.open(file, options);
            } catch (IOException e) {
                throw new SpecException("arrivals.file", "cannot be read: " + file + " (" + e + ")");
            }
        }

        @Override
        long next() {
            try {
                Request r = reader.next();
                return r == null ? END : (long) (r.arrivalNs() / timeScale);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() throws IOException {
            reader.close();
        }
    }
}
