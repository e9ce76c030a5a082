package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.Tensor;

/**
 * How a decoder layer's weights sit in device memory, in bf16 and in the order the kernels read them: q, k and v
 * fused into one [q + 2 kv][hidden] matrix (one GEMV or GEMM for all three, as vLLM fuses them), their biases
 * likewise, o as stored, gate and up fused into [2 inter][hidden] (the layout {@code ts_silu_mul} takes), down as
 * stored, then the two norms and Qwen3's q/k norms. {@link #pack} writes a layer into a staging array in this
 * layout (the backend copies it to the device); offsets are in bf16 elements from the layer's start.
 *
 * <p>An adapter slot holds every projection at {@code maxRank}: A as [maxRank][in] and B as [out][maxRank],
 * the rows and columns past the adapter's own rank zero, so a rank-8 adapter in a rank-64 slot is exact.
 */
public final class CudaWeightLayout {
    private final ModelConfig c;
    private final boolean bias;
    private final boolean qkNorm;
    public final long qkv;
    public final long qkvBias;
    public final long o;
    public final long gateUp;
    public final long down;
    public final long inputNorm;
    public final long postNorm;
    public final long qNorm;
    public final long kNorm;
    /** bf16 elements of one layer. */
    public final long layerElements;

    public CudaWeightLayout(ModelConfig c, boolean qkNorm) {
        this.c = c;
        this.bias = c.attentionBias();
        this.qkNorm = qkNorm;
        long h = c.hiddenSize();
        long fused = c.qDim() + 2L * c.kvDim();
        long at = 0;
        qkv = at;
        at += fused * h;
        qkvBias = bias ? at : -1;
        at += bias ? fused : 0;
        o = at;
        at += h * c.qDim();
        gateUp = at;
        at += 2L * c.intermediateSize() * h;
        down = at;
        at += h * c.intermediateSize();
        inputNorm = at;
        at += h;
        postNorm = at;
        at += h;
        qNorm = qkNorm ? at : -1;
        at += qkNorm ? c.headDim() : 0;
        kNorm = qkNorm ? at : -1;
        at += qkNorm ? c.headDim() : 0;
        layerElements = at;
    }

    /** The layout of {@code files}' layers (Qwen3's q/k norms where the first layer has them). */
    public static CudaWeightLayout of(ModelFiles files) {
        return new CudaWeightLayout(files.config(), files.layers().getFirst().qNorm() != null);
    }

    /** Writes layer {@code w} into {@code dst} from element {@code base}, in this layout, as bf16. */
    public void pack(ModelFiles.LayerWeights w, short[] dst, int base) {
        int q = c.qDim();
        int kv = c.kvDim();
        int inter = c.intermediateSize();
        rows(w.q(), dst, base + qkv);
        rows(w.k(), dst, base + qkv + (long) q * c.hiddenSize());
        rows(w.v(), dst, base + qkv + (long) (q + kv) * c.hiddenSize());
        if (bias) {
            rows(w.qBias(), dst, base + qkvBias);
            rows(w.kBias(), dst, base + qkvBias + q);
            rows(w.vBias(), dst, base + qkvBias + q + kv);
        }
        rows(w.o(), dst, base + o);
        rows(w.gate(), dst, base + gateUp);
        rows(w.up(), dst, base + gateUp + (long) inter * c.hiddenSize());
        rows(w.down(), dst, base + down);
        rows(w.inputNorm(), dst, base + inputNorm);
        rows(w.postAttentionNorm(), dst, base + postNorm);
        if (qkNorm) {
            rows(w.qNorm(), dst, base + qNorm);
            rows(w.kNorm(), dst, base + kNorm);
        }
    }

    /** A tensor's elements, row-major and dense, as bf16 (bf16 copied bit for bit, f16 and f32 rounded). */
    static void rows(Tensor t, short[] dst, long at) {
        int i = Math.toIntExact(at);
        for (int r = 0; r < t.rows(); r++) {
            for (int col = 0; col < t.cols(); col++) {
                dst[i++] = DType.toBf16(t.get(r, col));
            }
        }
    }

    /**
     * Writes projection {@code p} of {@code adapter}'s layer {@code layer} into a slot's A ([maxRank][in]) and B
     * ([out][maxRank]) from their offsets, zero past the adapter's rank; an untargeted projection is all zero.
     * Returns the adapter's scale (alpha / r, or alpha / sqrt(r) with rsLoRA), which the expand kernel applies.
     */
    public float packAdapter(
            LoraAdapter adapter, int layer, Projection p, int maxRank, short[] a, int aAt, short[] b, int bAt) {
        int in = p.inDim(c);
        int out = p.outDim(c);
        int rank = adapter.rank();
        if (rank > maxRank) {
            throw new IllegalArgumentException(
                    "adapter " + adapter.name() + " has rank " + rank + ", above the slots' max_lora_rank " + maxRank);
        }
        java.util.Arrays.fill(a, aAt, aAt + maxRank * in, (short) 0);
        java.util.Arrays.fill(b, bAt, bAt + out * maxRank, (short) 0);
        float[] av = adapter.a(layer, p);
        float[] bv = adapter.b(layer, p);
        if (av == null || bv == null) {
            return adapter.scale();
        }
        for (int r = 0; r < rank; r++) {
            for (int i = 0; i < in; i++) {
                a[aAt + r * in + i] = DType.toBf16(av[r * in + i]);
            }
        }
        for (int o2 = 0; o2 < out; o2++) {
            for (int r = 0; r < rank; r++) {
                b[bAt + o2 * maxRank + r] = DType.toBf16(bv[o2 * rank + r]);
            }
        }
        return adapter.scale();
    }
}
