package io.twinserve.engine.live;

/**
 * How a request ended, with its counts and times.
 *
 * @param text the whole generated text (stop string excluded)
 * @param ttftNs arrival to first token, or -1 when none came
 * @param error what went wrong, for {@link FinishReason#ERROR}; null otherwise
 */
public record Completion(
        FinishReason reason,
        int promptTokens,
        int completionTokens,
        int cachedPromptTokens,
        int preemptions,
        long ttftNs,
        long latencyNs,
        String text,
        int[] tokenIds,
        String error) {

    /** A request that ended without an error. */
    public Completion(
            FinishReason reason,
            int promptTokens,
            int completionTokens,
            int cachedPromptTokens,
            int preemptions,
            long ttftNs,
            long latencyNs,
            String text,
            int[] tokenIds) {
        this(
                reason,
                promptTokens,
                completionTokens,
                cachedPromptTokens,
                preemptions,
                ttftNs,
                latencyNs,
                text,
                tokenIds,
                null);
    }

    /** Why generation ended (OpenAI's {@code finish_reason} names where they exist). */
    public enum FinishReason {
        /** A stop token, the end-of-sequence token or a stop string. */
        STOP,
        /** {@code max_tokens} reached. */
        LENGTH,
        /** No first token within {@code max_ttft_ms} (HTTP 408). */
        TIMEOUT,
        /** The engine failed while running it. */
        ERROR,
        /** Its caller cancelled it (a client that went away); its KV blocks and slot were freed at once. */
        CANCELLED
    }
}
