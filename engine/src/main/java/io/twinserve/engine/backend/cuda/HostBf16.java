package io.twinserve.engine.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * bf16 values in host memory widened to a float array: how a step's logits reach the sampler when the device sends
 * them as bf16 (half the bytes over the bus, the precision vLLM's logits have before its sampler widens them).
 * A bf16 is the top half of a float's bits, so widening is exact. Hand-written because no library converts bf16 on
 * the host; with the Vector API a lane-parallel shift (64 rows of a 128k-token vocabulary, 8.2 million values,
 * would take about 8 ms one value at a time), without it ({@code jdk.incubator.vector} not in the JVM) one value
 * at a time.
 */
public final class HostBf16 {
    /** Whether {@code jdk.incubator.vector} is in this JVM. */
    static final boolean VECTOR =
            ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HostBf16() {}

    /**
     * {@code dst[r * n + i] = float(src bf16 at value r * n + i)} for {@code rows} rows of {@code n} values: the rows
     * on the common fork-join pool from {@code parallelFrom} values on (each row one task's), one after the other
     * below.
     */
    public static void toFloats(MemorySegment src, float[] dst, int rows, int n, long parallelFrom) {
        if (rows >= 2 && (long) rows * n >= parallelFrom) {
            IntStream.range(0, rows).parallel().forEach(r -> toFloats(src, (long) r * n, dst, r * n, n));
        } else {
            toFloats(src, 0, dst, 0, rows * n);
        }
    }

    /** {@code dst[to + i] = float(bf16 value from + i of src)} for {@code i < count}. */
    public static void toFloats(MemorySegment src, long from, float[] dst, int to, int count) {
        int i = VECTOR ? Vectors.toFloats(src, from, dst, to, count) : 0;
        for (; i < count; i++) {
            dst[to + i] = Float.intBitsToFloat(src.getAtIndex(BF16, from + i) << 16);
        }
    }

    /** The Vector API's classes are referenced only from here, loaded on first use. */
    private static final class Vectors {
        private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
        // shorts of half the width: as many lanes as I
        private static final VectorSpecies<Short> S =
                VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));

        /** Converts the whole vectors of the range; returns how many values it converted. */
        static int toFloats(MemorySegment src, long from, float[] dst, int to, int count) {
            int lanes = I.length();
            int bound = count - count % lanes;
            for (int i = 0; i < bound; i += lanes) {
                ShortVector s = ShortVector.fromMemorySegment(S, src, 2 * (from + i), ByteOrder.LITTLE_ENDIAN);
                // sign-extended, then shifted: the extension's bits leave at the top
                IntVector bits = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
                bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, to + i);
            }
            return bound;
        }
    }
}
