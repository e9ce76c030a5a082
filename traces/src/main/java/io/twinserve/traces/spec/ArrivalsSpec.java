package io.twinserve.traces.spec;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinserve.traces.format.TraceFormat;
import java.util.List;

/**
 * When requests (or, with sessions, sessions) arrive. A total {@code rate} per second is split over
 * adapters by {@link AdaptersSpec#popularity()}; alternatively Poisson arrivals take
 * {@code rate_tiers}: per-adapter rates spread evenly over the adapters, each adapter an independent
 * Poisson stream.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = ArrivalsSpec.Poisson.class, name = "poisson"),
    @JsonSubTypes.Type(value = ArrivalsSpec.Gamma.class, name = "gamma"),
    @JsonSubTypes.Type(value = ArrivalsSpec.Constant.class, name = "constant"),
    @JsonSubTypes.Type(value = ArrivalsSpec.Trace.class, name = "trace"),
})
public sealed interface ArrivalsSpec {

    /** Exponential gaps; either {@code rate} or {@code rate_tiers}. */
    record Poisson(Double rate, List<Double> rateTiers) implements ArrivalsSpec {
        public Poisson {
            if (rate == null && rateTiers == null) {
                throw new SpecException("rate", "is required (or give rate_tiers: per-adapter rates)");
            }
            if (rate != null && rateTiers != null) {
                throw new SpecException("rate_tiers", "cannot be given together with rate; choose one");
            }
            if (rate != null) {
                Check.positive("rate", rate);
            }
            if (rateTiers != null) {
                if (rateTiers.isEmpty()) {
                    throw new SpecException("rate_tiers", "must list at least one rate");
                }
                for (int i = 0; i < rateTiers.size(); i++) {
                    Check.positive("rate_tiers[" + i + "]", rateTiers.get(i));
                }
                rateTiers = List.copyOf(rateTiers);
            }
        }
    }

    /** Gamma-distributed gaps with coefficient of variation {@code cv} (1 is Poisson; more is burstier). */
    record Gamma(Double rate, Double cv) implements ArrivalsSpec {
        public Gamma {
            Check.positive("rate", rate);
            Check.positive("cv", cv);
        }
    }

    /** Evenly spaced arrivals at {@code rate} per second. */
    record Constant(Double rate) implements ArrivalsSpec {
        public Constant {
            Check.positive("rate", rate);
        }
    }

    /**
     * Arrival times taken from a trace file (any supported format), optionally sped up by
     * {@code time_scale} (2 = twice the rate).
     */
    record Trace(String file, String format, Double timeScale) implements ArrivalsSpec {
        public Trace {
            Check.required("file", file);
            if (timeScale == null) {
                timeScale = 1.0;
            }
            Check.positive("time_scale", timeScale);
            if (format != null) {
                try {
                    TraceFormat.fromName(format);
                } catch (IllegalArgumentException e) {
                    throw new SpecException("format", e.getMessage());
                }
            }
        }
    }
}
