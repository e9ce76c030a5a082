package io.twinserve.traces.spec;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A distribution of non-negative values: token counts (rounded to integers), turns per session, or
 * think times in seconds. Optional {@code min} and {@code max} clip each draw.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = DistributionSpec.Fixed.class, name = "fixed"),
    @JsonSubTypes.Type(value = DistributionSpec.Uniform.class, name = "uniform"),
    @JsonSubTypes.Type(value = DistributionSpec.Normal.class, name = "normal"),
    @JsonSubTypes.Type(value = DistributionSpec.LogNormal.class, name = "lognormal"),
    @JsonSubTypes.Type(value = DistributionSpec.Exponential.class, name = "exponential"),
    @JsonSubTypes.Type(value = DistributionSpec.Empirical.class, name = "empirical"),
})
public sealed interface DistributionSpec {

    /** Always the same value. */
    record Fixed(Double value) implements DistributionSpec {
        public Fixed {
            Check.nonNegative("value", value);
        }
    }

    /** Uniform on [min, max]; for integers both ends are included. */
    record Uniform(Double min, Double max) implements DistributionSpec {
        public Uniform {
            Check.nonNegative("min", min);
            Check.nonNegative("max", max);
            if (max < min) {
                throw new SpecException("max", "must be >= min (" + Check.fmt(min) + "), got " + Check.fmt(max));
            }
        }
    }

    /** Normal with the given mean and standard deviation, clipped at {@code min} (default 1). */
    record Normal(Double mean, Double std, Double min, Double max) implements DistributionSpec {
        public Normal {
            Check.nonNegative("mean", mean);
            Check.nonNegative("std", std);
            min = min == null ? 1.0 : min;
            Check.nonNegative("min", min);
            if (max != null && max < min) {
                throw new SpecException("max", "must be >= min (" + Check.fmt(min) + "), got " + Check.fmt(max));
            }
        }
    }

    /**
     * Log-normal given by the mean and standard deviation of the values themselves (not of their
     * logarithm), which is how lengths are usually reported; clipped at {@code min}/{@code max}.
     */
    record LogNormal(Double mean, Double std, Double min, Double max) implements DistributionSpec {
        public LogNormal {
            Check.positive("mean", mean);
            Check.nonNegative("std", std);
            if (min != null) {
                Check.nonNegative("min", min);
            }
            if (max != null && min != null && max < min) {
                throw new SpecException("max", "must be >= min (" + Check.fmt(min) + "), got " + Check.fmt(max));
            }
        }

        /** sigma of the underlying normal: ln(1 + std²/mean²), square-rooted. */
        public double sigma() {
            return Math.sqrt(Math.log1p((std * std) / (mean * mean)));
        }

        /** mu of the underlying normal: ln(mean) - sigma²/2. */
        public double mu() {
            double s = sigma();
            return Math.log(mean) - s * s / 2;
        }
    }

    /** Exponential with the given mean (think times, gaps). */
    record Exponential(Double mean) implements DistributionSpec {
        public Exponential {
            Check.positive("mean", mean);
        }
    }

    /**
     * Values drawn uniformly from a column of a file: a CSV column by header name (any CSV, such as the
     * Azure traces or a ShareGPT length table) or a key of a JSON Lines file. When both prompt and output
     * lengths are empirical over the same file, they are drawn from the same row, which keeps their
     * correlation.
     */
    record Empirical(String file, String column) implements DistributionSpec {
        public Empirical {
            Check.required("file", file);
            Check.required("column", column);
            if (file.isBlank()) {
                throw new SpecException("file", "must name a file, got an empty string");
            }
        }
    }
}
