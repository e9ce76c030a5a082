package io.twinserve.twin.sched;

import java.util.Arrays;

/**
 * The waiting requests, one FIFO per adapter (index 0 is the base model, linked through its sequences)
 * and an indexed min-heap of the queues by the arrival order of their heads. The scheduler finds the earliest waiting request of any
 * adapter, or of a given set of adapters, without scanning the whole queue: a step that admits k
 * requests costs O(k log A) for A adapters with waiting requests.
 */
final class AdapterQueues {
    // per queue: its first and last request (null when empty), linked through Sequence.prevWaiting/nextWaiting
    private Sequence[] heads;
    private Sequence[] tails;
    private int[] heap;
    private int[] position;
    // each non-empty queue's head's arrival order (the heap's key), kept beside the heap for cheap comparisons
    private long[] headOrder;
    private int heapSize;
    private long size;

    AdapterQueues(int adapters) {
        int n = adapters + 1;
        heads = new Sequence[n];
        tails = new Sequence[n];
        heap = new int[n];
        position = new int[n];
        headOrder = new long[n];
        Arrays.fill(position, -1);
    }

    long size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Requests waiting since {@code ns} or earlier (a full scan; for end-of-run statistics only). */
    long countArrivedBy(long ns) {
        long n = 0;
        for (Sequence head : heads) {
            for (Sequence s = head; s != null; s = s.nextWaiting) {
                if (s.arrivalNs <= ns) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Appends an arriving request. */
    void addLast(Sequence s) {
        int q = s.adapter + 1;
        ensure(q + 1);
        s.inWaiting = true;
        s.nextWaiting = null;
        Sequence tail = tails[q];
        s.prevWaiting = tail;
        tails[q] = s;
        size++;
        if (tail == null) {
            heads[q] = s;
            headOrder[q] = s.order;
            insert(q);
        } else {
            tail.nextWaiting = s;
        }
    }

    /** Puts a preempted request back in front of its adapter's queue. */
    void addFirst(Sequence s) {
        int q = s.adapter + 1;
        ensure(q + 1);
        s.inWaiting = true;
        s.prevWaiting = null;
        Sequence head = heads[q];
        s.nextWaiting = head;
        heads[q] = s;
        headOrder[q] = s.order;
        size++;
        if (head == null) {
            tails[q] = s;
            insert(q);
        } else {
            head.prevWaiting = s;
            siftUp(position[q]);
        }
    }

    /** The earliest waiting request of any adapter, or null. */
    Sequence peekEarliest() {
        return heapSize == 0 ? null : heads[heap[0]];
    }

    /** The head of one adapter's queue (adapter -1 is the base model), or null. */
    Sequence peek(int adapter) {
        int q = adapter + 1;
        return q < heads.length ? heads[q] : null;
    }

    /** Removes the head of its adapter's queue; {@code s} must be that head. */
    void removeHead(Sequence s) {
        int q = s.adapter + 1;
        if (heads[q] != s) {
            throw new IllegalStateException("removing a request that is not the head of its queue");
        }
        Sequence next = s.nextWaiting;
        unlinkFields(s);
        heads[q] = next;
        size--;
        if (next == null) {
            tails[q] = null;
            removeAt(position[q]);
        } else {
            next.prevWaiting = null;
            headOrder[q] = next.order;
            siftDown(position[q]);
        }
    }

    /** Removes a waiting request anywhere in its adapter's queue (a timeout; usually the head). */
    void remove(Sequence s) {
        int q = s.adapter + 1;
        if (!s.inWaiting || q >= heads.length) {
            throw new IllegalStateException("request " + s.requestId + " is not waiting");
        }
        if (heads[q] == s) {
            removeHead(s);
            return;
        }
        // not the head: the queue's key stays
        s.prevWaiting.nextWaiting = s.nextWaiting;
        if (s.nextWaiting != null) {
            s.nextWaiting.prevWaiting = s.prevWaiting;
        } else {
            tails[q] = s.prevWaiting;
        }
        unlinkFields(s);
        size--;
    }

    private static void unlinkFields(Sequence s) {
        s.inWaiting = false;
        s.prevWaiting = null;
        s.nextWaiting = null;
    }

    private void ensure(int n) {
        if (n > heads.length) {
            int c = Math.max(n, heads.length * 2);
            heads = Arrays.copyOf(heads, c);
            tails = Arrays.copyOf(tails, c);
            heap = Arrays.copyOf(heap, c);
            headOrder = Arrays.copyOf(headOrder, c);
            int old = position.length;
            position = Arrays.copyOf(position, c);
            Arrays.fill(position, old, c, -1);
        }
    }

    private long key(int q) {
        return headOrder[q];
    }

    private void insert(int q) {
        heap[heapSize] = q;
        position[q] = heapSize;
        heapSize++;
        siftUp(heapSize - 1);
    }

    private void removeAt(int i) {
        int q = heap[i];
        heapSize--;
        position[q] = -1;
        if (i < heapSize) {
            int moved = heap[heapSize];
            heap[i] = moved;
            position[moved] = i;
            siftDown(i);
            if (position[moved] == i) {
                siftUp(i);
            }
        }
    }

    private void siftUp(int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (key(heap[i]) >= key(heap[parent])) {
                return;
            }
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(int i) {
        while (true) {
            int l = 2 * i + 1;
            if (l >= heapSize) {
                return;
            }
            int r = l + 1;
            int m = r < heapSize && key(heap[r]) < key(heap[l]) ? r : l;
            if (key(heap[i]) <= key(heap[m])) {
                return;
            }
            swap(i, m);
            i = m;
        }
    }

    private void swap(int i, int j) {
        int a = heap[i];
        heap[i] = heap[j];
        heap[j] = a;
        position[heap[i]] = i;
        position[heap[j]] = j;
    }
}
