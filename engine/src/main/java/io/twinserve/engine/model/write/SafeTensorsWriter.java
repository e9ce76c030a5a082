package io.twinserve.engine.model.write;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.engine.model.DType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes a {@code .safetensors} file in the exact layout the Hugging Face library reads. */
public final class SafeTensorsWriter {
    /** Produces a tensor's values chunk by chunk, so a large random model never sits in memory whole. */
    @FunctionalInterface
    public interface Values {
        /** Fills {@code chunk} with the elements starting at flat index {@code offset}. */
        void fill(long offset, float[] chunk, int count);
    }

    private record Pending(String name, DType dtype, long[] shape, long count, Values values) {}

    private final List<Pending> tensors = new ArrayList<>();

    /** Adds a tensor; {@code values} are rounded to {@code dtype} when written. */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException(name + ": shape needs " + n + " values, got " + values.length);
        }
        return add(
                name, dtype, shape, (offset, chunk, count) -> System.arraycopy(values, (int) offset, chunk, 0, count));
    }

    /** Adds a tensor whose values are produced when the file is written. */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, Values values) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        tensors.add(new Pending(name, dtype, shape.clone(), n, values));
        return this;
    }

    public long bytes() {
        long b = 0;
        for (Pending p : tensors) {
            b += p.count * p.dtype.bytes();
        }
        return b;
    }

    public void write(Path file, Map<String, String> metadata) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Pending p : tensors) {
            ObjectNode t = header.putObject(p.name);
            t.put("dtype", p.dtype.safetensorsName());
            var shape = t.putArray("shape");
            for (long d : p.shape) {
                shape.add(d);
            }
            long size = p.count * p.dtype.bytes();
            t.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        // the format pads the header with spaces to a multiple of 8 so the data is aligned
        int padded = (headerBytes.length + 7) / 8 * 8;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) {
                out.write(' ');
            }
            float[] chunk = new float[1 << 14];
            ByteBuffer buf = ByteBuffer.allocate(chunk.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (Pending p : tensors) {
                for (long at = 0; at < p.count; at += chunk.length) {
                    int count = (int) Math.min(chunk.length, p.count - at);
                    p.values.fill(at, chunk, count);
                    buf.clear();
                    for (int i = 0; i < count; i++) {
                        switch (p.dtype) {
                            case BF16 -> buf.putShort(DType.toBf16(chunk[i]));
                            case F16 -> buf.putShort(Float.floatToFloat16(chunk[i]));
                            case F32 -> buf.putFloat(chunk[i]);
                        }
                    }
                    out.write(buf.array(), 0, buf.position());
                }
            }
        }
    }
}
