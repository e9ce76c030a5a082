package io.twinserve.traces.format;

/**
 * The fields of one parsed record before it becomes a {@link io.twinserve.traces.Request}; reused from
 * line to line so that parsers allocate only what the request keeps.
 */
final class ParsedFields {
    /** Absolute time in ns on the format's own clock; the reader rebases it to the first request. */
    long timeNs;
    /** Column of the time field, for out-of-order errors. */
    int timeColumn;
    /** Id given by the file (native formats), or -1 to number requests in order. */
    long id = -1;

    String sessionId;
    int turnIndex = -1;
    String adapterId;
    int promptTokens;
    int outputTokens;
    int prefixBlockSize;
    long[] prefixHashes;

    void clear() {
        timeNs = 0;
        timeColumn = 0;
        id = -1;
        sessionId = null;
        turnIndex = -1;
        adapterId = null;
        promptTokens = 0;
        outputTokens = 0;
        prefixBlockSize = 0;
        prefixHashes = null;
    }
}
