package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The answer of a chat choice. */
public record AssistantMessage(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always assistant")
        String role,

        @Schema(nullable = true) String content,

        @Schema(nullable = true, description = "always null")
        String refusal) {}
