package io.twinserve.engine.live;

/** Receives a request's output as the live loop makes it; called on the loop's thread, so keep it short. */
public interface TokenSink {

    /** A token was sampled; {@code text} is the new text it completes (may be empty). */
    void onToken(int tokenId, String text);

    /** The request ended; no more calls follow. */
    void onFinished(Completion completion);
}
