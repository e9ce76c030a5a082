package io.twinserve.engine.live;

/** Turns generated token ids into text as they come (a tokenizer's streaming decoder). */
public interface Detokenizer {

    /** One request's incremental decoder. */
    interface Stream {
        /** The text that token {@code id} completes (empty while a multi-byte character is unfinished). */
        String next(int id);
    }

    Stream open();
}
