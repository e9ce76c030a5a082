package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y[t] (+)= W x[t]} for a batch of tokens with the Vector API, weights read straight from the
 * memory-mapped file. Decode is memory-bound, so each weight row is read once per step and applied to
 * up to four tokens while it is in registers; bf16 rows widen to float32 in registers (a bf16 value is
 * the top half of a float32), f16 rows go through a per-row scratch copy.
 */
final class MatMul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final java.lang.foreign.ValueLayout.OfShort SHORT_LE =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final java.lang.foreign.ValueLayout.OfFloat FLOAT_LE =
            java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    /** Weight bytes of one row block of the batched kernel: a quarter of a 1 MiB L2 cache. */
    private static final long TILE_BLOCK_BYTES = 256 << 10;

    private MatMul() {}

    /**
     * For rows {@code o} in {@code [0, w.rows())} and tokens {@code t} in {@code [0, tokens)}:
     * {@code y[t * yStride + yOffset + o] = (accumulate ? y : 0) + sum_i W[o, i] x[t * xStride + xOffset + i]}.
     */
    static void apply(
            Parallel par,
            Tensor w,
            float[] x,
            int xStride,
            int xOffset,
            int tokens,
            float[] y,
            int yStride,
            int yOffset,
            boolean accumulate) {
        int rows = w.rows();
        // enough rows per task that the fork-join overhead stays small next to the row reads
        int grain = Math.max(1, 16384 / Math.max(1, w.cols()));
        par.forRange(
                rows,
                grain,
                (from, to) -> rows(w, x, xStride, xOffset, tokens, y, yStride, yOffset, accumulate, from, to));
    }

    static void rows(
            Tensor w,
            float[] x,
            int xStride,
            int xOffset,
            int tokens,
            float[] y,
            int yStride,
            int yOffset,
            boolean accumulate,
            int from,
            int to) {
        int cols = w.cols();
        int o = from;
        if (w.dtype() != DType.F16 && tokens >= 2) {
            // two rows by four tokens at a time: each weight vector widened once feeds four tokens, each token
            // vector loaded once feeds two rows, and eight independent sums hide the FMA latency (a 4x4 tile
            // measured 5x slower: too many live vectors for C2). The last two or three tokens take one row by two
            // tokens (2x2 tiles and a 2x2 tile unrolled twice measured 25-60% slower), a last single token the
            // plain dot product. Rows go in blocks of about 256 KiB of weights, which stay in the L2 cache while
            // every token passes over them: weights come from memory once, tokens from L1 and L2. Until this
            // took every batch from two tokens on (it began at eight), the 215M profile model on one thread took
            // 22 ms for 2 tokens and 42 ms for 4 against 13 ms for 1 and 36 ms for 8: the per-row kernels widened
            // each weight once per token.
            int block = (int) Math.max(
                            2,
                            Math.min(
                                    to - from,
                                    TILE_BLOCK_BYTES / ((long) cols * w.dtype().bytes())))
                    & ~1;
            int pairsEnd = from + ((to - from) & ~1);
            for (int b0 = from; b0 < pairsEnd; b0 += block) {
                int b1 = Math.min(pairsEnd, b0 + block);
                int t = 0;
                for (; t + 4 <= tokens; t += 4) {
                    for (int r = b0; r < b1; r += 2) {
                        tile2x4(
                                w,
                                r * w.rowStride(),
                                cols,
                                x,
                                t * xStride + xOffset,
                                xStride,
                                y,
                                t * yStride + yOffset + r,
                                yStride,
                                accumulate);
                    }
                }
                if (tokens - t >= 2) {
                    for (int r = b0; r < b1; r++) {
                        dot2(
                                w,
                                r * w.rowStride(),
                                cols,
                                x,
                                t * xStride + xOffset,
                                xStride,
                                y,
                                t * yStride + yOffset + r,
                                yStride,
                                accumulate);
                    }
                    t += 2;
                }
                if (t < tokens) {
                    for (int r = b0; r < b1; r++) {
                        float d = dot1(w, null, r * w.rowStride(), cols, x, t * xStride + xOffset);
                        int yi = t * yStride + yOffset + r;
                        y[yi] = accumulate ? y[yi] + d : d;
                    }
                }
            }
            o = pairsEnd;
        }
        float[] scratch = w.dtype() == DType.F16 && o < to ? new float[cols] : null;
        for (; o < to; o++) {
            long rowStart = o * w.rowStride();
            if (scratch != null) {
                MemorySegment seg = w.data();
                for (int i = 0; i < cols; i++) {
                    scratch[i] = Float.float16ToFloat(seg.get(SHORT_LE, (rowStart + i) * 2));
                }
            }
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                dot4(
                        w,
                        scratch,
                        rowStart,
                        cols,
                        x,
                        t * xStride + xOffset,
                        xStride,
                        y,
                        t * yStride + yOffset + o,
                        yStride,
                        accumulate);
            }
            for (; t < tokens; t++) {
                float d = dot1(w, scratch, rowStart, cols, x, t * xStride + xOffset);
                int yi = t * yStride + yOffset + o;
                y[yi] = accumulate ? y[yi] + d : d;
            }
        }
    }

    private static FloatVector load(Tensor w, float[] scratch, long rowStart, int i) {
        return switch (w.dtype()) {
            case BF16 ->
                ShortVector.fromMemorySegment(S, w.data(), (rowStart + i) * 2, LE)
                        .convertShape(VectorOperators.S2I, I, 0)
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats();
            case F32 -> FloatVector.fromMemorySegment(F, w.data(), (rowStart + i) * 4, LE);
            case F16 -> FloatVector.fromArray(F, scratch, i);
        };
    }

    private static float scalar(Tensor w, float[] scratch, long rowStart, int i) {
        return switch (w.dtype()) {
            case F16 -> scratch[i];
            default -> element(w, rowStart + i);
        };
    }

    private static float element(Tensor w, long index) {
        MemorySegment seg = w.data();
        return switch (w.dtype()) {
            case BF16 -> Float.intBitsToFloat((seg.get(SHORT_LE, index * 2) & 0xFFFF) << 16);
            case F32 -> seg.get(FLOAT_LE, index * 4);
            case F16 -> Float.float16ToFloat(seg.get(SHORT_LE, index * 2));
        };
    }

    private static float dot1(Tensor w, float[] scratch, long rowStart, int cols, float[] x, int xi) {
        // four independent sums: one would wait on the previous FMA's latency at every step
        int upper4 = cols - cols % (4 * L);
        int upper = F.loopBound(cols);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int i = 0;
        for (; i < upper4; i += 4 * L) {
            a0 = load(w, scratch, rowStart, i).fma(FloatVector.fromArray(F, x, xi + i), a0);
            a1 = load(w, scratch, rowStart, i + L).fma(FloatVector.fromArray(F, x, xi + i + L), a1);
            a2 = load(w, scratch, rowStart, i + 2 * L).fma(FloatVector.fromArray(F, x, xi + i + 2 * L), a2);
            a3 = load(w, scratch, rowStart, i + 3 * L).fma(FloatVector.fromArray(F, x, xi + i + 3 * L), a3);
        }
        for (; i < upper; i += L) {
            a0 = load(w, scratch, rowStart, i).fma(FloatVector.fromArray(F, x, xi + i), a0);
        }
        float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            sum += scalar(w, scratch, rowStart, i) * x[xi + i];
        }
        return sum;
    }

    /** {@code y} for rows {@code [o, o+2)} (row 0 at {@code rowStart}) and four tokens; bf16 or f32 weights. */
    private static void tile2x4(
            Tensor w,
            long rowStart,
            int cols,
            float[] x,
            int xi,
            int xStride,
            float[] y,
            int yi,
            int yStride,
            boolean accumulate) {
        long r1 = rowStart + w.rowStride();
        int x1 = xi + xStride;
        int x2 = x1 + xStride;
        int x3 = x2 + xStride;
        FloatVector a00 = FloatVector.zero(F);
        FloatVector a01 = a00;
        FloatVector a02 = a00;
        FloatVector a03 = a00;
        FloatVector a10 = a00;
        FloatVector a11 = a00;
        FloatVector a12 = a00;
        FloatVector a13 = a00;
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xi + i);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + i);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + i);
            FloatVector w0 = load(w, null, rowStart, i);
            FloatVector w1 = load(w, null, r1, i);
            a00 = w0.fma(v0, a00);
            a01 = w0.fma(v1, a01);
            a02 = w0.fma(v2, a02);
            a03 = w0.fma(v3, a03);
            a10 = w1.fma(v0, a10);
            a11 = w1.fma(v1, a11);
            a12 = w1.fma(v2, a12);
            a13 = w1.fma(v3, a13);
        }
        store(y, yi, yStride, accumulate, w, rowStart, i, cols, x, xi, x1, x2, x3, a00, a01, a02, a03);
        store(y, yi + 1, yStride, accumulate, w, r1, i, cols, x, xi, x1, x2, x3, a10, a11, a12, a13);
    }

    /** One row for two tokens, unrolled twice: each weight vector widened once feeds both tokens. */
    private static void dot2(
            Tensor w,
            long rowStart,
            int cols,
            float[] x,
            int xi,
            int xStride,
            float[] y,
            int yi,
            int yStride,
            boolean accumulate) {
        int x1 = xi + xStride;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        int upper2 = cols - cols % (2 * L);
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper2; i += 2 * L) {
            FloatVector w0 = load(w, null, rowStart, i);
            FloatVector w1 = load(w, null, rowStart, i + L);
            a0 = w0.fma(FloatVector.fromArray(F, x, xi + i), a0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            b0 = w1.fma(FloatVector.fromArray(F, x, xi + i + L), b0);
            b1 = w1.fma(FloatVector.fromArray(F, x, x1 + i + L), b1);
        }
        for (; i < upper; i += L) {
            FloatVector w0 = load(w, null, rowStart, i);
            a0 = w0.fma(FloatVector.fromArray(F, x, xi + i), a0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a1);
        }
        store1(y, yi, accumulate, a0.add(b0), w, rowStart, i, cols, x, xi);
        store1(y, yi + yStride, accumulate, a1.add(b1), w, rowStart, i, cols, x, x1);
    }

    /** Reduces one row's sum for one token, adds the scalar tail from column {@code i}, and writes it. */
    private static void store1(
            float[] y,
            int yi,
            boolean accumulate,
            FloatVector acc,
            Tensor w,
            long rowStart,
            int i,
            int cols,
            float[] x,
            int xi) {
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s += element(w, rowStart + i) * x[xi + i];
        }
        y[yi] = accumulate ? y[yi] + s : s;
    }

    /** Reduces one row's four token sums, adds the scalar tail from column {@code i}, and writes them. */
    private static void store(
            float[] y,
            int yi,
            int yStride,
            boolean accumulate,
            Tensor w,
            long rowStart,
            int i,
            int cols,
            float[] x,
            int x0,
            int x1,
            int x2,
            int x3,
            FloatVector a0,
            FloatVector a1,
            FloatVector a2,
            FloatVector a3) {
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float wi = element(w, rowStart + i);
            s0 += wi * x[x0 + i];
            s1 += wi * x[x1 + i];
            s2 += wi * x[x2 + i];
            s3 += wi * x[x3 + i];
        }
        if (accumulate) {
            y[yi] += s0;
            y[yi + yStride] += s1;
            y[yi + 2 * yStride] += s2;
            y[yi + 3 * yStride] += s3;
        } else {
            y[yi] = s0;
            y[yi + yStride] = s1;
            y[yi + 2 * yStride] = s2;
            y[yi + 3 * yStride] = s3;
        }
    }

    private static void dot4(
            Tensor w,
            float[] scratch,
            long rowStart,
            int cols,
            float[] x,
            int xi,
            int xStride,
            float[] y,
            int yi,
            int yStride,
            boolean accumulate) {
        int upper = F.loopBound(cols);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int x1 = xi + xStride;
        int x2 = x1 + xStride;
        int x3 = x2 + xStride;
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector wv = load(w, scratch, rowStart, i);
            a0 = wv.fma(FloatVector.fromArray(F, x, xi + i), a0);
            a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        // the tail reads the row itself: for f16 that is the same conversion the scratch copy holds
        store(y, yi, yStride, accumulate, w, rowStart, i, cols, x, xi, x1, x2, x3, a0, a1, a2, a3);
    }
}
