package io.twinserve.traces.spec;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.Arrays;
import java.util.List;

/** How a total request rate is shared among adapters. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = PopularitySpec.Uniform.class, name = "uniform"),
    @JsonSubTypes.Type(value = PopularitySpec.Zipf.class, name = "zipf"),
    @JsonSubTypes.Type(value = PopularitySpec.Weights.class, name = "weights"),
})
public sealed interface PopularitySpec {

    /** Relative weight of each of {@code count} adapters (not normalised). */
    double[] weights(int count);

    /** Every adapter equally likely. */
    record Uniform() implements PopularitySpec {
        @Override
        public double[] weights(int count) {
            double[] w = new double[count];
            Arrays.fill(w, 1.0);
            return w;
        }
    }

    /** The k-th adapter (1-based) has weight 1 / k^exponent. */
    record Zipf(Double exponent) implements PopularitySpec {
        public Zipf {
            Check.nonNegative("exponent", exponent);
        }

        @Override
        public double[] weights(int count) {
            double[] w = new double[count];
            for (int k = 0; k < count; k++) {
                w[k] = Math.pow(k + 1, -exponent);
            }
            return w;
        }
    }

    /** Explicit weights, one per adapter, in adapter order. */
    record Weights(List<Double> weights) implements PopularitySpec {
        public Weights {
            Check.required("weights", weights);
            double sum = 0;
            for (int i = 0; i < weights.size(); i++) {
                sum += Check.nonNegative("weights[" + i + "]", weights.get(i));
            }
            if (!(sum > 0)) {
                throw new SpecException("weights", "must have a positive sum, got all zeros");
            }
            weights = List.copyOf(weights);
        }

        @Override
        public double[] weights(int count) {
            if (count != weights.size()) {
                throw new SpecException(
                        "weights", "must list one weight per adapter (" + count + "), got " + weights.size());
            }
            double[] w = new double[count];
            for (int i = 0; i < count; i++) {
                w[i] = weights.get(i);
            }
            return w;
        }
    }
}
