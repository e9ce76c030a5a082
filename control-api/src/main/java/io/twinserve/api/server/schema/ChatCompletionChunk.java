package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** One server-sent event of a chat stream (data: <this JSON>); the stream ends with data: [DONE]. */
public record ChatCompletionChunk(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String id,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always chat.completion.chunk")
        String object,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long created,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "empty in the closing usage chunk")
        List<ChatChunkChoice> choices,

        @Schema(nullable = true, description = "only in the closing chunk, with stream_options.include_usage")
        CompletionUsage usage) {}
