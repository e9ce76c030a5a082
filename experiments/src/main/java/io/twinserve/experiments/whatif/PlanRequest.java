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
 * is the deployment's, or {@link #DEFAULT_BASE_MODEL} without one. {@code verifyOption} is how the caller's users
 * ask for the verification, which the plan's notes name ({@link #CLI_VERIFY}, {@link #API_VERIFY}).
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
        SpecText deployment,
        String verifyOption) {
    /** How the command line asks for the verification. */
    public static final String CLI_VERIFY = "--verify";

    /** How a request to the control API (and the console, which sends one) asks for the verification. */
    public static final String API_VERIFY = "\"verify\": true (the console's \"verify with the twin\")";

    /** A request from the command line ({@link #CLI_VERIFY}). */
    public PlanRequest(
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
        this(
                workload,
                trace,
                adapterRank,
                baseModel,
                pools,
                objective,
                model,
                features,
                verify,
                slo,
                searchBudget,
                deployment,
                CLI_VERIFY);
    }

    /** The base model of a plan that names none and has no deployment. */
    public static final String DEFAULT_BASE_MODEL = "llama-3.1-8b";

    public PlanRequest {
        if ((workload == null) == (trace == null)) {
            throw new IllegalArgumentException("a plan needs exactly one of a workload spec and a trace file, got "
                    + (workload == null ? "neither" : "both"));
        }
        Objects.requireNonNull(objective, "objective");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(verifyOption, "verifyOption");
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
                deployment,
                verifyOption);
    }

    /** The built-in what-if workload as {@code twinserve plan} reads it, with its relative paths from {@code baseDir}. */
    public static SpecText builtInWorkload(Path baseDir) {
        return SpecText.builtInWorkload().named(Path.of("<built-in what-if workload>"), baseDir);
    }
}
