package io.twinserve.twin.metrics;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What happened to one request. Times are ns from the start of the run; -1 when it did not happen.
 * {@code arrivalNs} is when the server received it (the client's send); {@code intendedNs}, given only
 * when the workload has a client block or a cap, is when the client meant to send it (earlier when it
 * waited at the client). TTFT as the server sees it counts from the arrival, as a benchmark client
 * reports it from the intended time.
 *
 * @param outcome finished, unfinished (still waiting or running when the window closed), rejected
 *     (longer than max_model_len or than the whole KV cache) or timed out (no first token within
 *     max_ttft_ms: HTTP 408)
 */
public record RequestRecord(
        long id,
        String adapter,
        long arrivalNs,

        @JsonInclude(JsonInclude.Include.NON_NULL) Long intendedNs,

        long firstScheduledNs,
        long firstTokenNs,
        long finishNs,
        int promptTokens,
        int outputTokens,
        int generatedTokens,
        long cachedPromptTokens,
        int preemptions,
        Outcome outcome) {

    /** How a request ended. */
    public enum Outcome {
        @JsonProperty("finished")
        FINISHED,
        @JsonProperty("unfinished")
        UNFINISHED,
        @JsonProperty("rejected")
        REJECTED,
        @JsonProperty("timed_out")
        TIMED_OUT
    }
}
