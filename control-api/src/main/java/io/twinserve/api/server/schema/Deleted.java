package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** What a DELETE removed. */
public record Deleted(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always true")
        boolean deleted) {}
