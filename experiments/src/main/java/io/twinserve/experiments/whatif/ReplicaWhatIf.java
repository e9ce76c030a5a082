package io.twinserve.experiments.whatif;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A single-replica what-if: a workload (a spec's text, or a trace file), a deployment spec, the sweep of
 * spec keys (none: one run) and how to run.
 */
public record ReplicaWhatIf(
        SpecText workload, Path trace, SpecText deployment, SpecSweep sweep, WhatIfOptions options) {
    public ReplicaWhatIf {
        if ((workload == null) == (trace == null)) {
            throw new IllegalArgumentException("a what-if needs exactly one of a workload spec and a trace file, got "
                    + (workload == null ? "neither" : "both"));
        }
        Objects.requireNonNull(deployment, "deployment");
        Objects.requireNonNull(sweep, "sweep");
        Objects.requireNonNull(options, "options");
    }
}
