package io.twinserve.twin.perf;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinserve.traces.spec.SpecException;

/** Which performance model a deployment uses, and with which calibration. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = PerfModelSpec.Roofline.class, name = "roofline"),
    @JsonSubTypes.Type(value = PerfModelSpec.Profiled.class, name = "profiled"),
})
public sealed interface PerfModelSpec {

    /** The calibration: a built-in name (engine-gpu/model) or a calibration file; null for defaults. */
    String calibration();

    /** The roofline model. */
    record Roofline(String calibration) implements PerfModelSpec {}

    /**
     * Measured linear-layer timings from a Vidur-format {@code mlp.csv} ({@code table}, relative to the
     * working directory), the rest from the roofline with the calibration.
     */
    record Profiled(String table, String calibration) implements PerfModelSpec {
        public Profiled {
            if (table == null || table.isBlank()) {
                throw new SpecException("table", "is required: the path of a Vidur-format mlp.csv");
            }
        }
    }
}
