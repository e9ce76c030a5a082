package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One served inference call. */
public record InteractionRecord(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the response id (chatcmpl-..., cmpl-...)")
        String requestId,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"chat.completions", "completions"})
        String endpoint,

        @Schema(nullable = true) String deployment,

        @Schema(nullable = true, description = "null: the base model")
        String adapter,

        @Schema(nullable = true, description = "the key that made the call")
        Long keyId,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int promptTokens,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int completionTokens,
        @Schema(nullable = true) Double ttftMs,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) double latencyMs,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "the HTTP status the call ended with (499: cancelled)")
        int status,

        @Schema(nullable = true) String finishReason,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String startedAt,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String finishedAt,

        @Schema(nullable = true, description = "only when text is retained")
        String promptText,

        @Schema(nullable = true, description = "only when text is retained")
        String completionText) {}
