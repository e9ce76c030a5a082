package io.twinserve.engine.cpu;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Tensor;
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
      FloatVector.fromArray(F, a, ai + i).add(FloatVector.fromArray(F, b, i)).intoArray(a, ai + i);
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
      FloatVector.fromArray(F, v, off + i).mul(inv).mul(FloatVector.fromArray(F, w, i)).intoArray(v, off + i);
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
   * One head of one token attending over positions {@code [first, pos]} of its sequence through the
   * block table; writes the head's output into {@code out[outOff..outOff+hd)}.
   */
  static void attend(float[] q, int qOff, float[] keys, float[] values, ForwardBatch b, int seq, int first, int pos,
      int blockSize, int kvStride, int kvOff, int hd, float scale, float[] scores, float[] out, int outOff) {
    float max = Float.NEGATIVE_INFINITY;
    int upper = F.loopBound(hd);
    for (int j = first; j <= pos; j++) {
      int at = (b.block(seq, j / blockSize) * blockSize + j % blockSize) * kvStride + kvOff;
      FloatVector acc = FloatVector.zero(F);
      int i = 0;
      for (; i < upper; i += L) {
        acc = FloatVector.fromArray(F, q, qOff + i).fma(FloatVector.fromArray(F, keys, at + i), acc);
      }
      float d = acc.reduceLanes(VectorOperators.ADD);
      for (; i < hd; i++) {
        d += q[qOff + i] * keys[at + i];
      }
      d *= scale;
      scores[j] = d;
      if (d > max) {
        max = d;
      }
    }
    float sum = 0;
    for (int j = first; j <= pos; j++) {
      float e = (float) Math.exp(scores[j] - max);
      scores[j] = e;
      sum += e;
    }
    float inv = 1f / sum;
    java.util.Arrays.fill(out, outOff, outOff + hd, 0f);
    for (int j = first; j <= pos; j++) {
      int at = (b.block(seq, j / blockSize) * blockSize + j % blockSize) * kvStride + kvOff;
      float p = scores[j] * inv;
      int i = 0;
      for (; i < upper; i += L) {
        FloatVector.fromArray(F, values, at + i).fma(FloatVector.broadcast(F, p), FloatVector.fromArray(F, out, outOff + i)).intoArray(out, outOff + i);
      }
      for (; i < hd; i++) {
        out[outOff + i] += p * values[at + i];
      }
    }
  }
}
