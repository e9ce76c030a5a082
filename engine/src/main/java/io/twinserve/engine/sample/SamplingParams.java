package io.twinserve.engine.sample;

import java.util.List;

/**
 * How one request picks its tokens and when it stops.
 *
 * @param temperature 0 for greedy
 * @param topK 0 for no limit
 * @param topP 1 for no limit
 * @param seed seeds this request's own random stream, so its tokens do not depend on its batch-mates
 * @param stopStrings generation ends when the text contains one (the stop string is not returned)
 * @param stopTokenIds generation ends on one of these tokens (besides the model's end-of-sequence ids when
 *     {@code ignoreEos} is false)
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        long seed,
        int maxTokens,
        List<String> stopStrings,
        List<Integer> stopTokenIds,
        boolean ignoreEos) {

    public SamplingParams {
        if (!(temperature >= 0) || temperature > 100) {
            throw new IllegalArgumentException("temperature must be between 0 and 100, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 = no limit), got " + topK);
        }
        if (!(topP > 0) || topP > 1) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
        }
        stopStrings = List.copyOf(stopStrings);
        stopTokenIds = List.copyOf(stopTokenIds);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 0, 1, 0, maxTokens, List.of(), List.of(), false);
    }

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }
}
