package io.twinserve.traces.format;

import io.twinserve.traces.spec.KeySuggestions;
import java.nio.file.Path;
import java.util.List;

/** twinserve's own JSON Lines: every field of a request, keys as {@link NativeFields} names them. */
final class NativeJsonlLineParser implements LineParser {
    private final JsonLine json;

    NativeJsonlLineParser(Path file) {
        this.json = new JsonLine(file);
    }

    @Override
    public Kind parse(LineScanner line, ParsedFields out) {
        json.open(line);
        boolean hasArrival = false;
        boolean hasPrompt = false;
        boolean hasOutput = false;
        String key;
        while ((key = json.nextField()) != null) {
            if (json.isNull()) {
                continue;
            }
            switch (key) {
                case NativeFields.ID -> {
                    out.id = json.longValue(key);
                    if (out.id < 0) {
                        throw json.error(key + ": expected a non-negative integer, got " + out.id);
                    }
                }
                case NativeFields.ARRIVAL_NS -> {
                    out.timeNs = json.longValue(key);
                    hasArrival = true;
                }
                case NativeFields.SESSION_ID -> out.sessionId = json.stringValue(key);
                case NativeFields.TURN -> out.turnIndex = json.nonNegativeInt(key);
                case NativeFields.ADAPTER -> out.adapterId = json.stringValue(key);
                case NativeFields.PROMPT_TOKENS -> {
                    out.promptTokens = json.nonNegativeInt(key);
                    hasPrompt = true;
                }
                case NativeFields.OUTPUT_TOKENS -> {
                    out.outputTokens = json.nonNegativeInt(key);
                    hasOutput = true;
                }
                case NativeFields.BLOCK_SIZE -> out.prefixBlockSize = json.nonNegativeInt(key);
                case NativeFields.PREFIX_HASHES -> out.prefixHashes = json.longArray(key);
                default ->
                    throw json.error("unknown key '" + key + "'"
                            + KeySuggestions.didYouMean(key, List.of(NativeFields.ALL)) + "; expected one of "
                            + String.join(", ", NativeFields.ALL));
            }
        }
        if (!hasArrival || !hasPrompt || !hasOutput) {
            throw json.error("expected the keys " + NativeFields.ARRIVAL_NS + ", " + NativeFields.PROMPT_TOKENS
                    + " and " + NativeFields.OUTPUT_TOKENS + "; missing "
                    + (!hasArrival
                            ? NativeFields.ARRIVAL_NS
                            : !hasPrompt ? NativeFields.PROMPT_TOKENS : NativeFields.OUTPUT_TOKENS));
        }
        return Kind.REQUEST;
    }
}
