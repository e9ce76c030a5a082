package io.twinserve.engine.sample;

import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (argmax, lowest id on ties), or temperature
 * softmax restricted to the top-k tokens and then to the smallest set whose probability reaches top-p,
 * drawn from the request's own seeded stream. Scratch arrays are reused, so sampling allocates nothing
 * per token.
 */
public final class Sampler {
  private final SamplingParams params;
  private final SplittableRandom random;
  private int[] ids = new int[0];
  private float[] probs = new float[0];

  public Sampler(SamplingParams params) {
    this.params = params;
    this.random = new SplittableRandom(params.seed());
  }

  public int sample(float[] logits, int offset, int vocab) {
    if (params.isGreedy()) {
      return argmax(logits, offset, vocab);
    }
    if (ids.length < vocab) {
      ids = new int[vocab];
      probs = new float[vocab];
    }
    // candidates: the top-k (or all), in descending logit order
    int k = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
    int n = topK(logits, offset, vocab, k);
    float max = logits[offset + ids[0]];
    double inv = 1.0 / params.temperature();
    double sum = 0;
    for (int i = 0; i < n; i++) {
      float p = (float) Math.exp((logits[offset + ids[i]] - max) * inv);
      probs[i] = p;
      sum += p;
    }
    // top-p: keep the smallest prefix whose probability reaches p (always at least one token)
    int keep = n;
    if (params.topP() < 1) {
      double cumulative = 0;
      for (int i = 0; i < n; i++) {
        cumulative += probs[i] / sum;
        if (cumulative >= params.topP()) {
          keep = i + 1;
          break;
        }
      }
      double kept = 0;
      for (int i = 0; i < keep; i++) {
        kept += probs[i];
      }
      sum = kept;
    }
    double u = random.nextDouble() * sum;
    double acc = 0;
    for (int i = 0; i < keep; i++) {
      acc += probs[i];
      if (u < acc) {
        return ids[i];
      }
    }
    return ids[keep - 1];
  }

  static int argmax(float[] logits, int offset, int vocab) {
    int best = 0;
    float bestValue = logits[offset];
    for (int i = 1; i < vocab; i++) {
      if (logits[offset + i] > bestValue) {
        bestValue = logits[offset + i];
        best = i;
      }
    }
    return best;
  }

  /** Puts the {@code k} largest logits' ids in {@code ids[0..k)} in descending order; returns k. */
  private int topK(float[] logits, int offset, int vocab, int k) {
    for (int i = 0; i < vocab; i++) {
      ids[i] = i;
    }
    if (k < vocab) {
      // partial selection: a quickselect around the k-th largest, then sort the head
      select(logits, offset, 0, vocab - 1, k);
    }
    sortDescending(logits, offset, 0, k - 1);
    return k;
  }

  private void select(float[] logits, int offset, int lo, int hi, int k) {
    while (lo < hi) {
      float pivot = logits[offset + ids[(lo + hi) >>> 1]];
      int i = lo;
      int j = hi;
      while (i <= j) {
        while (before(logits, offset, ids[i], pivot)) {
          i++;
        }
        while (before(pivot, logits, offset, ids[j])) {
          j--;
        }
        if (i <= j) {
          int t = ids[i];
          ids[i] = ids[j];
          ids[j] = t;
          i++;
          j--;
        }
      }
      if (k - 1 <= j) {
        hi = j;
      } else if (k - 1 >= i) {
        lo = i;
      } else {
        return;
      }
    }
  }

  private static boolean before(float[] logits, int offset, int id, float pivot) {
    return logits[offset + id] > pivot;
  }

  private static boolean before(float pivot, float[] logits, int offset, int id) {
    return pivot > logits[offset + id];
  }

  private void sortDescending(float[] logits, int offset, int lo, int hi) {
    // insertion sort for short heads, else a simple recursive quicksort on (logit desc, id asc)
    if (hi - lo < 24) {
      for (int i = lo + 1; i <= hi; i++) {
        int id = ids[i];
        int j = i - 1;
        while (j >= lo && less(logits, offset, ids[j], id)) {
          ids[j + 1] = ids[j];
          j--;
        }
        ids[j + 1] = id;
      }
      return;
    }
    int pivotId = ids[(lo + hi) >>> 1];
    int i = lo;
    int j = hi;
    while (i <= j) {
      while (less(logits, offset, pivotId, ids[i])) {
        i++;
      }
      while (less(logits, offset, ids[j], pivotId)) {
        j--;
      }
      if (i <= j) {
        int t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
        i++;
        j--;
      }
    }
    if (lo < j) {
      sortDescending(logits, offset, lo, j);
    }
    if (i < hi) {
      sortDescending(logits, offset, i, hi);
    }
  }

  /** Whether token a ranks after token b: lower logit, or equal logit and higher id. */
  private static boolean less(float[] logits, int offset, int a, int b) {
    float la = logits[offset + a];
    float lb = logits[offset + b];
    return la < lb || (la == lb && a > b);
  }
}
