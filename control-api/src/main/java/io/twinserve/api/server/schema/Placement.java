package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A deployment's placement as stored, defaults filled in. */
public record Placement(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<String> computePools,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long maxTtftMs,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int minReplicas,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int maxReplicas,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) Router router) {}
