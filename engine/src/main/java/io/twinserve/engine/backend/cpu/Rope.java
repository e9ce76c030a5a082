package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.backend.RopeTables;
import io.twinserve.engine.model.ModelConfig;

/**
 * Rotary position embeddings as transformers applies them: the "rotate half" layout (dimension
 * {@code i} pairs with {@code i + d/2}), over the tables of {@link RopeTables} (which the CUDA backend uploads
 * too). The tables grow with the longest position seen.
 */
final class Rope {
    private final int half;
    private final float[] invFreq;
    private float[] cos = new float[0];
    private float[] sin = new float[0];
    private int positions;

    Rope(ModelConfig c) {
        invFreq = RopeTables.inverseFrequencies(c);
        half = invFreq.length;
    }

    /** Makes the tables cover positions {@code [0, n)}; call before rotating in parallel. */
    synchronized void ensure(int n) {
        if (n <= positions) {
            return;
        }
        int m = Math.max(n, positions * 2);
        float[] c = new float[m * half];
        float[] s = new float[m * half];
        RopeTables.fill(invFreq, m, c, s);
        cos = c;
        sin = s;
        positions = m;
    }

    /** Rotates one head vector {@code v[off .. off + 2*half)} to position {@code pos}. */
    void rotate(float[] v, int off, int pos) {
        int base = pos * half;
        for (int i = 0; i < half; i++) {
            float c = cos[base + i];
            float s = sin[base + i];
            float a = v[off + i];
            float b = v[off + i + half];
            v[off + i] = a * c - b * s;
            v[off + i + half] = b * c + a * s;
        }
    }
}
