package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** Part of the API's wire format. */
public record PromptTokensDetails(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "prompt tokens served from the prefix cache")
        int cachedTokens) {}
