package io.twinserve.twin.cluster;

import java.util.Arrays;

/**
 * The pending events of a run, ordered by (time, phase, sequence number): a binary heap over parallel
 * arrays, so that queueing an event allocates nothing beyond the event itself. Written here rather than
 * with {@link java.util.PriorityQueue} because that would wrap every entry in one more object and compare
 * through a comparator on the hot path of a run of millions of events.
 */
final class EventQueue {
    private long[] times = new long[64];
    // phase in the top 8 bits, the sequence number below: one comparison breaks both ties
    private long[] keys = new long[64];
    private Event[] events = new Event[64];
    private int size;
    private long sequence;
    private long now;
    private long polledSequence = -1;
    private static final long SEQUENCE_MASK = (1L << 56) - 1;

    /** Queues {@code event} at {@code timeNs}; returns its sequence number ({@link #polledSequence} when taken). */
    long schedule(long timeNs, Event event) {
        if (timeNs < now) {
            throw new IllegalStateException(
                    "event " + event + " scheduled at " + timeNs + " ns, before the clock (" + now + " ns)");
        }
        if (size == times.length) {
            int n = size * 2;
            times = Arrays.copyOf(times, n);
            keys = Arrays.copyOf(keys, n);
            events = Arrays.copyOf(events, n);
        }
        long key = ((long) event.phase() << 56) | sequence++;
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(timeNs, key, times[parent], keys[parent])) {
                break;
            }
            times[i] = times[parent];
            keys[i] = keys[parent];
            events[i] = events[parent];
            i = parent;
        }
        times[i] = timeNs;
        keys[i] = key;
        events[i] = event;
        return sequence - 1;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** The time of the next event (the queue must not be empty). */
    long peekTime() {
        return times[0];
    }

    /** Takes the next event and advances the clock to its time. */
    Event poll() {
        Event top = events[0];
        now = times[0];
        polledSequence = keys[0] & SEQUENCE_MASK;
        size--;
        long t = times[size];
        long k = keys[size];
        Event e = events[size];
        events[size] = null;
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            if (l >= size) {
                break;
            }
            int r = l + 1;
            int m = r < size && before(times[r], keys[r], times[l], keys[l]) ? r : l;
            if (!before(times[m], keys[m], t, k)) {
                break;
            }
            times[i] = times[m];
            keys[i] = keys[m];
            events[i] = events[m];
            i = m;
        }
        if (size > 0) {
            times[i] = t;
            keys[i] = k;
            events[i] = e;
        }
        return top;
    }

    /** The sequence number of the event {@link #poll} took last. */
    long polledSequence() {
        return polledSequence;
    }

    long now() {
        return now;
    }

    private static boolean before(long t1, long k1, long t2, long k2) {
        return t1 < t2 || (t1 == t2 && k1 < k2);
    }
}
