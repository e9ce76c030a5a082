package io.twinserve.twin.cluster;

/**
 * What happens in a cluster run. Events at the same instant are taken by phase, then in the order they
 * were scheduled: arrivals are routed first, replicas that finished their cold start join, steps
 * complete, TTFT deadlines pass (a first token exactly at the deadline is in time), idle replicas plan
 * their next step (so they see every arrival of that instant), and the autoscaler looks last.
 */
sealed interface Event {

    int phase();

    /**
     * Traffic source {@code source}'s client sends its next request, which arrives. One per source, queued
     * again for each send; the queue's sequence number tells a current send from one the client brought
     * forward since (a closed-loop user ready earlier).
     */
    record RequestArrived(int source) implements Event {
        @Override
        public int phase() {
            return 0;
        }
    }

    /** A replica finished its cold start. */
    record ReplicaStarted(Replica replica) implements Event {
        @Override
        public int phase() {
            return 1;
        }
    }

    /** A replica's step ends. */
    record StepCompleted(Replica replica) implements Event {
        @Override
        public int phase() {
            return 2;
        }
    }

    /** The earliest TTFT deadline of a deployment's unanswered requests. */
    record TtftDeadlinePassed(int deployment) implements Event {
        @Override
        public int phase() {
            return 3;
        }
    }

    /** An idle replica has something to plan: new requests, or an adapter that finished loading. */
    record ReplicaWoken(Replica replica) implements Event {
        @Override
        public int phase() {
            return 4;
        }
    }

    /** A deployment's autoscaler looks at its figures. */
    record AutoscalerTicked(int deployment) implements Event {
        @Override
        public int phase() {
            return 5;
        }
    }
}
