package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** Options of a stream. */
public record StreamOptions(
        @Schema(description = "end the stream with a chunk carrying usage and no choices")
        Boolean includeUsage) {}
