package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One choice of a stream chunk. */
public record ChatChunkChoice(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int index,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) ChunkDelta delta,
        @Schema(nullable = true) ChatLogprobs logprobs,

        @Schema(nullable = true, description = "set on the last chunk of the choice")
        String finishReason) {}
