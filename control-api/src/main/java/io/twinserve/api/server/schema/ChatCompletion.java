package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A whole chat completion (stream false). */
public record ChatCompletion(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String id,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always chat.completion")
        String object,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long created,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<ChatChoice> choices,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) CompletionUsage usage) {}
