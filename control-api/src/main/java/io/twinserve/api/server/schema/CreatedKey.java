package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A new key: the secret is in this answer and nowhere else. */
public record CreatedKey(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String user,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"admin", "operator", "user"})
        String role,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the secret, tsk_...")
        String key,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "what listings show of it")
        String prefix) {}
