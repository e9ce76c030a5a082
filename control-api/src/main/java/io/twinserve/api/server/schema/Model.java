package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A base model as the registry holds it. */
public record Model(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name,
        @Schema(nullable = true) String path,
        @Schema(nullable = true) String profile,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt) {}
