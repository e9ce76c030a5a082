package io.twinserve.twin.autoscale;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinserve.traces.spec.SpecException;

/** Whether and how a deployment adds and removes replicas (docs/cluster-spec.md). */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = AutoscalerSpec.Fixed.class, name = "none"),
    @JsonSubTypes.Type(value = AutoscalerSpec.Reactive.class, name = "reactive"),
})
public sealed interface AutoscalerSpec {

    /** A fixed number of replicas. */
    record Fixed() implements AutoscalerSpec {}

    /**
     * Every {@code interval_s} compares TTFT pressure and queue length with thresholds: one replica more
     * when the mean TTFT of the interval (or the oldest waiting request's age) exceeds
     * {@code target_ttft_ms} or the waiting requests per replica exceed {@code scale_up_queue}; one fewer
     * (drained first) when, for {@code scale_down_after_s}, the mean TTFT stayed below half the target and
     * the queue per replica below {@code scale_down_queue}. A new replica is ready after a cold start of
     * its weights' bytes per GPU over {@code weight_load_gb_per_s} plus {@code startup_s}.
     */
    record Reactive(
            Double intervalS,
            Double targetTtftMs,
            Double scaleUpQueue,
            Double scaleDownQueue,
            Double scaleDownAfterS,
            Double weightLoadGbPerS,
            Double startupS)
            implements AutoscalerSpec {

        public Reactive {
            intervalS = positive("interval_s", intervalS, 10.0);
            targetTtftMs = positive("target_ttft_ms", targetTtftMs, 2000.0);
            scaleUpQueue = positive("scale_up_queue", scaleUpQueue, 4.0);
            scaleDownQueue = nonNegative("scale_down_queue", scaleDownQueue, 0.5);
            scaleDownAfterS = nonNegative("scale_down_after_s", scaleDownAfterS, 60.0);
            weightLoadGbPerS = positive("weight_load_gb_per_s", weightLoadGbPerS, 2.0);
            startupS = nonNegative("startup_s", startupS, 20.0);
        }

        /** Cold start of a replica holding {@code weightBytesPerGpu} on each of its GPUs, in ns. */
        public long coldStartNs(long weightBytesPerGpu) {
            return (long) ((weightBytesPerGpu / (weightLoadGbPerS * 1e9) + startupS) * 1e9);
        }
    }

    private static double positive(String key, Double v, double dflt) {
        double x = v == null ? dflt : v;
        if (!(x > 0) || !Double.isFinite(x)) {
            throw new SpecException(key, "must be a finite number > 0, got " + x);
        }
        return x;
    }

    private static double nonNegative(String key, Double v, double dflt) {
        double x = v == null ? dflt : v;
        if (!(x >= 0) || !Double.isFinite(x)) {
            throw new SpecException(key, "must be a finite number >= 0, got " + x);
        }
        return x;
    }
}
