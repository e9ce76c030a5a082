package io.twinserve.engine.sample;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Picks the next token from a row of logits, in vLLM's order: the logit bias is added, then the repetition
 * penalty (over prompt and output tokens), then the frequency and presence penalties (over output tokens);
 * then greedy takes the argmax (lowest id on ties), or sampling divides by the temperature, drops the
 * tokens under min-p times the top token's probability, restricts to the top-k tokens and then to the
 * smallest set whose probability reaches top-p (in descending logit order, lower id first on ties), and
 * draws from the request's own seeded stream.
 *
 * <p>Log-probabilities, when asked for, are those of the model's raw logits (a log-softmax before the
 * bias, the penalties, the temperature and the filters), which is what vLLM V1 returns by default
 * ({@code logprobs_mode = raw_logprobs}); the sampled token's is given even when it is not among the top.
 *
 * <p>Scratch arrays are reused and the penalties' counts grow by doubling, so sampling allocates nothing
 * per token; the caller's logits row is never written.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    /** Output and prompt token counts, only when a penalty needs them. */
    private final TokenCounts counts;

    private final int[] biasIds;
    private final float[] biasValues;
    private final boolean processes;
    private int[] ids = new int[0];
    private float[] probs = new float[0];
    /** The processed copy of the row, when a bias or penalty changes it. */
    private float[] work = new float[0];
    /** A top-k or top-p head's probabilities by token id, zero elsewhere, for the draw in id order. */
    private float[] weights = new float[0];
    /** Where the last {@link #partition} left its two cursors. */
    private int left;

    private int right;
    // the last sample's log-probabilities: the sampled token's and the top ones, most likely first
    private float sampledLogprob;
    private final int[] topIds;
    private final float[] topLogprobs;
    private int topCount;

    /**
     * Logits in a step (rows x vocabulary) from which the live loop draws its rows in parallel: 8 rows of a
     * 128k-token vocabulary. Below it, a step's draws are too short to be worth a hand-off to other threads.
     */
    public static final long PARALLEL_FROM_VALUES = 1L << 20;

    /**
     * Runs {@code draw} for each of a step's {@code rows} rows of {@code vocab} logits: on the common fork-join pool
     * from {@code fromValues} logits on, one after the other below. Each row must be its own request's (its sampler,
     * its text): the join makes their writes visible to the caller.
     */
    public static void drawRows(int rows, int vocab, long fromValues, IntConsumer draw) {
        if (rows >= 2 && (long) rows * vocab >= fromValues) {
            IntStream.range(0, rows).parallel().forEach(draw);
        } else {
            for (int r = 0; r < rows; r++) {
                draw.accept(r);
            }
        }
    }

    public Sampler(SamplingParams params) {
        this(params, new int[0]);
    }

    /** @param prompt the request's prompt tokens, which the repetition penalty counts as seen */
    public Sampler(SamplingParams params, int[] prompt) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.counts = params.penalises() ? new TokenCounts(prompt, params.maxTokens()) : null;
        this.biasIds = new int[params.logitBias().size()];
        this.biasValues = new float[biasIds.length];
        int i = 0;
        for (Map.Entry<Integer, Float> e : new TreeMap<>(params.logitBias()).entrySet()) {
            biasIds[i] = e.getKey();
            biasValues[i] = e.getValue();
            i++;
        }
        this.processes = counts != null || biasIds.length > 0;
        int top = Math.max(0, params.logprobs());
        this.topIds = new int[top];
        this.topLogprobs = new float[top];
    }

    /**
     * The next token from {@code logits[offset .. offset + vocab)}; a penalised request also counts it as
     * generated.
     */
    public int sample(float[] logits, int offset, int vocab) {
        double logSumExp = params.logprobs() >= 0 ? rawLogprobs(logits, offset, vocab) : 0;
        float[] row = logits;
        int at = offset;
        if (processes) {
            if (work.length < vocab) {
                work = new float[vocab];
            }
            System.arraycopy(logits, offset, work, 0, vocab);
            process(work, vocab);
            row = work;
            at = 0;
        }
        int token = params.isGreedy() ? argmax(row, at, vocab) : draw(row, at, vocab);
        if (counts != null) {
            counts.addOutput(token);
        }
        if (params.logprobs() >= 0) {
            sampledLogprob = (float) Math.min(0, logits[offset + token] - logSumExp);
        }
        return token;
    }

    /**
     * Whether its next token can be drawn on a device ({@code DeviceDraws}): anything but penalties, a logit bias
     * or log-probabilities, which the host draws.
     */
    public boolean drawableOnDevice() {
        return !processes && params.logprobs() < 0;
    }

    /**
     * The uniform draw in [0, 1) a device needs for this request's next token (not greedy): the value the host draw
     * would take from the request's seeded stream, so that the stream advances as it would.
     */
    public double nextUniform() {
        if (params.isGreedy()) {
            throw new IllegalStateException("a greedy draw takes no uniform");
        }
        return random.nextDouble();
    }

    /** The log-probability of the token sampled last (when the params ask for log-probabilities). */
    public float sampledLogprob() {
        return sampledLogprob;
    }

    /** How many top tokens the last sample listed: {@code logprobs}, or the vocabulary when smaller. */
    public int topCount() {
        return topCount;
    }

    /** The id of the last sample's {@code rank}-th most likely token (0: the most likely). */
    public int topId(int rank) {
        return topIds[rank];
    }

    public float topLogprob(int rank) {
        return topLogprobs[rank];
    }

    /** Adds the bias, then the repetition, frequency and presence penalties (vLLM V1's order), in place. */
    void process(float[] row, int vocab) {
        for (int i = 0; i < biasIds.length; i++) {
            if (biasIds[i] < vocab) {
                row[biasIds[i]] += biasValues[i];
            }
        }
        if (counts == null) {
            return;
        }
        float repetition = (float) params.repetitionPenalty();
        float frequency = (float) params.frequencyPenalty();
        float presence = (float) params.presencePenalty();
        for (int i = 0; i < counts.size(); i++) {
            int id = counts.id(i);
            if (id >= vocab) {
                continue;
            }
            int c = counts.outputCount(i);
            if (repetition != 1) {
                // CTRL (Keskar et al. 2019), as vLLM applies it: lower a seen token's logit whatever its sign
                float v = row[id];
                row[id] = v > 0 ? v / repetition : v * repetition;
            }
            if (c > 0) {
                // OpenAI's formula: logit - count * frequency_penalty - (count > 0) * presence_penalty
                row[id] -= c * frequency + presence;
            }
        }
    }

    /**
     * Fills the top log-probabilities of the raw row and returns its log-sum-exp: log p(i) = logit(i) -
     * log(sum_j exp(logit(j))), computed around the maximum so that no exponential overflows.
     */
    private double rawLogprobs(float[] logits, int offset, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double logSumExp = max + Math.log(sum);
        // insertion into a short sorted list: ids ascend, so an equal logit never displaces a lower id
        int want = Math.min(topIds.length, vocab);
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            float v = logits[offset + i];
            if (n == want && (want == 0 || !(v > topLogprobs[n - 1]))) {
                continue;
            }
            int j = n < want ? n++ : n - 1;
            while (j > 0 && topLogprobs[j - 1] < v) {
                topLogprobs[j] = topLogprobs[j - 1];
                topIds[j] = topIds[j - 1];
                j--;
            }
            topLogprobs[j] = v;
            topIds[j] = i;
        }
        for (int i = 0; i < n; i++) {
            topLogprobs[i] = (float) Math.min(0, topLogprobs[i] - logSumExp);
        }
        topCount = n;
        return logSumExp;
    }

    /** Temperature, min-p, top-k and top-p, then a seeded draw. */
    private int draw(float[] logits, int offset, int vocab) {
        if (ids.length < vocab) {
            ids = new int[vocab];
            probs = new float[vocab];
        }
        // candidates: ids[0..k), the top-k (partial selection, unordered) or the whole vocabulary
        int k = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
        boolean whole = k == vocab;
        // (the whole vocabulary without a nucleus is drawn in id order: no candidate list is needed)
        if (!whole || params.topP() < 1) {
            for (int i = 0; i < vocab; i++) {
                ids[i] = i;
            }
        }
        if (k < vocab) {
            select(logits, offset, 0, vocab - 1, k);
        }
        float max = Float.NEGATIVE_INFINITY;
        if (whole) {
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, logits[offset + i]);
            }
        } else {
            for (int i = 0; i < k; i++) {
                max = Math.max(max, logits[offset + ids[i]]);
            }
        }
        // unnormalised probabilities, indexed by token id
        double inv = 1.0 / params.temperature();
        // min-p: p(i) >= minP * p(max) <=> (logit(i) - max) / T >= ln(minP); vLLM applies it after the
        // temperature and before top-k and top-p, and as both keep a prefix of the same order, they commute
        double floor = params.minP() > 0 ? Math.log(params.minP()) : Double.NEGATIVE_INFINITY;
        double sum;
        if (whole && VectorSoftmax.AVAILABLE) {
            sum = VectorSoftmax.numerators(logits, offset, vocab, max, (float) inv, (float) floor, probs);
        } else {
            sum = 0;
            for (int i = 0; i < k; i++) {
                int id = whole ? i : ids[i];
                double scaled = (logits[offset + id] - max) * inv;
                float p = scaled < floor ? 0 : (float) Math.exp(scaled);
                probs[id] = p;
                sum += p;
            }
        }
        if (params.topP() >= 1) {
            // no nucleus: the candidates are drawn in id order (as a device draws them), none is sorted
            return whole ? drawInIdOrder(vocab, sum) : drawHead(k, vocab);
        }
        // top-p: the smallest head, in descending logit order (ties to the lower ids), whose probability reaches p
        // (at least one token). Found by a selection weighted by probability, not a sort: each partition around a
        // pivot keeps the side where the head ends, so the work is a few passes over the candidates whatever the
        // nucleus's size (sorting a growing head took 8 ms a token on a flat 128k-token row). The draw then runs
        // over the head in id order: every token ranked no lower than the head's last, as a device finds it.
        int head = nucleus(logits, offset, k, params.topP() * sum);
        return drawHead(head, vocab);
    }

    /**
     * Draws one of the head {@code ids[0..n)} (a top-k or top-p head) with probability {@code probs[id]} over their
     * sum, in id order, as a device draws it: the head's probabilities are scattered into a row of zeros, which is
     * then scanned in id order (a branch per token that only the draw's own token takes, where a test of each
     * token's rank mispredicted on half of a flat row: 2.6 ms a draw against 1.5 ms before the draws went to id
     * order, JMH {@code SamplerBenchmark} top_p).
     */
    private int drawHead(int n, int vocab) {
        if (weights.length < vocab) {
            weights = new float[vocab];
        } else {
            Arrays.fill(weights, 0, vocab, 0f);
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            int id = ids[i];
            weights[id] = probs[id];
            total += probs[id];
        }
        double u = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < vocab; i++) {
            acc += weights[i];
            if (u < acc) {
                return i;
            }
        }
        // rounding left u a hair above the total: the last token that can be drawn at all
        for (int i = vocab - 1; i > 0; i--) {
            if (weights[i] > 0) {
                return i;
            }
        }
        return 0;
    }

    /**
     * Moves the nucleus of {@code ids[0..k)} to its front and returns its size: the best-ranked ids (logit
     * descending, then id) whose probabilities, {@code probs[id]}, sum to at least {@code target}, the fewest
     * that do (all {@code k} when rounding leaves the whole sum a hair below it).
     */
    private int nucleus(float[] logits, int offset, int k, double target) {
        int lo = 0;
        int hi = k - 1;
        double need = target;
        while (lo < hi) {
            partition(logits, offset, lo, hi);
            int i = left;
            int j = right;
            // ids[lo..j] rank above ids[j + 1..i - 1] (the pivot, when it stayed between), above ids[i..hi]
            double above = 0;
            for (int t = lo; t <= j; t++) {
                above += probs[ids[t]];
            }
            if (above >= need && j >= lo) {
                hi = j;
                continue;
            }
            need -= above;
            for (int t = j + 1; t < i; t++) {
                need -= probs[ids[t]];
                if (need <= 0) {
                    return t + 1;
                }
            }
            lo = i;
        }
        return lo > hi ? k : lo + 1;
    }

    /** Draws one of the tokens {@code 0..n)} with probability {@code probs[id] / total}, in id order. */
    private int drawInIdOrder(int n, double total) {
        double u = random.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += probs[i];
            if (u < acc) {
                return i;
            }
        }
        // rounding left u a hair above the total: the last token that can be drawn at all
        for (int i = n - 1; i > 0; i--) {
            if (probs[i] > 0) {
                return i;
            }
        }
        return 0;
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

    /** Whether token a ranks after token b: lower logit, or equal logit and higher id. */
    private static boolean less(float[] logits, int offset, int a, int b) {
        float la = logits[offset + a];
        float lb = logits[offset + b];
        return la < lb || (la == lb && a > b);
    }
}
