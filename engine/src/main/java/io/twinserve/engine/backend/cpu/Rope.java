package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.model.ModelConfig;

/**
 * Rotary position embeddings as transformers applies them: the "rotate half" layout (dimension
 * {@code i} pairs with {@code i + d/2}), inverse frequencies {@code theta^(-2i/d)} in float32, with
 * Llama 3's frequency-dependent scaling or linear scaling. Cos and sin tables grow with the longest
 * position seen.
 */
final class Rope {
    private final int half;
    private final float[] invFreq;
    private float[] cos = new float[0];
    private float[] sin = new float[0];
    private int positions;

    Rope(ModelConfig c) {
        int d = c.headDim();
        half = d / 2;
        invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            // transformers: 1 / base ** (arange(0, d, 2).float() / d), in float32
            invFreq[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (float) (2 * i) / d));
        }
        ModelConfig.RopeScaling s = c.ropeScaling();
        if (s != null && s.type().equals("linear")) {
            for (int i = 0; i < half; i++) {
                invFreq[i] = (float) (invFreq[i] / s.factor());
            }
        } else if (s != null && s.type().equals("llama3")) {
            // Llama 3.1's scaling (transformers' _compute_llama3_parameters): long wavelengths are slowed by
            // `factor`, short ones kept, and the band between them blended smoothly
            double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
            double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double f = invFreq[i];
                double wavelen = 2 * Math.PI / f;
                double scaled;
                if (wavelen < highWavelen) {
                    scaled = f;
                } else if (wavelen > lowWavelen) {
                    scaled = f / s.factor();
                } else {
                    double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                            / (s.highFreqFactor() - s.lowFreqFactor());
                    scaled = (1 - smooth) * f / s.factor() + smooth * f;
                }
                invFreq[i] = (float) scaled;
            }
        }
    }

    /** Makes the tables cover positions {@code [0, n)}; call before rotating in parallel. */
    synchronized void ensure(int n) {
        if (n <= positions) {
            return;
        }
        int m = Math.max(n, positions * 2);
        float[] c = new float[m * half];
        float[] s = new float[m * half];
        for (int p = 0; p < m; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
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
