package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A LoRA adapter of a model. */
public record Adapter(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the model's name")
        String model,

        @Schema(nullable = true) String path,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int rank,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt) {}
