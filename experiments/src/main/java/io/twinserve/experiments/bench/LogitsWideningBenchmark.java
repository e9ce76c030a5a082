package io.twinserve.experiments.bench;

import io.twinserve.engine.backend.cuda.HostBf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * JMH: a batch-64 decode step's logits (64 rows of Llama 3's 128,256-token vocabulary) widened from the bf16 the
 * CUDA backend brings back to the floats the sampler reads: one value at a time (the baseline), with the Vector API
 * on one thread, and the rows in parallel as the backend does from 2^20 values.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LogitsWideningBenchmark {
    private static final int ROWS = 64;
    private static final int VOCAB = 128_256;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Arena arena;
    private MemorySegment bf16;
    private float[] logits;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        bf16 = arena.allocate(2L * ROWS * VOCAB, 64);
        SplittableRandom random = new SplittableRandom(7);
        for (long i = 0; i < (long) ROWS * VOCAB; i++) {
            bf16.setAtIndex(BF16, i, (short) (Float.floatToRawIntBits((float) random.nextGaussian() * 4) >>> 16));
        }
        logits = new float[ROWS * VOCAB];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float scalar() {
        for (int i = 0; i < ROWS * VOCAB; i++) {
            logits[i] = Float.intBitsToFloat(bf16.getAtIndex(BF16, i) << 16);
        }
        return logits[ROWS * VOCAB - 1];
    }

    @Benchmark
    public float vector() {
        HostBf16.toFloats(bf16, 0, logits, 0, ROWS * VOCAB);
        return logits[ROWS * VOCAB - 1];
    }

    @Benchmark
    public float vectorRowsInParallel() {
        HostBf16.toFloats(bf16, logits, ROWS, VOCAB, 1L << 20);
        return logits[ROWS * VOCAB - 1];
    }
}
