package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/** The log probabilities of a completion choice (OpenAI's legacy shape). */
public record CompletionLogprobs(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<String> tokens,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<Double> tokenLogprobs,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "token -> log probability, logprobs of them per position")
        List<Map<String, Double>> topLogprobs,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<Integer> textOffset) {}
