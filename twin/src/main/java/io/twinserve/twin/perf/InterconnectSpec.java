package io.twinserve.twin.perf;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinserve.traces.spec.SpecException;

/**
 * How the GPUs of a tensor-parallel group exchange their all-reduces: an analytic latency and bandwidth,
 * or measured timings. Built into an {@link AllReduceModel} by {@link AllReduceModel#of}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = InterconnectSpec.Analytic.class, name = "analytic"),
    @JsonSubTypes.Type(value = InterconnectSpec.Profiled.class, name = "profiled"),
})
public sealed interface InterconnectSpec {

    /**
     * A fixed latency plus a ring all-reduce's traffic over the bandwidth; absent values come from the GPU
     * profile (its {@code interconnect_bandwidth}) and the default latency of 8 µs.
     */
    record Analytic(Double latencyUs, Double bandwidthGbPerS) implements InterconnectSpec {
        public Analytic {
            if (latencyUs != null && (!(latencyUs >= 0) || !Double.isFinite(latencyUs))) {
                throw new SpecException("latency_us", "must be a finite number >= 0, got " + latencyUs);
            }
            if (bandwidthGbPerS != null && (!(bandwidthGbPerS > 0) || !Double.isFinite(bandwidthGbPerS))) {
                throw new SpecException("bandwidth_gb_per_s", "must be a finite number > 0, got " + bandwidthGbPerS);
            }
        }
    }

    /** Measured all-reduce timings in Vidur's {@code all_reduce.csv} format ({@link ProfiledAllReduceModel}). */
    record Profiled(String table) implements InterconnectSpec {
        public Profiled {
            if (table == null || table.isBlank()) {
                throw new SpecException("table", "is required: the path of a Vidur-format all_reduce.csv");
            }
        }
    }
}
