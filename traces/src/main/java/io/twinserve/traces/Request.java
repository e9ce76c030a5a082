package io.twinserve.traces;

import java.util.Arrays;
import java.util.Objects;

/**
 * One inference request of a workload: when it arrives, which adapter it uses and how many tokens it
 * reads and writes.
 *
 * <p>Arrival times are nanoseconds from the start of the trace. A request that belongs to a multi-turn
 * session carries the session id and its turn index (0-based); otherwise {@code sessionId} is null and
 * {@code turnIndex} is {@link #NO_TURN}. {@code adapterId} null means the base model. Prefix block
 * hashes, when present, identify the prompt's blocks of {@code prefixBlockSize} tokens: the same hash at
 * the same position in two requests means the same cached prefix, as in the Mooncake trace. Hashes
 * beyond the prompt's blocks, where a trace has them (generated sessions), identify the blocks of the
 * answer, which a later turn's prompt repeats. The array is owned by the record and must not be
 * modified.
 */
public record Request(
        long id,
        long arrivalNs,
        String sessionId,
        int turnIndex,
        String adapterId,
        int promptTokens,
        int outputTokens,
        int prefixBlockSize,
        long[] prefixHashes) {

    /** {@code turnIndex} of a request that is not part of a session. */
    public static final int NO_TURN = -1;

    private static final long[] NO_HASHES = new long[0];

    public Request {
        if (arrivalNs < 0) {
            throw new IllegalArgumentException("arrival_ns must be >= 0, got " + arrivalNs);
        }
        if (promptTokens < 1) {
            throw new IllegalArgumentException("prompt_tokens must be >= 1, got " + promptTokens);
        }
        if (outputTokens < 1) {
            throw new IllegalArgumentException("output_tokens must be >= 1, got " + outputTokens);
        }
        if (sessionId == null && turnIndex != NO_TURN) {
            throw new IllegalArgumentException("turn must be empty when session_id is, got " + turnIndex);
        }
        if (sessionId != null && turnIndex < 0) {
            throw new IllegalArgumentException("turn must be >= 0 for a session request, got " + turnIndex);
        }
        checkId("session_id", sessionId);
        checkId("adapter", adapterId);
        if (prefixHashes == null) {
            prefixHashes = NO_HASHES;
        }
        if (prefixHashes.length > 0 && prefixBlockSize < 1) {
            throw new IllegalArgumentException(
                    "block_size must be >= 1 when prefix hashes are given, got " + prefixBlockSize);
        }
        if (prefixHashes.length == 0 && prefixBlockSize != 0) {
            prefixBlockSize = 0;
        }
    }

    private static void checkId(String field, String value) {
        if (value != null && (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0)) {
            throw new IllegalArgumentException(field + " must not contain a line break, got '"
                    + value.replace("\n", "\\n").replace("\r", "\\r") + "'");
        }
    }

    /** A request without session or prefix hashes. */
    public static Request of(long id, long arrivalNs, String adapterId, int promptTokens, int outputTokens) {
        return new Request(id, arrivalNs, null, NO_TURN, adapterId, promptTokens, outputTokens, 0, null);
    }

    public boolean hasSession() {
        return sessionId != null;
    }

    public boolean hasPrefixHashes() {
        return prefixHashes.length > 0;
    }

    public int totalTokens() {
        return promptTokens + outputTokens;
    }

    public Request withId(long newId) {
        return new Request(
                newId,
                arrivalNs,
                sessionId,
                turnIndex,
                adapterId,
                promptTokens,
                outputTokens,
                prefixBlockSize,
                prefixHashes);
    }

    public Request withArrivalNs(long newArrivalNs) {
        return new Request(
                id,
                newArrivalNs,
                sessionId,
                turnIndex,
                adapterId,
                promptTokens,
                outputTokens,
                prefixBlockSize,
                prefixHashes);
    }

    public Request withAdapterId(String newAdapterId) {
        return new Request(
                id,
                arrivalNs,
                sessionId,
                turnIndex,
                newAdapterId,
                promptTokens,
                outputTokens,
                prefixBlockSize,
                prefixHashes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Request r
                && id == r.id
                && arrivalNs == r.arrivalNs
                && turnIndex == r.turnIndex
                && promptTokens == r.promptTokens
                && outputTokens == r.outputTokens
                && prefixBlockSize == r.prefixBlockSize
                && Objects.equals(sessionId, r.sessionId)
                && Objects.equals(adapterId, r.adapterId)
                && Arrays.equals(prefixHashes, r.prefixHashes);
    }

    @Override
    public int hashCode() {
        int h = Objects.hash(
                id, arrivalNs, sessionId, turnIndex, adapterId, promptTokens, outputTokens, prefixBlockSize);
        return 31 * h + Arrays.hashCode(prefixHashes);
    }

    @Override
    public String toString() {
        return "Request[id=" + id + ", arrivalNs=" + arrivalNs + ", sessionId=" + sessionId
                + ", turnIndex=" + turnIndex + ", adapterId=" + adapterId + ", promptTokens=" + promptTokens
                + ", outputTokens=" + outputTokens + ", prefixBlockSize=" + prefixBlockSize
                + ", prefixHashes=" + Arrays.toString(prefixHashes) + "]";
    }
}
