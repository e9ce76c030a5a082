package io.twinserve.engine.sample;

import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (argmax, lowest id on ties), or temperature
 * softmax restricted to the top-k tokens and then to the smallest set whose probability reaches top-p
 * (in descending logit order, lower id first on ties), drawn from the request's own seeded stream.
 * Scratch arrays are reused, so sampling allocates nothing per token.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private int[] ids = new int[0];
    private float[] probs = new float[0];
    /** Where the last {@link #partition} left its two cursors. */
    private int left;

    private int right;

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
        for (int i = 0; i < vocab; i++) {
            ids[i] = i;
        }
        // candidates: ids[0..k), the top-k (partial selection, unordered) or the whole vocabulary
        int k = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
        if (k < vocab) {
            select(logits, offset, 0, vocab - 1, k);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            max = Math.max(max, logits[offset + ids[i]]);
        }
        // unnormalised probabilities, indexed by token id
        double inv = 1.0 / params.temperature();
        double sum = 0;
        for (int i = 0; i < k; i++) {
            int id = ids[i];
            float p = (float) Math.exp((logits[offset + id] - max) * inv);
            probs[id] = p;
            sum += p;
        }
        if (params.topP() >= 1) {
            // no nucleus: any fixed order of the candidates draws from the same distribution, so none is sorted
            return draw(k, sum);
        }
        // top-p: the smallest prefix, in descending logit order, whose probability reaches p (at least one
        // token). Only a head of the candidates is selected and sorted, grown fourfold until it holds the
        // nucleus: sorting a 128k vocabulary for every token costs far more than the forward pass's sampling.
        double target = params.topP() * sum;
        int m = Math.min(k, 64);
        while (true) {
            if (m < k) {
                select(logits, offset, 0, k - 1, m);
            }
            sortDescending(logits, offset, 0, m - 1);
            double cumulative = 0;
            for (int i = 0; i < m; i++) {
                cumulative += probs[ids[i]];
                if (cumulative >= target) {
                    return draw(i + 1, cumulative);
                }
            }
            if (m == k) {
                // rounding left the sum of all candidates a hair below the target: all of them
                return draw(k, cumulative);
            }
            m = (int) Math.min(k, 4L * m);
        }
    }

    /** Draws one of {@code ids[0..n)} with probability {@code probs[id] / total}. */
    private int draw(int n, double total) {
        double u = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += probs[ids[i]];
            if (u < acc) {
                return ids[i];
            }
        }
        return ids[n - 1];
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

    /**
     * One Hoare partition of {@code ids[lo..hi]} around its middle element by the total order: afterwards
     * {@code ids[lo..right]} rank no lower and {@code ids[left..hi]} no higher than the pivot.
     */
    private void partition(float[] logits, int offset, int lo, int hi) {
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
        left = i;
        right = j;
    }

    /**
     * Partial selection (quickselect): leaves the {@code k} best-ranked ids of {@code ids[lo..hi]} in
     * {@code ids[lo..lo+k)}, unordered, by the same total order as the sort (logit descending, then id), so
     * that ties at the boundary go to the lower ids.
     */
    private void select(float[] logits, int offset, int lo, int hi, int k) {
        int target = lo + k - 1;
        while (lo < hi) {
            partition(logits, offset, lo, hi);
            int i = left;
            int j = right;
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return;
            }
        }
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
        partition(logits, offset, lo, hi);
        int i = left;
        int j = right;
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
