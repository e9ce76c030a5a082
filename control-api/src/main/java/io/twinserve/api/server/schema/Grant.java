package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A grant of inference. */
public record Grant(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String user,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String deployment,

        @Schema(nullable = true, description = "null: every adapter and the base model")
        String adapter) {}
