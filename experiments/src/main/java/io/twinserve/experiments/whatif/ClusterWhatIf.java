package io.twinserve.experiments.whatif;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A cluster what-if: a cluster spec, optionally a workload file (a spec or a trace) that replaces the traffic
 * of its one deployment and the name its messages give that file (null: its path), the sweep of cluster-spec key
 * paths (none: one run) and how to run.
 */
public record ClusterWhatIf(
        SpecText cluster, Path workload, SpecSweep sweep, WhatIfOptions options, String workloadName) {
    /** A what-if whose messages name the workload file by its path. */
    public ClusterWhatIf(SpecText cluster, Path workload, SpecSweep sweep, WhatIfOptions options) {
        this(cluster, workload, sweep, options, null);
    }

    public ClusterWhatIf {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(sweep, "sweep");
        Objects.requireNonNull(options, "options");
    }
}
