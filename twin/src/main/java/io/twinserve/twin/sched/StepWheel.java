package io.twinserve.twin.sched;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Sequences keyed by a future step number, taken out when that step comes: a timing wheel of
 * {@code size} buckets (O(1) insert and removal) with a heap for keys further ahead than the wheel.
 *
 * <p>Hand-written because a priority queue over every lazy decoder made its comparisons the twin's
 * largest cost. Entries may go stale (their sequence left lazy bookkeeping); callers skip those.
 */
final class StepWheel {
  private final List<Sequence>[] buckets;
  private final int mask;
  private final ToLongFunction<Sequence> key;
  private final PriorityQueue<Sequence> far;
  private int entries;
  // the least key in far, or Long.MAX_VALUE when it is empty (saves peeking it every step)
  private long farNext = Long.MAX_VALUE;

  @SuppressWarnings("unchecked")
  StepWheel(int size, ToLongFunction<Sequence> key) {
    int n = Integer.highestOneBit(Math.max(2, size - 1)) << 1;
    this.buckets = new List[n];
    for (int i = 0; i < n; i++) {
      buckets[i] = new ArrayList<>();
    }
    this.mask = n - 1;
    this.key = key;
    this.far = new PriorityQueue<>((a, b) -> Long.compare(key.applyAsLong(a), key.applyAsLong(b)));
  }

  /** Adds a sequence whose key is at or after {@code now}. */
  void add(Sequence s, long now) {
    entries++;
    long k = key.applyAsLong(s);
    if (k - now <= mask) {
      buckets[(int) (k & mask)].add(s);
    } else {
      far.add(s);
      farNext = Math.min(farNext, k);
    }
  }

  /**
   * Moves every sequence whose key is {@code now} and that is still lazy into {@code out}, in insertion
   * order, and drops the stale ones (entries of a later lap stay). Call for every step in turn.
   */
  void takeDue(long now, List<Sequence> out) {
    if (farNext - now <= mask) {
      while (!far.isEmpty() && key.applyAsLong(far.peek()) - now <= mask) {
        Sequence s = far.poll();
        buckets[(int) (key.applyAsLong(s) & mask)].add(s);
      }
      farNext = far.isEmpty() ? Long.MAX_VALUE : key.applyAsLong(far.peek());
    }
    List<Sequence> bucket = buckets[(int) (now & mask)];
    if (bucket.isEmpty()) {
      return;
    }
    int w = 0;
    for (int i = 0; i < bucket.size(); i++) {
      Sequence s = bucket.get(i);
      if (key.applyAsLong(s) == now) {
        if (s.lazy) {
          out.add(s);
        }
      } else {
        bucket.set(w++, s);
      }
    }
    entries -= bucket.size() - w;
    while (bucket.size() > w) {
      bucket.removeLast();
    }
  }

  /**
   * Whether {@link #takeDue}{@code (now)} would do nothing (no entry of the wheel's bucket for {@code now},
   * none ahead to move into the wheel): a caller may then skip it.
   */
  boolean nothingAt(long now) {
    return buckets[(int) (now & mask)].isEmpty() && farNext - now > mask;
  }

  /** Whether some sequence's key is {@code now}, without taking it (stale entries count). */
  boolean hasDue(long now) {
    if (farNext == now) {
      return true;
    }
    List<Sequence> bucket = buckets[(int) (now & mask)];
    for (int i = 0; i < bucket.size(); i++) {
      if (key.applyAsLong(bucket.get(i)) == now) {
        return true;
      }
    }
    return false;
  }

  void clear() {
    if (entries == 0) {
      return;
    }
    for (List<Sequence> b : buckets) {
      b.clear();
    }
    far.clear();
    farNext = Long.MAX_VALUE;
    entries = 0;
  }
}
