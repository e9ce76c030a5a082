package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One message of a conversation. */
public record ChatMessage(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"system", "developer", "user", "assistant", "tool"})
        String role,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "a string, or a list of text parts {type: text, text}")
        Object content,

        String name) {}
