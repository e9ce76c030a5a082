package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One answer of a completion, or one chunk of it in a stream. */
public record CompletionChoice(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int index,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String text,

        @Schema(nullable = true, description = "with logprobs only")
        CompletionLogprobs logprobs,

        @Schema(nullable = true) String finishReason) {}
