package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/** The body of POST /api/plans: the same question as twinserve plan --json (docs/plan.md). */
public record PlanRequest(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "a workload spec")
        Map<String, Object> workload,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "a model profile")
        String baseModel,

        @Schema(description = "pools to plan over") List<Object> pools,
        Map<String, Object> objective,
        @Schema(description = "verify the plan in the twin") Boolean verify) {}
