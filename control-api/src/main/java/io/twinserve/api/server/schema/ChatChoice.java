package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One answer of a chat completion. */
public record ChatChoice(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int index,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) AssistantMessage message,

        @Schema(nullable = true, description = "with logprobs only")
        ChatLogprobs logprobs,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"stop", "length"})
        String finishReason) {}
