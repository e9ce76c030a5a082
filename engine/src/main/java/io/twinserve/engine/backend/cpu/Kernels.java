package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The forward pass's small kernels: norms, activations, element-wise sums and paged attention. */
final class Kernels {
    private static final VectorSpecies<Float> F = MatMul.F;
    private static final int L = F.length();
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[256]);

    private Kernels() {}

    /** A per-thread buffer of at least {@code n} floats, reused across steps. */
    static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[Math.max(n, s.length * 2)];
            SCRATCH.set(s);
        }
        return s;
    }

    /** {@code a[ai..ai+n) += b[0..n)}. */
    static void add(float[] a, int ai, float[] b, int n) {
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector.fromArray(F, a, ai + i)
                    .add(FloatVector.fromArray(F, b, i))
                    .intoArray(a, ai + i);
        }
        for (; i < n; i++) {
            a[ai + i] += b[i];
        }
    }

    /** RMSNorm in place: {@code v * w / sqrt(mean(v^2) + eps)}, as transformers computes it in float32. */
    static void rmsNorm(float[] v, int off, float[] w, int n, float eps) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector x = FloatVector.fromArray(F, v, off + i);
            acc = x.fma(x, acc);
        }
        float ss = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            ss += v[off + i] * v[off + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (i = 0; i < upper; i += L) {
            FloatVector.fromArray(F, v, off + i)
                    .mul(inv)
                    .mul(FloatVector.fromArray(F, w, i))
                    .intoArray(v, off + i);
        }
        for (; i < n; i++) {
            v[off + i] = v[off + i] * inv * w[i];
        }
    }

    /** {@code gate = silu(gate) * up}, element-wise. */
    static void siluMul(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** Copies row {@code r} of a tensor into {@code out[off..)} as float32. */
    static void row(Tensor t, int r, float[] out, int off) {
        int cols = t.cols();
        for (int i = 0; i < cols; i++) {
            out[off + i] = t.get(r, i);
        }
    }

    /**
     * Where K/V head {@code kvHead}'s rows of cache block {@code block} begin. The cache is laid out as
     * {@code [kvHead][block][position][hd]}: a head's positions within a block are contiguous, so one head's
     * attention over a block reads one run, and consecutive blocks (as a prefill or a fresh cache hands them
     * out) continue that run, which the hardware prefetcher follows. With {@code [block][kvHead]...} every
     * block of a head started a new page; with the heads interleaved per position
     * ({@code [block][position][kvHead][hd]}), a head read 256 bytes of every kilobyte.
     */
    static int blockRow(int block, int numBlocks, int kvHead, int blockSize, int hd) {
        return (kvHead * numBlocks + block) * blockSize * hd;
    }

    /**
     * The {@code group} query heads that share one K/V head (grouped-query attention), of one token,
     * attending over positions {@code [first, pos]} of its sequence through the block table; head
     * {@code g}'s query is at {@code q[qOff + g*hd ..)} and its output goes to {@code out[outOff + g*hd ..)}.
     *
     * <p>Four heads of a group go together: each K and V vector is loaded (and, from a bf16 cache, widened)
     * once into a register and serves all four, and each block is looked up once per pass; the softmax's
     * exponentials are vector operations. One head at a time, with a scalar {@code Math.exp} per position,
     * the 215M profile model's decode steps of 16 sequences at context 1024 spent about 110 ms (of 182) in
     * attention on one thread.
     *
     * @param scores scratch of at least {@code group * (pos - first + 1)} floats
     */
    static void attendGroup(
            float[] q,
            int qOff,
            int group,
            KvLayer keys,
            KvLayer values,
            ForwardBatch b,
            int seq,
            int first,
            int pos,
            int blockSize,
            int numBlocks,
            int kvHead,
            int hd,
            float scale,
            float[] scores,
            float[] out,
            int outOff) {
        int n = pos - first + 1;
        for (int j = first; j <= pos; ) {
            int blockIndex = j / blockSize;
            int end = Math.min(pos, (blockIndex + 1) * blockSize - 1);
            int at = blockRow(b.block(seq, blockIndex), numBlocks, kvHead, blockSize, hd)
                    + (j - blockIndex * blockSize) * hd;
            for (; j <= end; j++, at += hd) {
                int g = 0;
                for (; g + 4 <= group; g += 4) {
                    score4(q, qOff + g * hd, hd, keys, at, scores, g * n + j - first, n, scale);
                }
                for (; g < group; g++) {
                    scores[g * n + j - first] = dot(q, qOff + g * hd, keys, at, hd) * scale;
                }
            }
        }
        for (int g = 0; g < group; g++) {
            softmax(scores, g * n, n);
        }
        Arrays.fill(out, outOff, outOff + group * hd, 0f);
        for (int j = first; j <= pos; ) {
            int blockIndex = j / blockSize;
            int end = Math.min(pos, (blockIndex + 1) * blockSize - 1);
            int at = blockRow(b.block(seq, blockIndex), numBlocks, kvHead, blockSize, hd)
                    + (j - blockIndex * blockSize) * hd;
            for (; j <= end; j++, at += hd) {
                int g = 0;
                for (; g + 4 <= group; g += 4) {
                    axpy4(scores, g * n + j - first, n, values, at, hd, out, outOff + g * hd);
                }
                for (; g < group; g++) {
                    axpy(scores[g * n + j - first], values, at, hd, out, outOff + g * hd);
                }
            }
        }
    }

    /** Scores of four consecutive query heads against the key at {@code at}, to {@code scores[row + g*n]}. */
    private static void score4(
            float[] q, int q0, int hd, KvLayer keys, int at, float[] scores, int row, int n, float scale) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int upper = F.loopBound(hd);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector k = keys.load(at + i);
            a0 = FloatVector.fromArray(F, q, q0 + i).fma(k, a0);
            a1 = FloatVector.fromArray(F, q, q0 + hd + i).fma(k, a1);
            a2 = FloatVector.fromArray(F, q, q0 + 2 * hd + i).fma(k, a2);
            a3 = FloatVector.fromArray(F, q, q0 + 3 * hd + i).fma(k, a3);
        }
        float d0 = a0.reduceLanes(VectorOperators.ADD);
        float d1 = a1.reduceLanes(VectorOperators.ADD);
        float d2 = a2.reduceLanes(VectorOperators.ADD);
        float d3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < hd; i++) {
            float k = keys.get(at + i);
            d0 += q[q0 + i] * k;
            d1 += q[q0 + hd + i] * k;
            d2 += q[q0 + 2 * hd + i] * k;
            d3 += q[q0 + 3 * hd + i] * k;
        }
        scores[row] = d0 * scale;
        scores[row + n] = d1 * scale;
        scores[row + 2 * n] = d2 * scale;
        scores[row + 3 * n] = d3 * scale;
    }

    private static float dot(float[] q, int q0, KvLayer keys, int at, int hd) {
        FloatVector acc = FloatVector.zero(F);
        int upper = F.loopBound(hd);
        int i = 0;
        for (; i < upper; i += L) {
            acc = FloatVector.fromArray(F, q, q0 + i).fma(keys.load(at + i), acc);
        }
        float d = acc.reduceLanes(VectorOperators.ADD);
        for (; i < hd; i++) {
            d += q[q0 + i] * keys.get(at + i);
        }
        return d;
    }

    /** {@code out[o0 + g*hd ..] += p[row + g*n] * v} for four consecutive heads and the value at {@code at}. */
    private static void axpy4(float[] p, int row, int n, KvLayer values, int at, int hd, float[] out, int o0) {
        float p0 = p[row];
        float p1 = p[row + n];
        float p2 = p[row + 2 * n];
        float p3 = p[row + 3 * n];
        FloatVector b0 = FloatVector.broadcast(F, p0);
        FloatVector b1 = FloatVector.broadcast(F, p1);
        FloatVector b2 = FloatVector.broadcast(F, p2);
        FloatVector b3 = FloatVector.broadcast(F, p3);
        int upper = F.loopBound(hd);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = values.load(at + i);
            v.fma(b0, FloatVector.fromArray(F, out, o0 + i)).intoArray(out, o0 + i);
            v.fma(b1, FloatVector.fromArray(F, out, o0 + hd + i)).intoArray(out, o0 + hd + i);
            v.fma(b2, FloatVector.fromArray(F, out, o0 + 2 * hd + i)).intoArray(out, o0 + 2 * hd + i);
            v.fma(b3, FloatVector.fromArray(F, out, o0 + 3 * hd + i)).intoArray(out, o0 + 3 * hd + i);
        }
        for (; i < hd; i++) {
            float v = values.get(at + i);
            out[o0 + i] += p0 * v;
            out[o0 + hd + i] += p1 * v;
            out[o0 + 2 * hd + i] += p2 * v;
            out[o0 + 3 * hd + i] += p3 * v;
        }
    }

    private static void axpy(float p, KvLayer values, int at, int hd, float[] out, int o) {
        FloatVector pv = FloatVector.broadcast(F, p);
        int upper = F.loopBound(hd);
        int i = 0;
        for (; i < upper; i += L) {
            values.load(at + i).fma(pv, FloatVector.fromArray(F, out, o + i)).intoArray(out, o + i);
        }
        for (; i < hd; i++) {
            out[o + i] += p * values.get(at + i);
        }
    }

    /** {@code s[row..row+n)} = softmax of itself, normalised so that the value pass is one FMA per row. */
    private static void softmax(float[] scores, int row, int n) {
        int nUpper = F.loopBound(n);
        FloatVector maxV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < nUpper; i += L) {
            maxV = maxV.max(FloatVector.fromArray(F, scores, row + i));
        }
        float max = maxV.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, scores[row + i]);
        }
        FloatVector sumV = FloatVector.zero(F);
        for (i = 0; i < nUpper; i += L) {
            FloatVector e = FloatVector.fromArray(F, scores, row + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(scores, row + i);
            sumV = sumV.add(e);
        }
        float sum = sumV.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(scores[row + i] - max);
            scores[row + i] = e;
            sum += e;
        }
        FloatVector invV = FloatVector.broadcast(F, 1f / sum);
        float inv = 1f / sum;
        for (i = 0; i < nUpper; i += L) {
            FloatVector.fromArray(F, scores, row + i).mul(invV).intoArray(scores, row + i);
        }
        for (; i < n; i++) {
            scores[row + i] *= inv;
        }
    }
}
