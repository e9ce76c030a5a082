package io.twinserve.twin.router;

import io.twinserve.traces.Request;

/**
 * What a router knows of a request.
 *
 * @param sessionKey what sticky routing keys on (null: nothing to stick by)
 * @param adapter the request's adapter index in its deployment (-1: base model)
 * @param blockHashes the prompt's KV block keys (may be empty)
 * @param promptTokens the prompt's length in tokens
 */
public record RouteRequest(String sessionKey, int adapter, long[] blockHashes, int promptTokens) {
    private static final long[] NO_HASHES = new long[0];

    public RouteRequest {
        blockHashes = blockHashes == null ? NO_HASHES : blockHashes;
    }

    /**
     * A trace request: its session id, or without one its first prefix hash (so that requests sharing a
     * prefix meet where it is cached, as in the Mooncake trace). The line break, which session ids cannot
     * hold, keeps the two kinds of key apart.
     */
    public static RouteRequest of(Request request, int adapter, long[] blockHashes) {
        String key = request.sessionId() != null
                ? request.sessionId()
                : request.prefixHashes().length > 0 ? "prefix\n" + request.prefixHashes()[0] : null;
        return new RouteRequest(key, adapter, blockHashes, request.promptTokens());
    }
}
