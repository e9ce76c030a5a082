package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.model.DType;

/**
 * Each CUDA kernel of {@link CudaKernels} written plainly in Java, over the same layouts and in the same
 * order of operations where it matters (fp32 accumulation over bf16 values), as the reference the GPU check
 * ({@link CudaKernelCheck}) compares every kernel with. bf16 values are {@code short}s as {@link DType} keeps
 * them.
 *
 * <p>Why it is long: one reference per kernel, each as plain as its rule allows (a reference that shared the
 * kernels' structure would share their mistakes), and the emulated device of the tests runs the same ones; split by
 * kernel family it would scatter the one list the GPU check and the emulation read side by side.
 */
public final class KernelReferences {
    private KernelReferences() {}

    static float bf(short v) {
        return DType.fromBf16(v);
    }

    /** {@code ts_embed_gather}. */
    public static float[] embedGather(short[] table, int[] tokens, int hidden) {
        float[] out = new float[tokens.length * hidden];
        for (int t = 0; t < tokens.length; t++) {
            for (int i = 0; i < hidden; i++) {
                out[t * hidden + i] = bf(table[tokens[t] * hidden + i]);
            }
        }
        return out;
    }

    /** {@code ts_add_rmsnorm} over every row (rows null): updates {@code residual}, returns the normed rows. */
    public static float[] addRmsNorm(float[] residual, float[] x, short[] w, int rows, int hidden, float eps) {
        float[] out = new float[rows * hidden];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < hidden; i++) {
                int at = r * hidden + i;
                if (x != null) {
                    residual[at] += x[at];
                }
                ss += (double) residual[at] * residual[at];
            }
            float inv = (float) (1.0 / Math.sqrt(ss / hidden + eps));
            for (int i = 0; i < hidden; i++) {
                out[r * hidden + i] = residual[r * hidden + i] * inv * bf(w[i]);
            }
        }
        return out;
    }

    /** {@code ts_silu_mul}: rows of [gate | up]. */
    /** {@code ts_add_bias_rows}: y with bias[i % n] added to each value (a GEMM's rows and a linear layer's bias). */
    public static float[] addBiasRows(float[] y, short[] bias, int n) {
        float[] out = y.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += bf(bias[i % n]);
        }
        return out;
    }

    public static float[] siluMul(float[] gateUp, int rows, int inter) {
        float[] out = new float[rows * inter];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < inter; i++) {
                float g = gateUp[r * 2 * inter + i];
                float u = gateUp[r * 2 * inter + inter + i];
                out[r * inter + i] = (float) (g / (1 + Math.exp(-g))) * u;
            }
        }
        return out;
    }

    /**
     * {@code ts_gemv_silu_bf16}: act[t][n] = silu(W[n] . x[t]) * (W[inter + n] . x[t]) for n < inter, W the fused
     * gate/up weight ([2 inter][k]): the GEMV, then {@link #siluMul} over its rows.
     */
    public static float[] gemvSilu(short[] w, int inter, int k, float[] x, int tokens) {
        return siluMul(gemv(w, 2 * inter, k, x, tokens, null, null), tokens, inter);
    }

    /** {@code ts_to_bf16}. */
    public static short[] toBf16(float[] x) {
        short[] out = new short[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = DType.toBf16(x[i]);
        }
        return out;
    }

    /** {@code ts_gemv_bf16}: y[t][n] = W[n] . x[t] + bias[n] + add[t][n] (bias and add may be null). */
    public static float[] gemv(short[] w, int n, int k, float[] x, int tokens, short[] bias, float[] add) {
        float[] y = new float[tokens * n];
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < n; o++) {
                double s = 0;
                for (int i = 0; i < k; i++) {
                    s += (double) bf(w[o * k + i]) * x[t * k + i];
                }
                if (bias != null) {
                    s += bf(bias[o]);
                }
                if (add != null) {
                    s += add[t * n + o];
                }
                y[t * n + o] = (float) s;
            }
        }
        return y;
    }

    /**
     * {@code ts_qk_rope_kv_write}: optional per-head RMSNorm, then rotate-half RoPE of q and k in place; k (as
     * rotated) and v of token t written to the cache at slot {@code slots[t]} (skipped when negative), in the
     * layout [block][kvHead][slotInBlock][headDim]. The caches hold the stored values as floats: rounded to bf16
     * on the way in unless {@code kvF32}.
     */
    public static void qkRopeKvWrite(
            float[] q,
            float[] k,
            float[] v,
            int[] positions,
            float[] cos,
            float[] sin,
            short[] qNorm,
            short[] kNorm,
            float eps,
            int heads,
            int kvHeads,
            int headDim,
            int[] slots,
            float[] kCache,
            float[] vCache,
            int blockSize,
            boolean kvF32) {
        int half = headDim / 2;
        for (int t = 0; t < positions.length; t++) {
            for (int h = 0; h < heads + kvHeads; h++) {
                boolean isQ = h < heads;
                int head = isQ ? h : h - heads;
                float[] vec = isQ ? q : k;
                int base = isQ ? (t * heads + head) * headDim : (t * kvHeads + head) * headDim;
                short[] norm = isQ ? qNorm : kNorm;
                if (norm != null) {
                    double ss = 0;
                    for (int d = 0; d < headDim; d++) {
                        ss += (double) vec[base + d] * vec[base + d];
                    }
                    float inv = (float) (1.0 / Math.sqrt(ss / headDim + eps));
                    for (int d = 0; d < headDim; d++) {
                        vec[base + d] = vec[base + d] * inv * bf(norm[d]);
                    }
                }
                float[] rotated = new float[headDim];
                int p = positions[t];
                for (int d = 0; d < headDim; d++) {
                    int i = d < half ? d : d - half;
                    float other = d < half ? -vec[base + d + half] : vec[base + d - half];
                    rotated[d] = vec[base + d] * cos[p * half + i] + other * sin[p * half + i];
                }
                System.arraycopy(rotated, 0, vec, base, headDim);
                if (!isQ && slots != null && slots[t] >= 0) {
                    int slot = slots[t];
                    int at = ((slot / blockSize * kvHeads + head) * blockSize + slot % blockSize) * headDim;
                    for (int d = 0; d < headDim; d++) {
                        kCache[at + d] = stored(rotated[d], kvF32);
                        vCache[at + d] = stored(v[(t * kvHeads + head) * headDim + d], kvF32);
                    }
                }
            }
        }
    }

    /** A value as the KV cache stores it: itself in fp32, else rounded to bf16. */
    static float stored(float v, boolean kvF32) {
        return kvF32 ? v : bf(DType.toBf16(v));
    }

    /** The values of a bf16 KV cache, as {@link #qkRopeKvWrite} and {@link #pagedAttention} take them. */
    public static float[] cacheValues(short[] bf16) {
        float[] out = new float[bf16.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = bf(bf16[i]);
        }
        return out;
    }

    /** The bf16 bits of KV cache values (each already a bf16 value). */
    public static short[] cacheBits(float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = DType.toBf16(values[i]);
        }
        return out;
    }

    /**
     * {@code ts_random_bf16}: bf16(scale * u) with u = k / 2^23 - 1, k the top 24 bits of splitmix64 of {@code
     * seed + (i + 1) * 0x9E3779B97F4A7C15}: bit for bit what the kernel writes.
     */
    public static short[] randomBf16(long n, long seed, float scale) {
        short[] out = new short[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            long z = seed + (i + 1L) * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            float u = (float) (z >>> 40) * (1.0f / 8388608.0f) - 1.0f;
            out[i] = DType.toBf16(u * scale);
        }
        return out;
    }

    /**
     * {@code ts_paged_attention}: row r attends to the first contextLens[r] positions through its block table;
     * the caches hold the stored values as floats (see {@link #qkRopeKvWrite}).
     */
    public static float[] pagedAttention(
            float[] q,
            float[] kCache,
            float[] vCache,
            int[] blockTables,
            int maxBlocks,
            int[] contextLens,
            int heads,
            int kvHeads,
            int headDim,
            int blockSize,
            float scale,
            int slidingWindow) {
        int rows = contextLens.length;
        float[] out = new float[rows * heads * headDim];
        double[] acc = new double[headDim];
        for (int r = 0; r < rows; r++) {
            int len = contextLens[r];
            int start = slidingWindow > 0 && len > slidingWindow ? len - slidingWindow : 0;
            for (int h = 0; h < heads; h++) {
                Run run = attendRun(
                        q,
                        kCache,
                        vCache,
                        blockTables,
                        maxBlocks,
                        r,
                        h,
                        heads,
                        kvHeads,
                        headDim,
                        blockSize,
                        scale,
                        start,
                        len,
                        acc);
                for (int d = 0; d < headDim; d++) {
                    out[(r * heads + h) * headDim + d] = (float) (run.sum() > 0 ? acc[d] / run.sum() : 0);
                }
            }
        }
        return out;
    }

    /** One (row, head)'s attention over a run of positions: its largest score and the sum of the weights. */
    private record Run(double max, double sum) {}

    /**
     * Row r's q head h over the positions [from, to) through its block table: the weights e^(score - max), their
     * sum, and the weighted sum of the V rows into {@code acc} (zeros for an empty run, whose max is -infinity).
     */
    private static Run attendRun(
            float[] q,
            float[] kCache,
            float[] vCache,
            int[] blockTables,
            int maxBlocks,
            int r,
            int h,
            int heads,
            int kvHeads,
            int headDim,
            int blockSize,
            float scale,
            int from,
            int to,
            double[] acc) {
        java.util.Arrays.fill(acc, 0);
        if (from >= to) {
            return new Run(Double.NEGATIVE_INFINITY, 0);
        }
        int kvHead = h / (heads / kvHeads);
        int qb = (r * heads + h) * headDim;
        double[] weights = new double[to - from];
        int[] rowsAt = new int[to - from];
        double max = Double.NEGATIVE_INFINITY;
        for (int pos = from; pos < to; pos++) {
            int at = at(
                    blockTables[r * maxBlocks + pos / blockSize], kvHead, pos % blockSize, kvHeads, blockSize, headDim);
            rowsAt[pos - from] = at;
            double dot = 0;
            for (int d = 0; d < headDim; d++) {
                dot += (double) q[qb + d] * kCache[at + d];
            }
            weights[pos - from] = dot * scale;
            max = Math.max(max, weights[pos - from]);
        }
        double sum = 0;
        for (int i = 0; i < weights.length; i++) {
            weights[i] = Math.exp(weights[i] - max);
            sum += weights[i];
        }
        for (int i = 0; i < weights.length; i++) {
            for (int d = 0; d < headDim; d++) {
                acc[d] += weights[i] * vCache[rowsAt[i] + d];
            }
        }
        return new Run(max, sum);
    }

    /**
     * {@code ts_paged_attention_split}: for row r, q head h and split s, the split's run of positions (the s-th of
     * {@code splits} equal runs of [start, len), whole KV blocks each) scored as {@link #pagedAttention} scores them,
     * written as the head's sums relative to the run's maximum score and (that maximum, the sum of the weights) at
     * {@code ((r * heads + h) * splits + s) * (headDim + 2)}; an empty run is 0s, -infinity and 0.
     */
    public static float[] pagedAttentionSplit(
            float[] q,
            float[] kCache,
            float[] vCache,
            int[] blockTables,
            int maxBlocks,
            int[] contextLens,
            int heads,
            int kvHeads,
            int headDim,
            int blockSize,
            float scale,
            int slidingWindow,
            int splits) {
        int rows = contextLens.length;
        int stride = headDim + 2;
        float[] part = new float[rows * heads * splits * stride];
        double[] acc = new double[headDim];
        for (int r = 0; r < rows; r++) {
            int len = contextLens[r];
            int start = slidingWindow > 0 && len > slidingWindow ? len - slidingWindow : 0;
            int chunk = (len - start + splits - 1) / splits;
            chunk = (chunk + blockSize - 1) / blockSize * blockSize;
            for (int s = 0; s < splits; s++) {
                int from = Math.min(len, start + s * chunk);
                int to = Math.min(len, from + chunk);
                for (int h = 0; h < heads; h++) {
                    Run run = attendRun(
                            q,
                            kCache,
                            vCache,
                            blockTables,
                            maxBlocks,
                            r,
                            h,
                            heads,
                            kvHeads,
                            headDim,
                            blockSize,
                            scale,
                            from,
                            to,
                            acc);
                    int pb = ((r * heads + h) * splits + s) * stride;
                    for (int d = 0; d < headDim; d++) {
                        part[pb + d] = (float) acc[d];
                    }
                    part[pb + headDim] = (float) run.max();
                    part[pb + headDim + 1] = (float) run.sum();
                }
            }
        }
        return part;
    }

    /**
     * {@code ts_attention_combine}: each (row, q head)'s {@code splits} partials of {@link #pagedAttentionSplit} into
     * its output, {@code sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M)}, 0 where no split scored a position.
     */
    public static float[] attentionCombine(float[] part, int rows, int heads, int headDim, int splits) {
        int stride = headDim + 2;
        float[] out = new float[rows * heads * headDim];
        for (int rh = 0; rh < rows * heads; rh++) {
            int base = rh * splits * stride;
            double m = Double.NEGATIVE_INFINITY;
            for (int s = 0; s < splits; s++) {
                m = Math.max(m, part[base + s * stride + headDim]);
            }
            double total = 0;
            double[] weight = new double[splits];
            for (int s = 0; s < splits; s++) {
                float ms = part[base + s * stride + headDim];
                weight[s] = ms == Float.NEGATIVE_INFINITY ? 0 : Math.exp(ms - m);
                total += part[base + s * stride + headDim + 1] * weight[s];
            }
            for (int d = 0; d < headDim; d++) {
                double a = 0;
                for (int s = 0; s < splits; s++) {
                    a += part[base + s * stride + d] * weight[s];
                }
                out[rh * headDim + d] = (float) (total > 0 ? a / total : 0);
            }
        }
        return out;
    }

    /** {@link #sampleRows(float[], int, int[], float[], float[], int[], float[], double[])} without top-k or top-p. */
    public static int[] sampleRows(
            float[] logits, int vocab, int[] rows, float[] temperature, float[] minP, double[] u) {
        int[] topK = new int[rows.length];
        float[] topP = new float[rows.length];
        java.util.Arrays.fill(topP, 1);
        return sampleRows(logits, vocab, rows, temperature, minP, topK, topP, u);
    }

    /**
     * {@code ts_sample_rows}: draw i of row {@code rows[i]} of {@code logits} ([rows][vocab]) as the host sampler
     * draws such a row: at temperature 0 (or top-k 1) the argmax, lowest id on ties; otherwise float numerators
     * {@code exp((logit - max) / T)} (0 below ln(min-p)) over the {@code topK[i]} best-ranked tokens (logit
     * descending, then id; 0: all), within them the fewest best-ranked whose numerators reach {@code topP[i]} of
     * theirs (all of them at 1), and the first of that set in id order whose running sum (in double) exceeds u times
     * the set's, or its last token with a numerator when rounding leaves u a hair above; a row below 0 (a decode
     * graph's padding) is not drawn and gets -1. Written from the rule
     * (a sort), not from either sampler's algorithm.
     */
    public static int[] sampleRows(
            float[] logits,
            int vocab,
            int[] rows,
            float[] temperature,
            float[] minP,
            int[] topK,
            float[] topP,
            double[] u) {
        int[] tokens = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0) {
                // a decode graph's padding row: not drawn
                tokens[i] = -1;
                continue;
            }
            int at = rows[i] * vocab;
            int best = 0;
            float max = logits[at];
            for (int j = 1; j < vocab; j++) {
                if (logits[at + j] > max) {
                    max = logits[at + j];
                    best = j;
                }
            }
            if (temperature[i] <= 0 || topK[i] == 1) {
                tokens[i] = best;
                continue;
            }
            Integer[] order = new Integer[vocab];
            for (int j = 0; j < vocab; j++) {
                order[j] = j;
            }
            java.util.Arrays.sort(order, (a, b) -> {
                int c = Float.compare(logits[at + b], logits[at + a]);
                return c != 0 && logits[at + a] != logits[at + b] ? c : Integer.compare(a, b);
            });
            int k = topK[i] > 0 ? Math.min(topK[i], vocab) : vocab;
            float inv = 1 / temperature[i];
            float floor = minP[i] > 0 ? (float) Math.log(minP[i]) : Float.NEGATIVE_INFINITY;
            float[] p = new float[vocab];
            double sum = 0;
            for (int r = 0; r < k; r++) {
                int j = order[r];
                float scaled = (logits[at + j] - max) * inv;
                p[j] = scaled < floor ? 0 : (float) Math.exp(scaled);
                sum += p[j];
            }
            int head = k;
            if (topP[i] < 1) {
                double target = topP[i] * sum;
                double acc = 0;
                for (int r = 0; r < k; r++) {
                    acc += p[order[r]];
                    if (acc >= target) {
                        head = r + 1;
                        break;
                    }
                }
            }
            boolean[] member = new boolean[vocab];
            for (int r = 0; r < head; r++) {
                member[order[r]] = true;
            }
            double total = 0;
            int last = order[0];
            for (int j = 0; j < vocab; j++) {
                if (member[j]) {
                    total += p[j];
                    if (p[j] > 0) {
                        last = j;
                    }
                }
            }
            double target = u[i] * total;
            double acc = 0;
            tokens[i] = last;
            for (int j = 0; j < vocab; j++) {
                if (member[j]) {
                    acc += p[j];
                    if (target < acc) {
                        tokens[i] = j;
                        break;
                    }
                }
            }
        }
        return tokens;
    }

    private static int at(int block, int kvHead, int offset, int kvHeads, int blockSize, int headDim) {
        return ((block * kvHeads + kvHead) * blockSize + offset) * headDim;
    }

    /** {@code ts_lora_shrink}: tmp[t][j] = A[slot][j] . x[t] below the slot's rank, else 0. */
    public static float[] loraShrink(float[] x, int k, short[] a, int[] tokenSlot, int[] slotRank, int maxRank) {
        int tokens = tokenSlot.length;
        float[] tmp = new float[tokens * maxRank];
        for (int t = 0; t < tokens; t++) {
            int slot = tokenSlot[t];
            for (int j = 0; j < maxRank; j++) {
                if (slot < 0 || j >= slotRank[slot]) {
                    continue;
                }
                double s = 0;
                for (int i = 0; i < k; i++) {
                    s += (double) bf(a[(slot * maxRank + j) * k + i]) * x[t * k + i];
                }
                tmp[t * maxRank + j] = (float) s;
            }
        }
        return tmp;
    }

    /**
     * {@code ts_lora_expand}: y[t * yStride + n] += scale[slot] * B[slot][n][:rank] . tmp[t][:rank] (in place,
     * from {@code yOffset}).
     */
    public static void loraExpand(
            float[] tmp,
            short[] b,
            int[] tokenSlot,
            int[] slotRank,
            float[] slotScale,
            int maxRank,
            int n,
            int yStride,
            float[] y,
            int yOffset) {
        for (int t = 0; t < tokenSlot.length; t++) {
            int slot = tokenSlot[t];
            if (slot < 0) {
                continue;
            }
            for (int o = 0; o < n; o++) {
                double s = 0;
                for (int j = 0; j < slotRank[slot]; j++) {
                    s += (double) bf(b[(slot * n + o) * maxRank + j]) * tmp[t * maxRank + j];
                }
                y[yOffset + t * yStride + o] += (float) (slotScale[slot] * s);
            }
        }
    }
}
