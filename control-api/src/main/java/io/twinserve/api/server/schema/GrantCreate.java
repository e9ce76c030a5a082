package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /api/permissions: inference on a deployment, or on one adapter of it. */
public record GrantCreate(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String user,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String deployment,

        @Schema(nullable = true, description = "one adapter only; absent: the whole deployment")
        String adapter) {}
