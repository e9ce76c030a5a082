package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.Projection;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The CPU backend's adapter slots: each holds its own copy of an adapter's {@code A} and {@code B}
 * (what a GPU slot holds in device memory), and applies all the batch's adapters to a projection in
 * one pass over the tokens grouped by slot: {@code y[t] += scale * B (A x[t])} (shrink then expand, as
 * Punica's SGMV kernels do), never merging adapter weights into the base weights.
 */
final class LoraSlots {
    private static final int L = MatMul.F.length();

    /** {@code a[layer][projection]}: A as PEFT stores it (rank x in); {@code b}: B transposed (rank x out). */
    private record Slot(String name, int rank, float scale, float[][][] a, float[][][] b) {}

    private final ModelConfig config;
    private final Slot[] slots;

    LoraSlots(ModelConfig config, int count) {
        this.config = config;
        this.slots = new Slot[count];
    }

    int count() {
        return slots.length;
    }

    long load(int slot, LoraAdapter adapter) {
        int layers = config.numLayers();
        int projections = Projection.values().length;
        float[][][] a = new float[layers][projections][];
        float[][][] b = new float[layers][projections][];
        long bytes = 0;
        for (int l = 0; l < layers; l++) {
            for (Projection p : adapter.targets()) {
                a[l][p.ordinal()] = adapter.a(l, p).clone();
                b[l][p.ordinal()] = transpose(adapter.b(l, p), p.outDim(config), adapter.rank());
                bytes += 4L * (a[l][p.ordinal()].length + b[l][p.ordinal()].length);
            }
        }
        slots[slot] = new Slot(adapter.name(), adapter.rank(), adapter.scale(), a, b);
        return bytes;
    }

    /** B (out x rank, row-major as PEFT stores it) as rank rows of the output width. */
    private static float[] transpose(float[] b, int out, int rank) {
        float[] t = new float[b.length];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < rank; j++) {
                t[j * out + o] = b[o * rank + j];
            }
        }
        return t;
    }

    void unload(int slot) {
        slots[slot] = null;
    }

    String nameIn(int slot) {
        return slots[slot] == null ? null : slots[slot].name;
    }

    /**
     * Adds the LoRA terms of projection {@code p} in {@code layer} for the tokens {@code order[0..n)}
     * (grouped by slot): input columns {@code [inOffset, inOffset + inCount)} of A (a row-parallel shard's
     * share), output rows {@code [outOffset, outOffset + outCount)} of B (a column-parallel shard's share).
     *
     * <p>Two passes, as Punica's SGMV kernels split it. Shrink: each token's {@code scale * A x} (rank
     * values), four tokens of one adapter at a time so that each row of A loaded feeds four dot products.
     * Expand: the output columns are split among the threads, and each output vector is accumulated in a
     * register over the rank from B stored transposed (rank rows of the output width), so that the expand
     * is an FMA per output vector and rank instead of a short dot product per output. The earlier per-token
     * kernel (a dot product of length rank per output, scalar below 16) cost about 0.75 ms per adapter
     * token on the 215M profile model, one thread.
     */
    void apply(
            Parallel par,
            int layer,
            Projection p,
            int[] order,
            int[] tokenSlot,
            int n,
            float[] x,
            int xStride,
            int inOffset,
            int inCount,
            float[] y,
            int yStride,
            int outOffset,
            int outCount) {
        int pi = p.ordinal();
        // nothing to do unless some token's adapter adapts this projection; the widest rank sizes the scratch
        int maxRank = 0;
        for (int k = 0; k < n; k++) {
            Slot slot = slotOf(tokenSlot[order[k]], layer, pi);
            if (slot != null) {
                maxRank = Math.max(maxRank, slot.rank);
            }
        }
        if (maxRank == 0) {
            return;
        }
        int rs = maxRank;
        int inFull = p.inDim(config);
        int outFull = p.outDim(config);
        float[] shrunk = new float[n * rs];
        par.forRange(
                n,
                8,
                (from, to) -> shrink(
                        layer, pi, order, tokenSlot, from, to, x, xStride, inOffset, inCount, inFull, shrunk, rs));
        // whole blocks of four vectors per thread, at least 256 columns each
        int block = 4 * L;
        int blocks = (outCount + block - 1) / block;
        par.forRange(
                blocks,
                Math.max(1, 256 / block),
                (from, to) -> expand(
                        layer,
                        pi,
                        order,
                        tokenSlot,
                        n,
                        shrunk,
                        rs,
                        y,
                        yStride,
                        outOffset,
                        outFull,
                        from * block,
                        Math.min(outCount, to * block)));
    }

    /** The adapter in slot {@code s} when it adapts this projection of this layer, else null. */
    private Slot slotOf(int s, int layer, int projection) {
        Slot slot = s < 0 ? null : slots[s];
        return slot == null || slot.a[layer][projection] == null ? null : slot;
    }

    /** {@code shrunk[k * rs + j] = scale * (A_j . x[order[k]])} for k in {@code [from, to)}. */
    private void shrink(
            int layer,
            int pi,
            int[] order,
            int[] tokenSlot,
            int from,
            int to,
            float[] x,
            int xStride,
            int inOffset,
            int inCount,
            int inFull,
            float[] shrunk,
            int rs) {
        int k = from;
        while (k < to) {
            int s = tokenSlot[order[k]];
            int end = k + 1;
            while (end < to && tokenSlot[order[end]] == s) {
                end++;
            }
            Slot slot = slotOf(s, layer, pi);
            if (slot != null) {
                float[] a = slot.a[layer][pi];
                int r = slot.rank;
                int q = k;
                for (; q + 4 <= end; q += 4) {
                    int x0 = order[q] * xStride;
                    int x1 = order[q + 1] * xStride;
                    int x2 = order[q + 2] * xStride;
                    int x3 = order[q + 3] * xStride;
                    for (int j = 0; j < r; j++) {
                        dot4(a, j * inFull + inOffset, x, x0, x1, x2, x3, inCount, slot.scale, shrunk, q * rs + j, rs);
                    }
                }
                for (; q < end; q++) {
                    int x0 = order[q] * xStride;
                    for (int j = 0; j < r; j++) {
                        shrunk[q * rs + j] = slot.scale * dot(a, j * inFull + inOffset, x, x0, inCount);
                    }
                }
            }
            k = end;
        }
    }

    /**
     * Output columns {@code [from, to)} (of the shard's share) for every adapter token, in blocks of four
     * vectors: a block of B (rank x 4 vectors, 8 KiB at rank 32 with 512-bit vectors) stays in the L1 cache
     * while every token of the batch passes over it, so B is read from memory once per step rather than once
     * per token.
     */
    private void expand(
            int layer,
            int pi,
            int[] order,
            int[] tokenSlot,
            int n,
            float[] shrunk,
            int rs,
            float[] y,
            int yStride,
            int outOffset,
            int outFull,
            int from,
            int to) {
        int upper = from + (to - from) / L * L;
        for (int o0 = from; o0 < upper; o0 += 4 * L) {
            int o1 = Math.min(upper, o0 + 4 * L);
            for (int k = 0; k < n; k++) {
                int t = order[k];
                Slot slot = slotOf(tokenSlot[t], layer, pi);
                if (slot == null) {
                    continue;
                }
                float[] bt = slot.b[layer][pi];
                int r = slot.rank;
                int yi = t * yStride;
                int si = k * rs;
                if (o1 - o0 == 4 * L) {
                    expand4(bt, outOffset + o0, outFull, r, shrunk, si, y, yi + o0);
                } else {
                    for (int o = o0; o < o1; o += L) {
                        FloatVector acc = FloatVector.fromArray(MatMul.F, y, yi + o);
                        int bi = outOffset + o;
                        for (int j = 0; j < r; j++, bi += outFull) {
                            acc = FloatVector.fromArray(MatMul.F, bt, bi)
                                    .fma(FloatVector.broadcast(MatMul.F, shrunk[si + j]), acc);
                        }
                        acc.intoArray(y, yi + o);
                    }
                }
            }
        }
        for (int k = 0; k < n && upper < to; k++) {
            int t = order[k];
            Slot slot = slotOf(tokenSlot[t], layer, pi);
            if (slot == null) {
                continue;
            }
            float[] bt = slot.b[layer][pi];
            for (int o = upper; o < to; o++) {
                float sum = y[t * yStride + o];
                for (int j = 0; j < slot.rank; j++) {
                    sum += bt[j * outFull + outOffset + o] * shrunk[k * rs + j];
                }
                y[t * yStride + o] = sum;
            }
        }
    }

    /** Four output vectors of one token: {@code y[yi .. yi + 4L) += sum_j s_j * bt[j][bi .. bi + 4L)}. */
    private static void expand4(float[] bt, int bi, int outFull, int r, float[] shrunk, int si, float[] y, int yi) {
        FloatVector a0 = FloatVector.fromArray(MatMul.F, y, yi);
        FloatVector a1 = FloatVector.fromArray(MatMul.F, y, yi + L);
        FloatVector a2 = FloatVector.fromArray(MatMul.F, y, yi + 2 * L);
        FloatVector a3 = FloatVector.fromArray(MatMul.F, y, yi + 3 * L);
        for (int j = 0; j < r; j++, bi += outFull) {
            FloatVector sv = FloatVector.broadcast(MatMul.F, shrunk[si + j]);
            a0 = FloatVector.fromArray(MatMul.F, bt, bi).fma(sv, a0);
            a1 = FloatVector.fromArray(MatMul.F, bt, bi + L).fma(sv, a1);
            a2 = FloatVector.fromArray(MatMul.F, bt, bi + 2 * L).fma(sv, a2);
            a3 = FloatVector.fromArray(MatMul.F, bt, bi + 3 * L).fma(sv, a3);
        }
        a0.intoArray(y, yi);
        a1.intoArray(y, yi + L);
        a2.intoArray(y, yi + 2 * L);
        a3.intoArray(y, yi + 3 * L);
    }

    /** Four tokens' dot products with one row of A, scaled, into {@code out[at + i * stride]}. */
    private static void dot4(
            float[] a,
            int ai,
            float[] x,
            int x0,
            int x1,
            int x2,
            int x3,
            int n,
            float scale,
            float[] out,
            int at,
            int stride) {
        FloatVector s0 = FloatVector.zero(MatMul.F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        int i = 0;
        int upper = MatMul.F.loopBound(n);
        for (; i < upper; i += L) {
            FloatVector av = FloatVector.fromArray(MatMul.F, a, ai + i);
            s0 = av.fma(FloatVector.fromArray(MatMul.F, x, x0 + i), s0);
            s1 = av.fma(FloatVector.fromArray(MatMul.F, x, x1 + i), s1);
            s2 = av.fma(FloatVector.fromArray(MatMul.F, x, x2 + i), s2);
            s3 = av.fma(FloatVector.fromArray(MatMul.F, x, x3 + i), s3);
        }
        float r0 = s0.reduceLanes(VectorOperators.ADD);
        float r1 = s1.reduceLanes(VectorOperators.ADD);
        float r2 = s2.reduceLanes(VectorOperators.ADD);
        float r3 = s3.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float av = a[ai + i];
            r0 += av * x[x0 + i];
            r1 += av * x[x1 + i];
            r2 += av * x[x2 + i];
            r3 += av * x[x3 + i];
        }
        out[at] = scale * r0;
        out[at + stride] = scale * r1;
        out[at + 2 * stride] = scale * r2;
        out[at + 3 * stride] = scale * r3;
    }

    private static float dot(float[] a, int ai, float[] b, int bi, int n) {
        FloatVector acc = FloatVector.zero(MatMul.F);
        int i = 0;
        int upper = MatMul.F.loopBound(n);
        for (; i < upper; i += L) {
            acc = FloatVector.fromArray(MatMul.F, a, ai + i).fma(FloatVector.fromArray(MatMul.F, b, bi + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[ai + i] * b[bi + i];
        }
        return s;
    }
}
