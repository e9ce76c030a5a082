package io.twinserve.engine.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A multi-threaded memory copy of a buffer much larger than the last-level cache, the baseline that
 * memory-bound decode is compared with. Bytes are counted as STREAM's copy kernel counts them (McCalpin,
 * "STREAM", 1995): each byte copied is read once and written once, so a pass moves twice the buffer.
 */
public final class CopyBandwidth {
    /**
     * The best of several passes.
     *
     * @param bytesPerSecond read + write bytes per second of the fastest copy pass
     * @param readBytesPerSecond bytes per second of the fastest read-only pass (a vector sum over the buffer),
     *     the ceiling of a kernel that only reads, as decode reads its weights
     */
    public record Result(
            long bufferBytes,
            int threads,
            int runs,
            double bestSeconds,
            double bytesPerSecond,
            double readBytesPerSecond) {}

    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;

    private CopyBandwidth() {}

    /**
     * Bytes per second of the fastest of {@code runs} read-only passes over {@code segments} in order, each
     * split across {@code threads} threads: the weights a decode step reads, in the memory they live in.
     */
    public static double readSegments(List<MemorySegment> segments, int threads, int runs) throws InterruptedException {
        long bytes = 0;
        for (MemorySegment s : segments) {
            bytes += s.byteSize();
        }
        double best = Double.POSITIVE_INFINITY;
        long check = 0;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int r = 0; r < runs + 1; r++) {
                long start = System.nanoTime();
                for (MemorySegment s : segments) {
                    List<Future<Long>> parts = new ArrayList<>();
                    long chunk = (s.byteSize() / threads + 63) & ~63L;
                    for (int t = 0; t < threads; t++) {
                        long from = Math.min(s.byteSize(), t * chunk);
                        long length = Math.min(s.byteSize(), from + chunk) - from;
                        parts.add(pool.submit(() -> sum(s, from, length)));
                    }
                    for (Future<Long> f : parts) {
                        check += f.get();
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                if (r > 0) {
                    best = Math.min(best, seconds);
                }
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("a read thread failed", e.getCause());
        }
        // keeps the sums alive; random weights never sum to exactly this
        if (check == Long.MIN_VALUE) {
            throw new IllegalStateException("unexpected sum");
        }
        return bytes / best;
    }

    /** Sums a range as longs with four independent vector sums, so that the loads, not the adds, limit it. */
    private static long sum(MemorySegment s, long from, long length) {
        long step = LONGS.vectorByteSize();
        long end = from + length - length % (4 * step);
        LongVector a0 = LongVector.zero(LONGS);
        LongVector a1 = a0;
        LongVector a2 = a0;
        LongVector a3 = a0;
        ByteOrder order = ByteOrder.nativeOrder();
        for (long i = from; i < end; i += 4 * step) {
            a0 = a0.add(LongVector.fromMemorySegment(LONGS, s, i, order));
            a1 = a1.add(LongVector.fromMemorySegment(LONGS, s, i + step, order));
            a2 = a2.add(LongVector.fromMemorySegment(LONGS, s, i + 2 * step, order));
            a3 = a3.add(LongVector.fromMemorySegment(LONGS, s, i + 3 * step, order));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    public static Result measure(long bufferBytes, int threads, int runs) throws InterruptedException {
        if (bufferBytes < 1 << 20 || threads < 1 || runs < 1) {
            throw new IllegalArgumentException("copy benchmark needs >= 1 MiB, >= 1 thread and >= 1 run; got "
                    + bufferBytes + " bytes, " + threads + " threads, " + runs + " runs");
        }
        try (Arena arena = Arena.ofShared();
                ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            MemorySegment src = arena.allocate(bufferBytes, 4096);
            MemorySegment dst = arena.allocate(bufferBytes, 4096);
            // touch every page of both buffers so that no pass pays for page faults
            src.fill((byte) 1);
            dst.fill((byte) 0);
            long chunk = (bufferBytes / threads + 63) & ~63L;
            double best = Double.POSITIVE_INFINITY;
            for (int r = 0; r < runs + 1; r++) {
                List<Future<?>> parts = new ArrayList<>();
                long start = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    long from = Math.min(bufferBytes, t * chunk);
                    long length = Math.min(bufferBytes, from + chunk) - from;
                    parts.add(pool.submit(() -> MemorySegment.copy(src, from, dst, from, length)));
                }
                for (Future<?> f : parts) {
                    f.get();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                // the first pass warms the threads and the copy loop up
                if (r > 0) {
                    best = Math.min(best, seconds);
                }
            }
            if (dst.get(java.lang.foreign.ValueLayout.JAVA_BYTE, bufferBytes - 1) != 1) {
                throw new IllegalStateException("the copy did not copy");
            }
            double bestRead = Double.POSITIVE_INFINITY;
            long check = 0;
            for (int r = 0; r < runs + 1; r++) {
                List<Future<Long>> parts = new ArrayList<>();
                long start = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    long from = Math.min(bufferBytes, t * chunk);
                    long length = Math.min(bufferBytes, from + chunk) - from;
                    parts.add(pool.submit(() -> sum(dst, from, length)));
                }
                for (Future<Long> f : parts) {
                    check += f.get();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                if (r > 0) {
                    bestRead = Math.min(bestRead, seconds);
                }
            }
            if (check == 0) {
                throw new IllegalStateException("the read pass read nothing");
            }
            return new Result(bufferBytes, threads, runs, best, 2.0 * bufferBytes / best, bufferBytes / bestRead);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a copy thread failed", e.getCause());
        }
    }
}
