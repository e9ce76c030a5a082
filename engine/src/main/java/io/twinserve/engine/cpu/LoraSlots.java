package io.twinserve.engine.cpu;

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
        b[l][p.ordinal()] = adapter.b(l, p).clone();
        bytes += 4L * (a[l][p.ordinal()].length + b[l][p.ordinal()].length);
      }
    }
    slots[slot] = new Slot(adapter.name(), adapter.rank(), adapter.scale(), a, b);
    return bytes;
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
   */
  void apply(Parallel par, int layer, Projection p, int[] order, int[] tokenSlot, int n, float[] x, int xStride,
      int inOffset, int inCount, float[] y, int yStride, int outOffset, int outCount) {
    int inFull = p.inDim(config);
    par.forRange(n, 4, (from, to) -> {
      float[] shrunk = new float[LoraAdapter.MAX_RANK];
      for (int k = from; k < to; k++) {
        int t = order[k];
        int s = tokenSlot[t];
        Slot slot = s < 0 ? null : slots[s];
        if (slot == null || slot.a[layer][p.ordinal()] == null) {
          continue;
        }
        float[] a = slot.a[layer][p.ordinal()];
        float[] b = slot.b[layer][p.ordinal()];
        int r = slot.rank;
        for (int j = 0; j < r; j++) {
          shrunk[j] = slot.scale * dot(a, j * inFull + inOffset, x, t * xStride, inCount);
        }
        for (int o = 0; o < outCount; o++) {
          y[t * yStride + o] += dot(b, (outOffset + o) * r, shrunk, 0, r);
        }
      }
    });
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
