package io.twinserve.twin.sched;

/**
 * An intrusive doubly linked list of sequences, O(1) append and removal with no node objects: the
 * scheduler's running list and its eager sublist, the running sequences it visits every step (see
 * {@link SteadyDecodes}).
 *
 * <p>The links are plain fields of {@link Sequence}, one pair per kind of list, chosen by a test of the
 * list's kind: the hot loop walks these lists every step, and a field costs one load where an array of
 * links (or a node object) costs two more (measured: several percent of the twin's grid benchmark).
 */
final class SequenceList {
    /** The running sequences, in admission order. */
    static final int RUNNING = 0;
    /** The running sequences that are not lazy decoders, in running order. */
    static final int EAGER = 1;

    private final int kind;
    private final int bit;
    private Sequence head;
    private Sequence tail;
    private int size;

    /** @param kind {@link #RUNNING} or {@link #EAGER} */
    SequenceList(int kind) {
        if (kind != RUNNING && kind != EAGER) {
            throw new IllegalArgumentException("list kind " + kind + "; expected 0 (running) or 1 (eager)");
        }
        this.kind = kind;
        this.bit = 1 << kind;
    }

    /** The first sequence, or null. */
    Sequence head() {
        return head;
    }

    /** The last sequence, or null. */
    Sequence tail() {
        return tail;
    }

    /** The sequence after {@code s} (a member), or null. */
    Sequence next(Sequence s) {
        return kind == RUNNING ? s.nextRunning : s.nextEager;
    }

    /** The sequence before {@code s} (a member), or null. */
    Sequence prev(Sequence s) {
        return kind == RUNNING ? s.prevRunning : s.prevEager;
    }

    private void setNext(Sequence s, Sequence next) {
        if (kind == RUNNING) {
            s.nextRunning = next;
        } else {
            s.nextEager = next;
        }
    }

    private void setPrev(Sequence s, Sequence prev) {
        if (kind == RUNNING) {
            s.prevRunning = prev;
        } else {
            s.prevEager = prev;
        }
    }

    int size() {
        return size;
    }

    boolean contains(Sequence s) {
        return (s.lists & bit) != 0;
    }

    void addLast(Sequence s) {
        s.lists |= bit;
        setPrev(s, tail);
        setNext(s, null);
        if (tail != null) {
            setNext(tail, s);
        } else {
            head = s;
        }
        tail = s;
        size++;
    }

    /** Takes {@code s} out; nothing when it is not a member. */
    void remove(Sequence s) {
        if ((s.lists & bit) == 0) {
            return;
        }
        Sequence p = prev(s);
        Sequence n = next(s);
        if (p != null) {
            setNext(p, n);
        } else {
            head = n;
        }
        if (n != null) {
            setPrev(n, p);
        } else {
            tail = p;
        }
        setPrev(s, null);
        setNext(s, null);
        s.lists &= ~bit;
        size--;
    }

    /** Takes every member out. */
    void clear() {
        Sequence n;
        for (Sequence s = head; s != null; s = n) {
            n = next(s);
            setPrev(s, null);
            setNext(s, null);
            s.lists &= ~bit;
        }
        head = null;
        tail = null;
        size = 0;
    }
}
