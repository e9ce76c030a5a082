package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * One layer's keys or values for one shard, stored as float32 or as bfloat16. bf16 halves the cache's
 * memory, as GPU serving stores it (vLLM's {@code kv_cache_dtype auto} for a bf16 model, and what the
 * twin's memory model counts), and halves the bytes that attention reads per query-key pair; the
 * kernels widen each vector to float32 in registers as they load it and compute in float32 either way.
 */
final class KvLayer {
    private final float[] f32;
    private final short[] bf16;

    KvLayer(DType dtype, int elements) {
        switch (dtype) {
            case F32 -> {
                f32 = new float[elements];
                bf16 = null;
            }
            case BF16 -> {
                f32 = null;
                bf16 = new short[elements];
            }
            default ->
                throw new IllegalArgumentException("the CPU backend stores the KV cache as bf16 or f32, not " + dtype);
        }
    }

    /** Writes {@code src[srcOff..srcOff+n)} at element {@code at}, rounding to nearest even for bf16. */
    void store(float[] src, int srcOff, int at, int n) {
        if (f32 != null) {
            System.arraycopy(src, srcOff, f32, at, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            bf16[at + i] = DType.toBf16(src[srcOff + i]);
        }
    }

    /** {@code F.length()} elements from {@code at} as float32; a bf16 value is the top half of its float32. */
    FloatVector load(int at) {
        if (f32 != null) {
            return FloatVector.fromArray(MatMul.F, f32, at);
        }
        return (FloatVector) ShortVector.fromArray(MatMul.S, bf16, at)
                .convertShape(VectorOperators.S2I, MatMul.I, 0)
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /** Element {@code at} as float32. */
    float get(int at) {
        return f32 != null ? f32[at] : Float.intBitsToFloat((bf16[at] & 0xFFFF) << 16);
    }
}
