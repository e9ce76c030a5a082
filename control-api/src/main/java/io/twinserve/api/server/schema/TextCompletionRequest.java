package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.Map;

/** The body of POST /v1/completions (OpenAI's legacy completions); a field outside these is refused with 400 naming it and the closest one. */
public record TextCompletionRequest(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "<deployment> or <deployment>:<adapter>")
        String model,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "a string, a list of one string, or token ids (an array of integers, or a list of one)")
        Object prompt,

        @Schema(description = "0 to 5: return the log probabilities of the most likely tokens at each position")
        Integer logprobs,

        @Schema(description = "the most tokens to generate") Integer maxTokens,
        @Schema(description = "0 to 2; 0 is greedy") Double temperature,
        @Schema(description = "(0, 1]") Double topP,
        @Schema(description = "-1 or 0: off") Integer topK,

        @Schema(description = "[0, 1]: drop tokens below min_p times the most likely one's probability")
        Double minP,

        @Schema(description = "makes sampling repeatable") Long seed,

        @Schema(description = "a string or up to 4 strings that end the answer")
        Object stop,

        @Schema(description = "answer as server-sent events ending with data: [DONE]")
        Boolean stream,

        @Schema(description = "only with stream") StreamOptions streamOptions,

        @Schema(description = "keep generating past the end-of-sequence token (vLLM)")
        Boolean ignoreEos,

        @Schema(description = "how many choices to generate (default 1)")
        Integer n,

        @Schema(description = "-2 to 2: penalise tokens that appeared at all")
        Double presencePenalty,

        @Schema(description = "-2 to 2: penalise tokens by how often they appeared")
        Double frequencyPenalty,

        @Schema(description = "> 0, 1 is off (vLLM): divides the logits of tokens already seen")
        Double repetitionPenalty,

        @Schema(description = "token id -> bias, -100 to 100, added to its logit")
        Map<String, Double> logitBias,

        @Schema(description = "pins a conversation to one replica (as the X-Session-Id header)")
        String sessionId,

        @Schema(description = "ignored by decision") String user,
        @Schema(description = "ignored by decision") Map<String, Object> metadata,
        @Schema(description = "ignored by decision") Boolean store,
        @Schema(description = "ignored by decision") String serviceTier) {}
