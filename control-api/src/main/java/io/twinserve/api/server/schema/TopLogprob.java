package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A likely token at one position. */
public record TopLogprob(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String token,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) double logprob,

        @Schema(nullable = true, description = "its UTF-8 bytes")
        List<Integer> bytes) {}
