package io.twinserve.twin.sched;

/** Receives what a completed step did, for metrics. */
public interface StepListener {

    /** A sequence sampled its first token. */
    void onFirstToken(Sequence s, long nowNs);

    /** A sequence sampled a later token, {@code gapNs} after its previous one. */
    void onToken(Sequence s, long gapNs);

    /**
     * Whether this listener takes the tokens of decodes that ran in consecutive steps in bulk, through
     * {@link #onTokens}, instead of one {@link #onToken} call each (metrics that only need the gaps).
     */
    default boolean acceptsBulkTokens() {
        return false;
    }

    /** {@code count} sequences each sampled a token {@code gapNs} after their previous one (one step). */
    default void onTokens(long gapNs, long count) {}

    /**
     * The smallest gap above {@code gapNs} that {@link #onTokens} records differently from {@code gapNs}:
     * the tokens of gaps from {@code gapNs} up to it may be given in one call, as if all were {@code
     * gapNs} (a histogram bucket's end; the default, {@code gapNs + 1}, makes every gap its own).
     */
    default long tokenGapBucketEndNs(long gapNs) {
        return gapNs + 1;
    }

    /**
     * A sequence gave up before its first token because its TTFT deadline passed (HTTP 408); its blocks
     * and adapter are already released.
     */
    default void onTimedOut(Sequence s, long nowNs) {}

    /** A sequence finished; its blocks and adapter are already released. */
    void onFinished(Sequence s, long nowNs);
}
