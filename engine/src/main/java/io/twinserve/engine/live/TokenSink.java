package io.twinserve.engine.live;

import io.twinserve.engine.sample.TokenLogprobs;

/** Receives a request's output as the live loop makes it; called on the loop's thread, so keep it short. */
public interface TokenSink {

    /** A token was sampled; {@code text} is the new text it completes (may be empty). */
    void onToken(int tokenId, String text);

    /**
     * A token was sampled, with its log-probabilities when the request asked for them (null otherwise). The
     * loop calls this one; by default it forwards to {@link #onToken(int, String)}.
     */
    default void onToken(int tokenId, String text, TokenLogprobs logprobs) {
        onToken(tokenId, text);
    }

    /** The request ended; no more calls follow. */
    void onFinished(Completion completion);

    /**
     * The request is to run again from the start on another replica (its own failed mid-answer): forget the tokens
     * heard so far, and return true, if nobody has seen them yet (an answer returned whole at its end); a sink
     * whose tokens already reached a client (a stream) returns false, and the request ends with the failure. Called
     * on the failed loop's thread; by default false.
     */
    default boolean rewind() {
        return false;
    }
}
