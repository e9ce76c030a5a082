package io.twinserve.twin.autoscale;

/** What an {@link Autoscaler} reads of its deployment at a tick. */
public interface ScaledDeployment {

    /** The mean TTFT of the requests answered since the last call, in ns (NaN when none); resets it. */
    double intervalMeanTtftNs();

    /** The age at {@code now} of the oldest request still without a first token (0 when none). */
    long oldestUnansweredAgeNs(long now);

    /** Replicas ready and routed to. */
    int readyReplicas();

    /** Replicas starting (cold). */
    int startingReplicas();

    /** Replicas holding GPUs: starting, ready or draining. */
    int holdingReplicas();

    /** Requests waiting in the replicas' queues. */
    long waitingRequests();

    int minReplicas();

    int maxReplicas();
}
