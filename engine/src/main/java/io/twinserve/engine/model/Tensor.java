package io.twinserve.engine.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A read-only 2-D view of weights: {@code rows} rows of {@code cols} elements, row {@code r} starting
 * {@code r * rowStride} elements into {@code data}. A 1-D tensor is one row. The stride lets a
 * tensor-parallel shard take a block of columns without copying.
 */
public record Tensor(String name, DType dtype, int rows, int cols, long rowStride, MemorySegment data) {
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        if (rows < 0 || cols < 0 || rowStride < cols) {
            throw new IllegalArgumentException(name + ": bad view " + rows + "x" + cols + " stride " + rowStride);
        }
    }

    /** A dense tensor over a whole segment. */
    public static Tensor dense(String name, DType dtype, int rows, int cols, MemorySegment data) {
        return new Tensor(name, dtype, rows, cols, cols, data);
    }

    /** Element (r, c) as a float. */
    public float get(int r, int c) {
        long i = r * rowStride + c;
        return switch (dtype) {
            case BF16 -> Float.intBitsToFloat((data.getAtIndex(SHORT_LE, i) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.getAtIndex(SHORT_LE, i));
            case F32 -> data.getAtIndex(FLOAT_LE, i);
        };
    }

    /** Rows {@code [from, from + count)}. */
    public Tensor rowSlice(int from, int count) {
        long start = from * rowStride * dtype.bytes();
        long length = count == 0 ? 0 : ((count - 1) * rowStride + cols) * dtype.bytes();
        return new Tensor(name, dtype, count, cols, rowStride, data.asSlice(start, length));
    }

    /** Columns {@code [from, from + count)} of every row (a strided view). */
    public Tensor colSlice(int from, int count) {
        long start = (long) from * dtype.bytes();
        long length = rows == 0 ? 0 : ((rows - 1) * rowStride + count) * dtype.bytes();
        return new Tensor(name, dtype, rows, count, rowStride, data.asSlice(start, length));
    }

    /** A copy of the whole view as floats, row-major and dense (for small tensors: norms, biases, adapters). */
    public float[] toFloats() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = get(r, c);
            }
        }
        return out;
    }
}
