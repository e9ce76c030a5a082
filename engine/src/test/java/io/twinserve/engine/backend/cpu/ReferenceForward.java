package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.Tensor;

/**
 * A deliberately plain forward pass to check the backend against: one sequence, a dense KV cache,
 * double-precision scalar loops written straight from the transformers modelling code, and the
 * adapter merged into dense weights as {@code W + (alpha / r) B A}. With {@code bf16Kv} the keys and
 * values are rounded to bfloat16 before attention reads them, as a bf16 KV cache stores them.
 */
final class ReferenceForward {
    private final ModelConfig c;
    private final ModelFiles m;
    private final double[][][] w; // [layer][projection] dense row-major out x in, adapter merged
    private final boolean bf16Kv;

    ReferenceForward(ModelFiles model, LoraAdapter adapter) {
        this(model, adapter, false);
    }

    ReferenceForward(ModelFiles model, LoraAdapter adapter, boolean bf16Kv) {
        this.bf16Kv = bf16Kv;
        this.m = model;
        this.c = model.config();
        w = new double[c.numLayers()][Projection.values().length][];
        for (int l = 0; l < c.numLayers(); l++) {
            ModelFiles.LayerWeights lw = model.layers().get(l);
            Tensor[] base = {lw.q(), lw.k(), lw.v(), lw.o(), lw.gate(), lw.up(), lw.down()};
            for (Projection p : Projection.values()) {
                Tensor t = base[p.ordinal()];
                double[] d = new double[t.rows() * t.cols()];
                for (int r = 0; r < t.rows(); r++) {
                    for (int col = 0; col < t.cols(); col++) {
                        d[r * t.cols() + col] = t.get(r, col);
                    }
                }
                if (adapter != null && adapter.targets().contains(p)) {
                    float[] a = adapter.a(l, p);
                    float[] b = adapter.b(l, p);
                    int rank = adapter.rank();
                    double scale = adapter.alpha() / rank;
                    for (int r = 0; r < t.rows(); r++) {
                        for (int col = 0; col < t.cols(); col++) {
                            double s = 0;
                            for (int j = 0; j < rank; j++) {
                                s += (double) b[r * rank + j] * a[j * t.cols() + col];
                            }
                            d[r * t.cols() + col] += scale * s;
                        }
                    }
                }
                w[l][p.ordinal()] = d;
            }
        }
    }

    /** Logits at every position of {@code tokens}, [position][vocab]. */
    double[][] logits(int[] tokens) {
        int n = tokens.length;
        int h = c.hiddenSize();
        int hd = c.headDim();
        double[][] x = new double[n][h];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < h; i++) {
                x[t][i] = m.embed().get(tokens[t], i);
            }
        }
        for (int l = 0; l < c.numLayers(); l++) {
            ModelFiles.LayerWeights lw = m.layers().get(l);
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] xn = norm(x[t], lw.inputNorm());
                q[t] = mul(w[l][0], xn, c.qDim());
                k[t] = mul(w[l][1], xn, c.kvDim());
                v[t] = mul(w[l][2], xn, c.kvDim());
                if (lw.qBias() != null) {
                    addBias(q[t], lw.qBias());
                    addBias(k[t], lw.kBias());
                    addBias(v[t], lw.vBias());
                }
                for (int head = 0; head < c.numHeads(); head++) {
                    if (lw.qNorm() != null) {
                        headNorm(q[t], head * hd, lw.qNorm());
                    }
                    rope(q[t], head * hd, t);
                }
                for (int head = 0; head < c.numKvHeads(); head++) {
                    if (lw.kNorm() != null) {
                        headNorm(k[t], head * hd, lw.kNorm());
                    }
                    rope(k[t], head * hd, t);
                }
                if (bf16Kv) {
                    roundToBf16(k[t]);
                    roundToBf16(v[t]);
                }
            }
            for (int t = 0; t < n; t++) {
                double[] att = new double[c.qDim()];
                for (int head = 0; head < c.numHeads(); head++) {
                    int kvHead = head / (c.numHeads() / c.numKvHeads());
                    int first = c.slidingWindow() > 0 ? Math.max(0, t - c.slidingWindow() + 1) : 0;
                    double[] p = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = first; j <= t; j++) {
                        double s = 0;
                        for (int i = 0; i < hd; i++) {
                            s += q[t][head * hd + i] * k[j][kvHead * hd + i];
                        }
                        p[j] = s / Math.sqrt(hd);
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = first; j <= t; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int j = first; j <= t; j++) {
                        for (int i = 0; i < hd; i++) {
                            att[head * hd + i] += p[j] / sum * v[j][kvHead * hd + i];
                        }
                    }
                }
                double[] o = mul(w[l][3], att, h);
                for (int i = 0; i < h; i++) {
                    x[t][i] += o[i];
                }
            }
            for (int t = 0; t < n; t++) {
                double[] xn = norm(x[t], lw.postAttentionNorm());
                double[] g = mul(w[l][4], xn, c.intermediateSize());
                double[] u = mul(w[l][5], xn, c.intermediateSize());
                for (int i = 0; i < g.length; i++) {
                    g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                }
                double[] d = mul(w[l][6], g, h);
                for (int i = 0; i < h; i++) {
                    x[t][i] += d[i];
                }
            }
        }
        double[][] out = new double[n][c.vocabSize()];
        for (int t = 0; t < n; t++) {
            double[] xn = norm(x[t], m.finalNorm());
            for (int r = 0; r < c.vocabSize(); r++) {
                double s = 0;
                for (int i = 0; i < h; i++) {
                    s += m.lmHead().get(r, i) * xn[i];
                }
                out[t][r] = s;
            }
        }
        return out;
    }

    private double[] norm(double[] x, Tensor weight) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * weight.get(0, i);
        }
        return out;
    }

    private void headNorm(double[] v, int off, Tensor weight) {
        int hd = c.headDim();
        double ss = 0;
        for (int i = 0; i < hd; i++) {
            ss += v[off + i] * v[off + i];
        }
        double inv = 1 / Math.sqrt(ss / hd + c.rmsNormEps());
        for (int i = 0; i < hd; i++) {
            v[off + i] = v[off + i] * inv * weight.get(0, i);
        }
    }

    private static void addBias(double[] v, Tensor bias) {
        for (int i = 0; i < v.length; i++) {
            v[i] += bias.get(0, i);
        }
    }

    private static double[] mul(double[] w, double[] x, int rows) {
        int cols = x.length;
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < cols; i++) {
                s += w[r * cols + i] * x[i];
            }
            y[r] = s;
        }
        return y;
    }

    /** transformers' rotate_half RoPE, with Llama 3's frequency scaling written out again independently. */
    private void rope(double[] v, int off, int pos) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int i = 0; i < half; i++) {
            double freq = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / hd);
            ModelConfig.RopeScaling s = c.ropeScaling();
            if (s != null && s.type().equals("llama3")) {
                double wavelen = 2 * Math.PI / freq;
                double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
                double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
                if (wavelen > lowWavelen) {
                    freq = freq / s.factor();
                } else if (wavelen >= highWavelen) {
                    double smooth = (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                            / (s.highFreqFactor() - s.lowFreqFactor());
                    freq = (1 - smooth) * freq / s.factor() + smooth * freq;
                }
            } else if (s != null && s.type().equals("linear")) {
                freq /= s.factor();
            }
            double a = v[off + i];
            double b = v[off + i + half];
            double cos = Math.cos(pos * freq);
            double sin = Math.sin(pos * freq);
            v[off + i] = a * cos - b * sin;
            v[off + i + half] = b * cos + a * sin;
        }
    }

    private static void roundToBf16(double[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = DType.fromBf16(DType.toBf16((float) a[i]));
        }
    }
}
