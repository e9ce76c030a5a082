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
   * Where K/V head {@code kvHead}'s rows of cache block {@code block} begin: a block holds each K/V head's
   * {@code blockSize} positions contiguously ({@code [block][kvHead][position][hd]}), so that one head's
   * attention over a block reads one contiguous run. With the heads interleaved per position
   * ({@code [block][position][kvHead][hd]}), a head read 256 bytes of every kilobyte, and the 215M profile
   * model's decode steps (every sequence its own blocks, nothing shared in cache) spent three times as long
   * per query-key pair as its prefill chunks.
   */
  static int blockRow(int block, int kvHeads, int kvHead, int blockSize, int hd) {
    return ((block * kvHeads + kvHead) * blockSize) * hd;
  }

  /**
   * The {@code group} query heads that share one K/V head (grouped-query attention), of one token,
   * attending over positions {@code [first, pos]} of its sequence through the block table; head
   * {@code g}'s query is at {@code q[qOff + g*hd ..)} and its output goes to {@code out[outOff + g*hd ..)}.
   *
   * <p>The heads of a group go together so that each position's block is looked up once and its K and
   * V rows, loaded once from memory, serve every head from L1; the softmax's exponentials are vector
   * operations. One head at a time, with a scalar {@code Math.exp} per position, the 215M profile model's
   * decode steps of 16 sequences at context 1024 spent about 110 ms (of 182) in attention on one thread.
   *
   * @param scores scratch of at least {@code group * (pos - first + 1)} floats
   */
  static void attendGroup(float[] q, int qOff, int group, float[] keys, float[] values, ForwardBatch b, int seq,
      int first, int pos, int blockSize, int kvHeads, int kvHead, int hd, float scale, float[] scores, float[] out,
      int outOff) {
    int n = pos - first + 1;
    int upper = F.loopBound(hd);
    for (int j = first; j <= pos;) {
      int blockIndex = j / blockSize;
      int base = blockRow(b.block(seq, blockIndex), kvHeads, kvHead, blockSize, hd) - blockIndex * blockSize * hd;
      int end = Math.min(pos, (blockIndex + 1) * blockSize - 1);
      for (; j <= end; j++) {
        int at = base + j * hd;
        for (int g = 0; g < group; g++) {
          int qg = qOff + g * hd;
          FloatVector acc = FloatVector.zero(F);
          int i = 0;
          for (; i < upper; i += L) {
            acc = FloatVector.fromArray(F, q, qg + i).fma(FloatVector.fromArray(F, keys, at + i), acc);
          }
          float d = acc.reduceLanes(VectorOperators.ADD);
          for (; i < hd; i++) {
            d += q[qg + i] * keys[at + i];
          }
          scores[g * n + j - first] = d * scale;
        }
      }
    }
    int nUpper = F.loopBound(n);
    for (int g = 0; g < group; g++) {
      int row = g * n;
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
      // normalised here, so that the value pass is one FMA per row
      FloatVector invV = FloatVector.broadcast(F, 1f / sum);
      float inv = 1f / sum;
      for (i = 0; i < nUpper; i += L) {
        FloatVector.fromArray(F, scores, row + i).mul(invV).intoArray(scores, row + i);
      }
      for (; i < n; i++) {
        scores[row + i] *= inv;
      }
    }
    java.util.Arrays.fill(out, outOff, outOff + group * hd, 0f);
    for (int j = first; j <= pos;) {
      int blockIndex = j / blockSize;
      int base = blockRow(b.block(seq, blockIndex), kvHeads, kvHead, blockSize, hd) - blockIndex * blockSize * hd;
      int end = Math.min(pos, (blockIndex + 1) * blockSize - 1);
      for (; j <= end; j++) {
        int at = base + j * hd;
        for (int g = 0; g < group; g++) {
          int og = outOff + g * hd;
          FloatVector p = FloatVector.broadcast(F, scores[g * n + j - first]);
          int i = 0;
          for (; i < upper; i += L) {
            FloatVector.fromArray(F, values, at + i).fma(p, FloatVector.fromArray(F, out, og + i)).intoArray(out, og + i);
          }
          float ps = scores[g * n + j - first];
          for (; i < hd; i++) {
            out[og + i] += ps * values[at + i];
          }
        }
      }
    }
  }
}
