package io.twinserve.twin.perf;

import io.twinserve.traces.format.TraceFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Measured all-reduce timings in Vidur's {@code all_reduce.csv} format (Agrawal et al., "Vidur", MLSys
 * 2024): for each number of GPUs, the median milliseconds of a {@code torch.distributed} all-reduce of
 * {@code size} fp16 elements (2·size bytes).
 *
 * <p>Looked up by linear interpolation in the bytes; below the smallest buffer the smallest buffer's time
 * holds (the latency floor). Above the largest, the time grows along the slope over the table's last
 * octave (from the largest size at or below half the largest to the largest), never below zero: the
 * single last segment spans 0.2% of the size in Vidur's grid, and its slope is noise, negative in all
 * five of the shipped H100 tables. Duplicate rows of a size are averaged.
 */
public final class ProfiledAllReduceModel implements AllReduceModel {
    private static final String WORKERS = "num_workers";
    private static final String SIZE = "size";
    private static final String MEDIAN = "time_stats.all_reduce.median";
    /** Bounds the per-GPU-count arrays; no tensor-parallel group comes near it. */
    private static final int MAX_GPUS = 4096;

    private final Path file;
    /** Indexed by the number of GPUs; null where the file has no rows for it. */
    private final long[][] bytesByGpus;

    private final double[][] nsByGpus;
    private final double[] extrapolationNsPerByte;

    private ProfiledAllReduceModel(
            Path file, long[][] bytesByGpus, double[][] nsByGpus, double[] extrapolationNsPerByte) {
        this.file = file;
        this.bytesByGpus = bytesByGpus;
        this.nsByGpus = nsByGpus;
        this.extrapolationNsPerByte = extrapolationNsPerByte;
    }

    /** Reads every GPU count of the file. */
    public static ProfiledAllReduceModel read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        if (lines.isEmpty()) {
            throw new TraceFormatException(file, 0, 0, "the all-reduce table is empty");
        }
        List<String> header = Arrays.asList(lines.get(0).split(",", -1));
        int workersCol = require(header, WORKERS, file);
        int sizeCol = require(header, SIZE, file);
        int medianCol = require(header, MEDIAN, file);
        // per GPU count: bytes -> {sum of ms, rows}
        Map<Integer, TreeMap<Long, double[]>> rows = new TreeMap<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String[] f = lines.get(i).split(",", -1);
            if (f.length != header.size()) {
                throw new TraceFormatException(
                        file, i + 1, 0, "expected " + header.size() + " fields, got " + f.length);
            }
            double workers = number(f, workersCol, WORKERS, file, i);
            double size = number(f, sizeCol, SIZE, file, i);
            double ms = number(f, medianCol, MEDIAN, file, i);
            if (workers < 1 || workers > MAX_GPUS || workers != Math.rint(workers)) {
                throw new TraceFormatException(
                        file,
                        i + 1,
                        workersCol + 1,
                        WORKERS + ": expected a whole number from 1 to " + MAX_GPUS + ", got '" + f[workersCol] + "'");
            }
            if (size < 0 || size != Math.rint(size)) {
                throw new TraceFormatException(
                        file,
                        i + 1,
                        sizeCol + 1,
                        SIZE + ": expected a whole number of fp16 elements" + " >= 0, got '" + f[sizeCol] + "'");
            }
            if (!(ms >= 0) || !Double.isFinite(ms)) {
                throw new TraceFormatException(
                        file,
                        i + 1,
                        medianCol + 1,
                        MEDIAN + ": expected milliseconds >= 0, got '" + f[medianCol] + "'");
            }
            // Vidur's collectives run on fp16 buffers: size counts 2-byte elements
            double[] acc = rows.computeIfAbsent((int) workers, k -> new TreeMap<>())
                    .computeIfAbsent(2 * (long) size, k -> new double[2]);
            acc[0] += ms;
            acc[1] += 1;
        }
        if (rows.isEmpty()) {
            throw new TraceFormatException(file, 0, 0, "the all-reduce table has no rows");
        }
        int maxGpus = ((TreeMap<Integer, ?>) rows).lastKey();
        long[][] bytes = new long[maxGpus + 1][];
        double[][] ns = new double[maxGpus + 1][];
        double[] slope = new double[maxGpus + 1];
        for (Map.Entry<Integer, TreeMap<Long, double[]>> e : rows.entrySet()) {
            int gpus = e.getKey();
            TreeMap<Long, double[]> bySize = e.getValue();
            if (bySize.size() < 2) {
                throw new TraceFormatException(
                        file,
                        0,
                        0,
                        "fewer than two buffer sizes for " + WORKERS + " " + gpus
                                + "; the table cannot be interpolated");
            }
            long[] b = new long[bySize.size()];
            double[] t = new double[bySize.size()];
            int k = 0;
            for (Map.Entry<Long, double[]> r : bySize.entrySet()) {
                b[k] = r.getKey();
                t[k] = r.getValue()[0] / r.getValue()[1] * 1e6;
                k++;
            }
            int last = b.length - 1;
            int from = 0;
            for (int j = last - 1; j > 0; j--) {
                if (2 * b[j] <= b[last]) {
                    from = j;
                    break;
                }
            }
            bytes[gpus] = b;
            ns[gpus] = t;
            slope[gpus] = Math.max(0, (t[last] - t[from]) / (b[last] - b[from]));
        }
        return new ProfiledAllReduceModel(file, bytes, ns, slope);
    }

    private static int require(List<String> header, String name, Path file) {
        int c = header.indexOf(name);
        if (c < 0) {
            throw new TraceFormatException(file, 1, 0, "not a Vidur all_reduce.csv: no column '" + name + "'");
        }
        return c;
    }

    private static double number(String[] fields, int column, String name, Path file, int index) {
        try {
            return Double.parseDouble(fields[column]);
        } catch (NumberFormatException e) {
            throw new TraceFormatException(
                    file, index + 1, column + 1, name + ": expected a number, got '" + fields[column] + "'");
        }
    }

    public Path file() {
        return file;
    }

    /** The GPU counts the table has rows for, in increasing order. */
    public List<Integer> gpuCounts() {
        List<Integer> counts = new ArrayList<>();
        for (int g = 0; g < bytesByGpus.length; g++) {
            if (bytesByGpus[g] != null) {
                counts.add(g);
            }
        }
        return counts;
    }

    @Override
    public double allReduceNs(long bytes, int gpus) {
        if (gpus <= 1) {
            return 0;
        }
        if (gpus >= bytesByGpus.length || bytesByGpus[gpus] == null) {
            throw new IllegalArgumentException("all-reduce table " + file + " has no rows for " + gpus
                    + " GPUs; it has " + WORKERS + " " + gpuCounts());
        }
        long[] b = bytesByGpus[gpus];
        double[] t = nsByGpus[gpus];
        int i = Arrays.binarySearch(b, bytes);
        if (i >= 0) {
            return t[i];
        }
        int hi = -i - 1;
        if (hi == 0) {
            return t[0];
        }
        int last = b.length - 1;
        if (hi == b.length) {
            return t[last] + extrapolationNsPerByte[gpus] * (bytes - b[last]);
        }
        int lo = hi - 1;
        return t[lo] + (t[hi] - t[lo]) * (bytes - b[lo]) / (b[hi] - b[lo]);
    }
}
