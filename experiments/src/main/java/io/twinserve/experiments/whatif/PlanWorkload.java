package io.twinserve.experiments.whatif;

import io.twinserve.placement.Planner;
import io.twinserve.traces.spec.WorkloadSpec;
import java.nio.file.Path;
import java.util.List;

/**
 * The workload as the planner reads it: its name, the spec (null for a trace), the folder its relative
 * paths are read from, the planner's request, the notes on how it was described, and the deployment whose replica
 * settings and performance model the twin verifies with ({@link PlanDeployment#spec} null: the training grid's).
 */
public record PlanWorkload(
        String name,
        WorkloadSpec spec,
        Path baseDir,
        Planner.Request request,
        List<String> notes,
        PlanDeployment deployment) {
    public PlanWorkload {
        notes = List.copyOf(notes);
    }
}
