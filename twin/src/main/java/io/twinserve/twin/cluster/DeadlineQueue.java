package io.twinserve.twin.cluster;

import io.twinserve.twin.sched.Sequence;

/**
 * A deployment's unanswered requests in arrival order with the replica each went to. Every request of
 * a deployment has the same TTFT limit, so arrival order is deadline order and a FIFO (a ring buffer of
 * two parallel arrays, allocation-free once grown) replaces a priority queue.
 */
final class DeadlineQueue {
    private Sequence[] sequences = new Sequence[64];
    private Replica[] replicas = new Replica[64];
    private int head;
    private int size;

    void add(Sequence s, Replica r) {
        if (size == sequences.length) {
            Sequence[] ns = new Sequence[size * 2];
            Replica[] nr = new Replica[size * 2];
            for (int i = 0; i < size; i++) {
                ns[i] = sequences[(head + i) % size];
                nr[i] = replicas[(head + i) % size];
            }
            sequences = ns;
            replicas = nr;
            head = 0;
        }
        int at = (head + size) % sequences.length;
        sequences[at] = s;
        replicas[at] = r;
        size++;
    }

    boolean isEmpty() {
        return size == 0;
    }

    Sequence peek() {
        return sequences[head];
    }

    Replica peekReplica() {
        return replicas[head];
    }

    void poll() {
        sequences[head] = null;
        replicas[head] = null;
        head = (head + 1) % sequences.length;
        size--;
    }
}
