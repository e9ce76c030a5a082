package io.twinserve.twin.router;

/**
 * What a router reads of a replica: its load, the adapters in its GPU slots, its prefix cache and its
 * prefill backlog. The twin's replicas and the server's replica handles both implement it.
 */
public interface RoutableReplica {

    /** Its id, unique within the deployment while it runs: what a {@link SessionStore} records. */
    int replicaId();

    /** Requests waiting or running here. */
    long outstanding();

    /** Whether the adapter (its index in the deployment) is in a GPU slot here, resident or loading. */
    boolean holdsAdapter(int adapter);

    /** Tokens of this prompt whose K/V this replica holds (its prefix cache), at most {@code promptTokens}. */
    int cachedPrefixTokens(long[] blockHashes, int promptTokens);

    /** An estimate of when a prefill of {@code tokens} more would finish here, in nanoseconds from now. */
    double estimatedPrefillNs(long tokens);
}
