package io.twinserve.twin.sched;

import java.util.Arrays;

/**
 * The waiting requests, one FIFO per adapter (index 0 is the base model; each a {@link SequenceList}
 * linked through its sequences) and an indexed min-heap of the queues by the arrival order of their heads.
 * The scheduler finds the earliest waiting request of any adapter, or of a given set of adapters, without
 * scanning the whole queue: a step that admits k requests costs O(k log A) for A adapters with waiting
 * requests.
 */
final class AdapterQueues {
  // per queue: its requests (null until it first has one)
  private SequenceList[] queues;
  private int[] heap;
  private int[] position;
  // each non-empty queue's head's arrival order (the heap's key), kept beside the heap for cheap comparisons
  private long[] headOrder;
  private int heapSize;
  private long size;

  AdapterQueues(int adapters) {
    int n = adapters + 1;
    queues = new SequenceList[n];
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
    for (SequenceList queue : queues) {
      if (queue == null) {
        continue;
      }
      for (Sequence s = queue.head(); s != null; s = queue.next(s)) {
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
    SequenceList queue = queue(q);
    boolean wasEmpty = queue.head() == null;
    queue.addLast(s);
    size++;
    if (wasEmpty) {
      headOrder[q] = s.order;
      insert(q);
    }
  }

  /** Puts a preempted request back in front of its adapter's queue. */
  void addFirst(Sequence s) {
    int q = s.adapter + 1;
    SequenceList queue = queue(q);
    boolean wasEmpty = queue.head() == null;
    queue.addFirst(s);
    headOrder[q] = s.order;
    size++;
    if (wasEmpty) {
      insert(q);
    } else {
      siftUp(position[q]);
    }
  }

  /** Queue {@code q}, made on first use. */
  private SequenceList queue(int q) {
    ensure(q + 1);
    SequenceList queue = queues[q];
    if (queue == null) {
      queue = new SequenceList(SequenceList.WAITING);
      queues[q] = queue;
    }
    return queue;
  }

  /** The earliest waiting request of any adapter, or null. */
  Sequence peekEarliest() {
    return heapSize == 0 ? null : queues[heap[0]].head();
  }

  /** The head of one adapter's queue (adapter -1 is the base model), or null. */
  Sequence peek(int adapter) {
    int q = adapter + 1;
    SequenceList queue = q < queues.length ? queues[q] : null;
    return queue == null ? null : queue.head();
  }

  /** Removes the head of its adapter's queue; {@code s} must be that head. */
  void removeHead(Sequence s) {
    int q = s.adapter + 1;
    SequenceList queue = queues[q];
    if (queue == null || queue.head() != s) {
      throw new IllegalStateException("removing a request that is not the head of its queue");
    }
    Sequence next = queue.next(s);
    queue.remove(s);
    size--;
    if (next == null) {
      removeAt(position[q]);
    } else {
      headOrder[q] = next.order;
      siftDown(position[q]);
    }
  }

  /** Removes a waiting request anywhere in its adapter's queue (a timeout; usually the head). */
  void remove(Sequence s) {
    int q = s.adapter + 1;
    SequenceList queue = q < queues.length ? queues[q] : null;
    if (queue == null || !queue.contains(s)) {
      throw new IllegalStateException("request " + s.requestId + " is not waiting");
    }
    if (queue.head() == s) {
      removeHead(s);
      return;
    }
    // not the head: the queue's key stays
    queue.remove(s);
    size--;
  }

  private void ensure(int n) {
    if (n > queues.length) {
      int c = Math.max(n, queues.length * 2);
      queues = Arrays.copyOf(queues, c);
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
