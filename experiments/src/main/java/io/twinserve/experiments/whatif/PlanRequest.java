package io.twinserve.experiments.whatif;

import io.twinserve.placement.PlacementModel;
import io.twinserve.traces.spec.SloSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A plan: the workload (a spec's text, or a trace file whose adapters get {@code adapterRank}), the base
 * model, the pools it may use (null: any), the objective ({@code cost} or {@code throughput-per-gpu}), the
 * placement model, feature overrides ({@code NAME=VALUE}; null: none), whether to verify the plan in the
 * twin, SLO bounds over the workload's (null: none), the twin runs of the searches around it, and the deployment
 * whose replica settings and performance model the twin verifies with (null: the training grid's). A null base model
 * is the deployment's, or {@link #DEFAULT_BASE_MODEL} without one.
 */
public record PlanRequest(
        SpecText workload,
        Path trace,
        int adapterRank,
        String baseModel,
        List<String> pools,
        String objective,
        PlacementModel model,
        List<String> features,
        boolean verify,
        SloSpec slo,
        int searchBudget,
        SpecText deployment) {
    /** The base model of a plan that names none and has no deployment. */
    public static final String DEFAULT_BASE_MODEL = "llama-3.1-8b";

    public PlanRequest {
        if ((workload == null) == (trace == null)) {
            throw new IllegalArgumentException("a plan needs exactly one of a workload spec and a trace file, got "
                    + (workload == null ? "neither" : "both"));
        }
        Objects.requireNonNull(objective, "objective");
        Objects.requireNonNull(model, "model");
        pools = pools == null ? null : List.copyOf(pools);
        features = features == null ? null : List.copyOf(features);
    }

    /** The same request judged by these SLO bounds over the workload's. */
    public PlanRequest withSlo(SloSpec newSlo) {
        return new PlanRequest(
                workload,
                trace,
                adapterRank,
                baseModel,
                pools,
                objective,
                model,
                features,
                verify,
                newSlo,
                searchBudget,
                deployment);
    }

    /** The built-in what-if workload as {@code twinserve plan} reads it, with its relative paths from {@code baseDir}. */
    public static SpecText builtInWorkload(Path baseDir) {
        return SpecText.builtInWorkload().named(Path.of("<built-in what-if workload>"), baseDir);
    }
}
