package io.twinserve.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped whole through the FFM API (no 2 GB limit): an 8-byte
 * little-endian header length, a JSON header of {@code name -> {dtype, shape, data_offsets}}, then the
 * tensor bytes. Tensors are views into the mapping, valid while the arena lives.
 */
public final class SafeTensorsFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER_BYTES = 100L << 20;

    /** Where one tensor lies in the file. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and validates a file: every tensor's offsets must lie inside it and match its dtype and shape. */
    public static SafeTensorsFile open(Path path, Arena arena) {
        MemorySegment whole;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new ModelFileException(
                        path, "truncated: " + size + " bytes, shorter than the 8-byte header length");
            }
            whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot read: " + e.getMessage(), e);
        }
        return parse(path, whole);
    }

    /**
     * Validates the bytes of a whole file (mapped or in memory) and indexes its tensors; {@code path} is
     * used only in messages.
     */
    public static SafeTensorsFile parse(Path path, MemorySegment whole) {
        if (whole.byteSize() < 8) {
            throw new ModelFileException(
                    path, "truncated: " + whole.byteSize() + " bytes, shorter than the 8-byte header length");
        }
        long headerLength = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > whole.byteSize()) {
            throw new ModelFileException(
                    path,
                    "truncated or not a safetensors file: header length " + headerLength + " with " + whole.byteSize()
                            + " bytes in the file");
        }
        byte[] header = whole.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (IOException e) {
            throw new ModelFileException(path, "the JSON header is malformed: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(path, "the header is not a JSON object");
        }
        MemorySegment body = whole.asSlice(8 + headerLength);
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                if (!e.getValue().isObject()) {
                    throw new ModelFileException(
                            path, "__metadata__ is " + e.getValue().getNodeType() + "; expected an object of strings");
                }
                e.getValue()
                        .properties()
                        .forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.put(e.getKey(), entry(path, e.getKey(), e.getValue(), body.byteSize()));
        }
        return new SafeTensorsFile(
                path, body, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static Entry entry(Path path, String name, JsonNode node, long bodyBytes) {
        String dtypeName = node.path("dtype").asText("");
        DType dtype = DType.ofSafetensors(dtypeName);
        if (dtype == null) {
            throw new ModelFileException(
                    path, "tensor " + name + " has dtype '" + dtypeName + "'; the engine reads BF16, F16 and F32");
        }
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new ModelFileException(
                    path, "tensor " + name + " lacks a shape array or a [begin, end] data_offsets pair");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new ModelFileException(
                        path, "tensor " + name + " has a negative or non-numeric dimension " + shapeNode);
            }
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new ModelFileException(
                        path, "tensor " + name + " has shape " + shapeNode + " with more than 2^63 elements");
            }
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin) {
            throw new ModelFileException(
                    path, "tensor " + name + " has data_offsets " + offsets + "; expected 0 <= begin <= end");
        }
        if (end > bodyBytes) {
            throw new ModelFileException(
                    path,
                    "truncated: tensor " + name + " ends at byte " + end + " of the data but the file holds only "
                            + bodyBytes + " data bytes");
        }
        if (elements > Long.MAX_VALUE / dtype.bytes() || end - begin != elements * dtype.bytes()) {
            throw new ModelFileException(
                    path,
                    "tensor " + name + " spans " + (end - begin) + " bytes but shape " + Arrays.toString(shape) + " of "
                            + dtype + " needs " + elements + " x " + dtype.bytes());
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    public Path path() {
        return path;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's bytes (a view of the mapping). */
    public MemorySegment bytes(Entry e) {
        return data.asSlice(e.begin(), e.end() - e.begin());
    }
}
