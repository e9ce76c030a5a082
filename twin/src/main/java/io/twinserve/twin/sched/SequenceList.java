package io.twinserve.twin.sched;

/**
 * An intrusive doubly linked list of sequences: O(1) insertion and removal with no node objects, the links
 * kept in each sequence's {@link Sequence#links} under this list's kind. A sequence is in at most one
 * list of each kind: the scheduler's running list, the running sequences it visits every step (the eager
 * ones, see {@link SteadyDecodes}), and its adapter's waiting queue ({@link AdapterQueues}).
 */
final class SequenceList {
  /** The running sequences, in admission order. */
  static final int RUNNING = 0;
  /** The running sequences that are not lazy decoders, in running order. */
  static final int EAGER = 1;
  /** One adapter's waiting requests, in order. */
  static final int WAITING = 2;
  /** Links a sequence holds: a next and a previous one per kind. */
  static final int LINKS = 6;

  private final int next;
  private final int prev;
  private final int bit;
  private Sequence head;
  private Sequence tail;
  private int size;

  /** @param kind {@link #RUNNING}, {@link #EAGER} or {@link #WAITING} */
  SequenceList(int kind) {
    this.next = 2 * kind;
    this.prev = 2 * kind + 1;
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
    return s.links[next];
  }

  int size() {
    return size;
  }

  boolean contains(Sequence s) {
    return (s.lists & bit) != 0;
  }

  void addLast(Sequence s) {
    s.lists |= bit;
    s.links[prev] = tail;
    s.links[next] = null;
    if (tail != null) {
      tail.links[next] = s;
    } else {
      head = s;
    }
    tail = s;
    size++;
  }

  void addFirst(Sequence s) {
    s.lists |= bit;
    s.links[next] = head;
    s.links[prev] = null;
    if (head != null) {
      head.links[prev] = s;
    } else {
      tail = s;
    }
    head = s;
    size++;
  }

  /** Takes {@code s} out; nothing when it is not a member. */
  void remove(Sequence s) {
    if ((s.lists & bit) == 0) {
      return;
    }
    Sequence p = s.links[prev];
    Sequence n = s.links[next];
    if (p != null) {
      p.links[next] = n;
    } else {
      head = n;
    }
    if (n != null) {
      n.links[prev] = p;
    } else {
      tail = p;
    }
    s.links[prev] = null;
    s.links[next] = null;
    s.lists &= ~bit;
    size--;
  }

  /** Takes every member out. */
  void clear() {
    Sequence n;
    for (Sequence s = head; s != null; s = n) {
      n = s.links[next];
      s.links[prev] = null;
      s.links[next] = null;
      s.lists &= ~bit;
    }
    head = null;
    tail = null;
    size = 0;
  }
}
