package io.twinserve.engine.live;

import io.twinserve.engine.sample.SamplingParams;

/**
 * One request to the live loop.
 *
 * @param adapter a registered adapter's name, or null for the base model
 * @param maxTtftMs the longest wait for the first token, queue time included, or 0 for none
 */
public record GenerationRequest(String adapter, int[] promptTokens, SamplingParams sampling, long maxTtftMs) {
    public GenerationRequest {
        if (promptTokens == null || promptTokens.length == 0) {
            throw new IllegalArgumentException("prompt must have at least one token");
        }
        if (maxTtftMs < 0) {
            throw new IllegalArgumentException("max_ttft_ms must be >= 0, got " + maxTtftMs);
        }
        promptTokens = promptTokens.clone();
    }
}
