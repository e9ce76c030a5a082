package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.Map;

/** The body of POST /api/capacity-searches: the question of twinserve capacity (docs/capacity-search.md). */
public record CapacityRequest(
        @Schema(description = "a capacity spec; absent: the built-in search (120 candidates)")
        Map<String, Object> capacity,

        @Schema(description = "the workload the spec names in 'workload'; absent: the built-in chat workload")
        Map<String, Object> workload) {}
