package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/** The body of POST /api/plans: the same question as twinserve plan --json (docs/placement.md). */
public record PlanRequest(
        @Schema(description = "a workload spec (docs/workload-spec.md); default: the built-in what-if workload")
        Map<String, Object> workload,

        @Schema(
                description =
                        "the model profile the adapters share; default: the deployment's model, else llama-3.1-8b")
        String baseModel,

        @Schema(description = "pools the plan may use; default: any the placement model knows")
        List<String> pools,

        @Schema(
                description = "what the placement optimizes: cost (default) or throughput-per-gpu",
                allowableValues = {"cost", "throughput-per-gpu"})
        String objective,

        @Schema(description = "verify the plan in the twin, and search around it when the twin does not confirm it")
        Boolean verify,

        @Schema(
                description = "twin runs of the verification's searches (down after a miss, up after a meet, then at"
                        + " the pool's other trained tp), as twinserve plan --search-budget; default 12, at most 64",
                minimum = "0",
                maximum = "64")
        Integer searchBudget,

        @Schema(
                description =
                        "a deployment spec (docs/deployment-spec.md) the plan is for: its model and GPU choose the"
                                + " base model and pool, and the verification runs the twin with its replica settings and"
                                + " performance model (as twinserve plan --deployment)")
        Map<String, Object> deployment) {}
