package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /api/keys. */
public record KeyCreate(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the user, created when new")
        String user,

        @Schema(
                description = "the user's role when it is created (default user)",
                allowableValues = {"admin", "operator", "user"})
        String role) {}
