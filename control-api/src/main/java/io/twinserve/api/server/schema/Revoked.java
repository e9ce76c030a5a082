package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** What a revoking DELETE removed. */
public record Revoked(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always true")
        boolean revoked) {}
