package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A generated token with its log probability and the most likely alternatives. */
public record TokenLogprob(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String token,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) double logprob,

        @Schema(nullable = true, description = "its UTF-8 bytes")
        List<Integer> bytes,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "top_logprobs entries")
        List<TopLogprob> topLogprobs) {}
