package io.twinserve.traces.format;

import java.nio.file.Path;

/**
 * Mooncake (FAST'25) JSON Lines: {@code timestamp} in ms from the start, {@code input_length},
 * {@code output_length}, and {@code hash_ids} of 512-token prefix blocks. Other keys are ignored, as the
 * conversation and tool-agent traces add some.
 */
final class MooncakeLineParser implements LineParser {
    /** Mooncake's hash_ids cover blocks of this many tokens. */
    static final int BLOCK_TOKENS = 512;

    private final JsonLine json;

    MooncakeLineParser(Path file) {
        this.json = new JsonLine(file);
    }

    @Override
    public Kind parse(LineScanner line, ParsedFields out) {
        json.open(line);
        boolean hasTime = false;
        boolean hasInput = false;
        boolean hasOutput = false;
        String key;
        while ((key = json.nextField()) != null) {
            switch (key) {
                case "timestamp" -> {
                    double ms = json.doubleValue(key);
                    if (ms < 0) {
                        throw json.error("timestamp: expected milliseconds >= 0, got " + ms);
                    }
                    out.timeNs = Math.round(ms * 1e6);
                    hasTime = true;
                }
                case "input_length" -> {
                    out.promptTokens = json.nonNegativeInt(key);
                    if (out.promptTokens < 1) {
                        throw json.error("input_length: expected a token count >= 1, got 0");
                    }
                    hasInput = true;
                }
                case "output_length" -> {
                    out.outputTokens = json.nonNegativeInt(key);
                    if (out.outputTokens < 1) {
                        throw json.error("output_length: expected a token count >= 1, got 0");
                    }
                    hasOutput = true;
                }
                case "hash_ids" -> {
                    out.prefixHashes = json.longArray(key);
                    out.prefixBlockSize = BLOCK_TOKENS;
                }
                default -> json.skipValue();
            }
        }
        if (!hasTime || !hasInput || !hasOutput) {
            throw json.error("expected the keys timestamp, input_length and output_length; missing "
                    + (!hasTime ? "timestamp" : !hasInput ? "input_length" : "output_length"));
        }
        return Kind.REQUEST;
    }
}
