package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** The log probabilities of a chat choice. */
public record ChatLogprobs(
        @Schema(nullable = true, description = "one per generated token")
        List<TokenLogprob> content) {}
