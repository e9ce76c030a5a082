package io.twinserve.engine.backend;

import io.twinserve.engine.model.ModelConfig;

/**
 * The rotary embedding's tables as transformers computes them, shared by the backends so that the CPU's
 * rotation and the tables the CUDA backend uploads are the same numbers: inverse frequencies
 * {@code theta^(-2i/d)} in float32, with Llama 3's frequency-dependent scaling or linear scaling, and cos and
 * sin of {@code position * invFreq[i]} laid out [position][head_dim / 2].
 */
public final class RopeTables {
    private RopeTables() {}

    /** The inverse frequency of each of the head dimension's {@code d / 2} pairs. */
    public static float[] inverseFrequencies(ModelConfig c) {
        int d = c.headDim();
        int half = d / 2;
        float[] invFreq = new float[half];
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
        return invFreq;
    }

    /** Fills {@code cos} and {@code sin} ([positions][invFreq.length]) for positions {@code [0, positions)}. */
    public static void fill(float[] invFreq, int positions, float[] cos, float[] sin) {
        int half = invFreq.length;
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }
}
