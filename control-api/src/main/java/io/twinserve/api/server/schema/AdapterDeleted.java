package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** What DELETE /api/models/{model}/adapters/{name} removed. */
public record AdapterDeleted(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always true")
        boolean deleted) {}
