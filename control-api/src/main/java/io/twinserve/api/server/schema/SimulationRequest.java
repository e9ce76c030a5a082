package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/** The body of POST /api/simulations: the same run as twinserve what-if --json (docs/workload-spec.md, docs/deployment-spec.md, docs/cluster-spec.md). */
public record SimulationRequest(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "a workload spec")
        Map<String, Object> workload,

        @Schema(description = "a deployment spec (or cluster)")
        Map<String, Object> deployment,

        @Schema(description = "a cluster spec (or deployment)")
        Map<String, Object> cluster,

        @Schema(description = "key=value1,value2 sweeps, at most 64 configurations")
        List<String> sweep,

        Long seed,

        @Schema(description = "the time-series window in seconds")
        Double windowS) {}
