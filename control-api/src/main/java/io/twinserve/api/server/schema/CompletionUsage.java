package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** Tokens of a call. */
public record CompletionUsage(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int promptTokens,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int completionTokens,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int totalTokens,
        PromptTokensDetails promptTokensDetails) {}
