package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** Where and how many replicas a deployment runs; unknown keys are refused with a did-you-mean. */
public record PlacementSpec(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "registry compute pools the deployment may use")
        List<String> computePools,

        @Schema(description = "the TTFT bound: a request without a first token by then ends with 408")
        Long maxTtftMs,

        @Schema(description = "replicas the server runs (default 1)")
        Integer minReplicas,

        @Schema(description = "recorded for plans and what-if runs")
        Integer maxReplicas,

        Router router) {}
