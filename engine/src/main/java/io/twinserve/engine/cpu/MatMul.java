package io.twinserve.engine.cpu;

import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

  private MatMul() {}

  /**
   * For rows {@code o} in {@code [0, w.rows())} and tokens {@code t} in {@code [0, tokens)}:
   * {@code y[t * yStride + yOffset + o] = (accumulate ? y : 0) + sum_i W[o, i] x[t * xStride + xOffset + i]}.
   */
  static void apply(Parallel par, Tensor w, float[] x, int xStride, int xOffset, int tokens, float[] y, int yStride,
      int yOffset, boolean accumulate) {
    int rows = w.rows();
    // enough rows per task that the fork-join overhead stays small next to the row reads
    int grain = Math.max(1, 16384 / Math.max(1, w.cols()));
    par.forRange(rows, grain, (from, to) -> rows(w, x, xStride, xOffset, tokens, y, yStride, yOffset, accumulate, from, to));
  }

  static void rows(Tensor w, float[] x, int xStride, int xOffset, int tokens, float[] y, int yStride, int yOffset,
      boolean accumulate, int from, int to) {
    int cols = w.cols();
    float[] scratch = w.dtype() == DType.F16 ? new float[cols] : null;
    for (int o = from; o < to; o++) {
      long rowStart = o * w.rowStride();
      if (scratch != null) {
        MemorySegment seg = w.data();
        for (int i = 0; i < cols; i++) {
          scratch[i] = Float.float16ToFloat(seg.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE),
              (rowStart + i) * 2));
        }
      }
      int t = 0;
      for (; t + 4 <= tokens; t += 4) {
        dot4(w, scratch, rowStart, cols, x, t * xStride + xOffset, xStride, y, t * yStride + yOffset + o, yStride,
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
      case BF16 -> ShortVector.fromMemorySegment(S, w.data(), (rowStart + i) * 2, LE)
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
      case BF16 -> Float.intBitsToFloat((seg.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE),
          index * 2) & 0xFFFF) << 16);
      case F32 -> seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE), index * 4);
      case F16 -> Float.float16ToFloat(seg.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE),
          index * 2));
    };
  }

  private static float dot1(Tensor w, float[] scratch, long rowStart, int cols, float[] x, int xi) {
    int upper = F.loopBound(cols);
    FloatVector acc = FloatVector.zero(F);
    int i = 0;
    for (; i < upper; i += L) {
      acc = load(w, scratch, rowStart, i).fma(FloatVector.fromArray(F, x, xi + i), acc);
    }
    float sum = acc.reduceLanes(VectorOperators.ADD);
    for (; i < cols; i++) {
      sum += scalar(w, scratch, rowStart, i) * x[xi + i];
    }
    return sum;
  }

  private static void dot4(Tensor w, float[] scratch, long rowStart, int cols, float[] x, int xi, int xStride,
      float[] y, int yi, int yStride, boolean accumulate) {
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
    float s0 = a0.reduceLanes(VectorOperators.ADD);
    float s1 = a1.reduceLanes(VectorOperators.ADD);
    float s2 = a2.reduceLanes(VectorOperators.ADD);
    float s3 = a3.reduceLanes(VectorOperators.ADD);
    for (; i < cols; i++) {
      float wi = scalar(w, scratch, rowStart, i);
      s0 += wi * x[xi + i];
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
}
