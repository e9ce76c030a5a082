package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** What a stream chunk adds to the answer. */
public record ChunkDelta(
        @Schema(description = "the first chunk only") String role, String content) {}
