package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HostBf16Test {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Every bf16 bit pattern class (normal, subnormal, zeros, infinities, NaNs) widens to the float whose top half
     * it is, in rows of any length (vector bodies and scalar tails), one after the other or rows in parallel.
     */
    @ParameterizedTest(name = "{0} rows of {1}, parallel from {2}")
    @CsvSource({"1, 1, 1048576", "1, 7, 1048576", "3, 37, 1048576", "5, 1000, 1048576", "5, 1000, 1", "64, 257, 1"})
    void widensEveryValueExactly(int rows, int n, long parallelFrom) {
        SplittableRandom rng = new SplittableRandom(rows * 31L + n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(2L * rows * n + 2);
            short[] bits = new short[rows * n];
            short[] specials = {0, (short) 0x8000, 0x7f80, (short) 0xff80, 0x7fc0, 0x7f81, 0x0001, (short) 0x807f};
            for (int i = 0; i < bits.length; i++) {
                bits[i] = i < specials.length ? specials[i] : (short) rng.nextInt(1 << 16);
                src.setAtIndex(LE, i, bits[i]);
            }
            float[] dst = new float[rows * n + 3];
            dst[rows * n] = 42f;
            HostBf16.toFloats(src, dst, rows, n, parallelFrom);
            for (int i = 0; i < bits.length; i++) {
                int expected = (bits[i] & 0xffff) << 16;
                assertThat(Float.floatToRawIntBits(dst[i])).as("value %d", i).isEqualTo(expected);
            }
            // nothing past the rows is written
            assertThat(dst[rows * n]).isEqualTo(42f);
        }
    }
}
