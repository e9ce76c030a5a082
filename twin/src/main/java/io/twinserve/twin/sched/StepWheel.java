package io.twinserve.twin.sched;

import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Sequences keyed by a future step number, taken out when that step comes: a timing wheel of
 * {@code size} buckets (O(1) insert and removal) with a heap for keys further ahead than the wheel.
 *
 * <p>Hand-written because a priority queue over every lazy decoder made its comparisons the twin's
 * largest cost. Entries may go stale (their sequence left lazy bookkeeping); {@link #takeDue} drops those.
 */
final class StepWheel {
    private static final Sequence[] EMPTY = new Sequence[0];

    // bucket i holds buckets[i][0, sizes[i]), in insertion order
    private final Sequence[][] buckets;
    private final int[] sizes;
    private final int mask;
    private final ToLongFunction<Sequence> key;
    private final PriorityQueue<Sequence> far;
    private int entries;
    // the least key in far, or Long.MAX_VALUE when it is empty (saves peeking it every step)
    private long farNext = Long.MAX_VALUE;

    StepWheel(int size, ToLongFunction<Sequence> key) {
        int n = Integer.highestOneBit(Math.max(2, size - 1)) << 1;
        this.buckets = new Sequence[n][];
        Arrays.fill(buckets, EMPTY);
        this.sizes = new int[n];
        this.mask = n - 1;
        this.key = key;
        this.far = new PriorityQueue<>((a, b) -> Long.compare(key.applyAsLong(a), key.applyAsLong(b)));
    }

    /** Adds a sequence whose key is at or after {@code now}. */
    void add(Sequence s, long now) {
        entries++;
        long k = key.applyAsLong(s);
        if (k - now <= mask) {
            put((int) (k & mask), s);
        } else {
            far.add(s);
            farNext = Math.min(farNext, k);
        }
    }

    private void put(int i, Sequence s) {
        Sequence[] b = buckets[i];
        int n = sizes[i];
        if (n == b.length) {
            b = Arrays.copyOf(b, Math.max(4, n * 2));
            buckets[i] = b;
        }
        b[n] = s;
        sizes[i] = n + 1;
    }

    /**
     * Moves every sequence whose key is {@code now} and that is still lazy into {@code out}, in insertion
     * order, and drops the stale ones (entries of a later lap stay). Call for every step in turn.
     */
    void takeDue(long now, List<Sequence> out) {
        if (farNext - now <= mask) {
            while (!far.isEmpty() && key.applyAsLong(far.peek()) - now <= mask) {
                Sequence s = far.poll();
                put((int) (key.applyAsLong(s) & mask), s);
            }
            farNext = far.isEmpty() ? Long.MAX_VALUE : key.applyAsLong(far.peek());
        }
        int i = (int) (now & mask);
        int n = sizes[i];
        if (n == 0) {
            return;
        }
        Sequence[] bucket = buckets[i];
        int w = 0;
        for (int j = 0; j < n; j++) {
            Sequence s = bucket[j];
            if (key.applyAsLong(s) == now) {
                if (s.lazy) {
                    out.add(s);
                }
            } else {
                bucket[w++] = s;
            }
        }
        entries -= n - w;
        Arrays.fill(bucket, w, n, null);
        sizes[i] = w;
    }

    /**
     * Whether {@link #takeDue}{@code (now)} would do nothing (no entry of the wheel's bucket for {@code now},
     * none ahead to move into the wheel): a caller may then skip it.
     */
    boolean nothingAt(long now) {
        return sizes[(int) (now & mask)] == 0 && farNext - now > mask;
    }

    /** Whether some sequence's key is {@code now}, without taking it (stale entries count). */
    boolean hasDue(long now) {
        if (farNext == now) {
            return true;
        }
        int i = (int) (now & mask);
        Sequence[] bucket = buckets[i];
        for (int j = 0, n = sizes[i]; j < n; j++) {
            if (key.applyAsLong(bucket[j]) == now) {
                return true;
            }
        }
        return false;
    }

    /**
     * Removes {@code s}, added with its key unchanged since (a sequence taken out of lazy bookkeeping before its
     * key's step). Returns whether it was there.
     */
    boolean remove(Sequence s) {
        long k = key.applyAsLong(s);
        int i = (int) (k & mask);
        Sequence[] bucket = buckets[i];
        for (int j = 0, n = sizes[i]; j < n; j++) {
            if (bucket[j] == s) {
                System.arraycopy(bucket, j + 1, bucket, j, n - j - 1);
                bucket[n - 1] = null;
                sizes[i] = n - 1;
                entries--;
                return true;
            }
        }
        if (far.remove(s)) {
            entries--;
            farNext = far.isEmpty() ? Long.MAX_VALUE : key.applyAsLong(far.peek());
            return true;
        }
        return false;
    }

    void clear() {
        if (entries == 0) {
            return;
        }
        for (int i = 0; i < buckets.length; i++) {
            if (sizes[i] > 0) {
                Arrays.fill(buckets[i], 0, sizes[i], null);
                sizes[i] = 0;
            }
        }
        far.clear();
        farNext = Long.MAX_VALUE;
        entries = 0;
    }
}
