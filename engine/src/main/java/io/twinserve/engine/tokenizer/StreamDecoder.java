package io.twinserve.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated token ids into text as soon as the bytes so far form whole UTF-8 characters, holding
 * back the start of a character split across tokens (one decoder per generated sequence).
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private byte[] pending = new byte[0];
    private boolean atStart = true;

    StreamDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds one token and returns the text it completes, possibly empty. */
    public String next(int id) {
        if (skipSpecialTokens && tokenizer.isSpecial(id)) {
            return "";
        }
        byte[] bytes = tokenizer.bytesOf(id);
        byte[] joined = Arrays.copyOf(pending, pending.length + bytes.length);
        System.arraycopy(bytes, 0, joined, pending.length, bytes.length);
        int complete = completeLength(joined);
        pending = Arrays.copyOfRange(joined, complete, joined.length);
        return emit(new String(joined, 0, complete, StandardCharsets.UTF_8));
    }

    /** Returns what is held back (an incomplete character becomes U+FFFD) and empties the decoder. */
    public String flush() {
        String rest = new String(pending, StandardCharsets.UTF_8);
        pending = new byte[0];
        return emit(rest);
    }

    private String emit(String text) {
        if (atStart && !text.isEmpty()) {
            atStart = false;
            return tokenizer.decoder().stripStart(text);
        }
        return text;
    }

    /** Length of the prefix that does not end inside a character that later bytes could still complete. */
    static int completeLength(byte[] bytes) {
        int n = bytes.length;
        // A character is at most 4 bytes, so only the last 3 can start an unfinished one.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int b = bytes[n - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for its lead byte
            }
            int needed = b >= 0xF5 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 1;
            return needed > back && b >= 0xC2 ? n - back : n;
        }
        return n;
    }
}
