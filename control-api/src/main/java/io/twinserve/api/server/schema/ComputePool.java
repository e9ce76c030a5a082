package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A compute pool as the registry holds it. */
public record ComputePool(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String gpu,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int gpus,
        @Schema(nullable = true) String description,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt) {}
