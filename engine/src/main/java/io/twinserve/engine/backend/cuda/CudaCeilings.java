package io.twinserve.engine.backend.cuda;

import java.util.Arrays;

/**
 * A device's memory-bandwidth ceilings, measured with the probe kernels ({@code ts_probe_read}: every byte of a
 * buffer read once; {@code ts_probe_copy}: read and written, counted as both, the STREAM copy convention): the
 * baselines a GPU benchmark states its figures against, measured in the same run.
 *
 * @param bufferBytes the buffer each probe streams
 * @param runs timed runs of each probe (after one untimed)
 * @param readBytesPerSecond the best read run
 * @param copyBytesPerSecond the best copy run, read plus written bytes
 */
public record CudaCeilings(long bufferBytes, int runs, double readBytesPerSecond, double copyBytesPerSecond) {
    /** Blocks of the probes' grid: enough to keep every SM of an H100/H200 (132) busy. */
    private static final int BLOCKS = 132 * 16;

    /** Measures the ceilings on {@code gpu} with buffers of {@code bytes} (a multiple of 16), best of {@code runs}. */
    public static CudaCeilings measure(Gpu gpu, long bytes, int runs) {
        if (bytes < 16 || bytes % 16 != 0 || runs < 1) {
            throw new IllegalArgumentException(
                    "probe buffer must be a positive multiple of 16 bytes and runs >= 1, got " + bytes + ", " + runs);
        }
        long n4 = bytes / 16;
        long a = gpu.alloc(bytes);
        long b = gpu.alloc(bytes);
        long sink = gpu.alloc(4L * 4096);
        double read = bestSeconds(
                gpu,
                runs,
                () -> gpu.launch("ts_probe_read", BLOCKS, 1, 256, Gpu.Arg.ptr(a), Gpu.Arg.i64(n4), Gpu.Arg.ptr(sink)));
        double copy = bestSeconds(
                gpu,
                runs,
                () -> gpu.launch("ts_probe_copy", BLOCKS, 1, 256, Gpu.Arg.ptr(a), Gpu.Arg.ptr(b), Gpu.Arg.i64(n4)));
        return new CudaCeilings(bytes, runs, bytes / read, 2.0 * bytes / copy);
    }

    private static double bestSeconds(Gpu gpu, int runs, Runnable launch) {
        launch.run();
        gpu.synchronize();
        double[] s = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            launch.run();
            gpu.synchronize();
            s[i] = Math.max(1, System.nanoTime() - t0) / 1e9;
        }
        return Arrays.stream(s).min().orElseThrow();
    }
}
