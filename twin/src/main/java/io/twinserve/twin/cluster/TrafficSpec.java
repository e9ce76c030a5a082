package io.twinserve.twin.cluster;

import io.twinserve.traces.spec.SpecException;

/**
 * Which workload goes to which deployment.
 *
 * @param deployment the deployment's name (may be omitted when the cluster has one)
 * @param workload a workload spec (.yaml) or a trace file in any supported format, relative to the
 *     cluster spec's folder
 * @param rateScale multiplies the workload's arrival rate (arrival times are divided by it), to scale a
 *     real trace to the cluster's size (default 1)
 * @param adapterRank rank of the adapters a trace names (traces carry no ranks; default: the run's, 16)
 * @param startS the workload starts this many seconds into the run (a load step; default 0)
 */
public record TrafficSpec(String deployment, String workload, Double rateScale, Integer adapterRank, Double startS) {

    public TrafficSpec(String deployment, String workload, Double rateScale, Integer adapterRank) {
        this(deployment, workload, rateScale, adapterRank, null);
    }

    public TrafficSpec {
        if (workload == null || workload.isBlank()) {
            throw new SpecException("workload", "is required: a workload spec (.yaml) or a trace file");
        }
        rateScale = rateScale == null ? 1.0 : rateScale;
        if (!(rateScale > 0) || !Double.isFinite(rateScale)) {
            throw new SpecException("rate_scale", "must be a finite number > 0, got " + rateScale);
        }
        startS = startS == null ? 0.0 : startS;
        if (!(startS >= 0) || !Double.isFinite(startS)) {
            throw new SpecException("start_s", "must be a finite number >= 0, got " + startS);
        }
        if (adapterRank != null && adapterRank < 1) {
            throw new SpecException("adapter_rank", "must be >= 1, got " + adapterRank);
        }
    }
}
