package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A completion (stream false), or one server-sent event of a completion stream; a stream ends with data: [DONE]. */
public record TextCompletion(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String id,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always text_completion")
        String object,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long created,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<CompletionChoice> choices,

        @Schema(nullable = true, description = "the whole answer, or the closing chunk with include_usage")
        CompletionUsage usage) {}
