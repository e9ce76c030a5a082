package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A key as listed (without its secret). */
public record ApiKey(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String prefix,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String user,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"admin", "operator", "user"})
        String role,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt,

        @Schema(nullable = true, description = "ISO-8601 time")
        String revokedAt) {}
