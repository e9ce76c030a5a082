package io.twinserve.api.cli;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceFormat;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.format.TraceWriter;
import io.twinserve.traces.format.TraceWriters;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.traces.stats.TraceStats;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench traces}: generator throughput and {@code trace stats} over a large Azure-format
 * CSV, against baselines of the same run (raw random draws; a raw newline count of the same file).
 */
@Command(
        name = "traces",
        mixinStandardHelpOptions = true,
        description = {
            "Measure the workload generator (requests/s, in memory and written as Azure CSV) and trace",
            "statistics over a generated Azure-format CSV, with the peak heap. Run it with a bounded heap",
            "to check the memory target, e.g. JAVA_OPTS=-Xmx512m ./twinserve bench traces."
        },
        footer = {"", "Example:", "  JAVA_OPTS=-Xmx512m ./twinserve bench traces --lines 10000000"})
final class BenchTracesCommand implements Callable<Integer> {
    private static final String SPEC = """
      name: bench
      seed: 1
      requests: %d
      arrivals: {type: poisson, rate: 1000}
      adapters: {count: 100, ranks: [8, 16, 32], popularity: {type: zipf, exponent: 1.0}, base_share: 0.1}
      lengths:
        prompt: {type: lognormal, mean: 1024, std: 1500}
        output: {type: lognormal, mean: 250, std: 300}
        max_prompt: 32000
        max_output: 4096
      """;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--lines",
            paramLabel = "N",
            defaultValue = "10000000",
            description = "Requests in the generated file (default ${DEFAULT-VALUE}).")
    long lines;

    @Option(
            names = "--repeat",
            paramLabel = "N",
            defaultValue = "3",
            description = "Runs of each measurement; the median is reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to write the file (default: a temp dir).")
    Path dir;

    @Option(names = "--keep", description = "Keep the generated file.")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        if (lines < 1 || repeat < 1) {
            throw new IllegalArgumentException("--lines and --repeat must be >= 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        WorkloadSpec workload = WorkloadSpecs.parse(SPEC.formatted(lines), Path.of("<bench spec>"));
        Path folder = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("twinserve-bench");
        Path file = folder.resolve("bench-azure.csv");
        out.printf(
                Locale.ROOT,
                "bench traces: %,d requests, JVM %s, max heap %,d MiB, %d cores%n",
                lines,
                Runtime.version(),
                Runtime.getRuntime().maxMemory() >> 20,
                Runtime.getRuntime().availableProcessors());

        double[] baselineDraws = new double[repeat];
        double[] generate = new double[repeat];
        double[] generateWrite = new double[repeat];
        double[] rawScan = new double[repeat];
        double[] stats = new double[repeat];
        long checksum = 0;
        long peakHeap = 0;
        for (int i = 0; i < repeat; i++) {
            baselineDraws[i] = time(() -> drawBaseline(lines));
            generate[i] = time(() -> generateOnly(workload));
            generateWrite[i] = time(() -> generateTo(workload, file));
            rawScan[i] = time(() -> countNewlines(file));
            HeapPeaks.reset();
            long[] count = new long[1];
            stats[i] = time(() -> count[0] = statsOf(file));
            peakHeap = Math.max(peakHeap, HeapPeaks.bytes());
            checksum += count[0];
        }
        if (checksum != lines * repeat) {
            throw new IllegalStateException("stats read " + checksum / repeat + " requests, expected " + lines);
        }
        long bytes = Files.size(file);
        double base = median(baselineDraws);
        double gen = median(generate);
        double genWrite = median(generateWrite);
        double scan = median(rawScan);
        double st = median(stats);
        out.printf(
                Locale.ROOT,
                "baseline: %,d exponential+2 gaussian draws          %8.3f s  %,12.0f /s%n",
                lines,
                base,
                lines / base);
        out.printf(
                Locale.ROOT,
                "generator, in memory                              %8.3f s  %,12.0f req/s  %.2fx baseline time%n",
                gen,
                lines / gen,
                gen / base);
        out.printf(
                Locale.ROOT,
                "generator, writing Azure CSV (%,d MiB)          %8.3f s  %,12.0f req/s  %.2fx baseline time%n",
                bytes >> 20,
                genWrite,
                lines / genWrite,
                genWrite / base);
        out.printf(
                Locale.ROOT,
                "baseline: newline count of the CSV                %8.3f s  %,12.0f lines/s%n",
                scan,
                lines / scan);
        out.printf(
                Locale.ROOT,
                "trace stats of the CSV                            %8.3f s  %,12.0f lines/s  %.2fx baseline time%n",
                st,
                lines / st,
                st / scan);
        out.printf(
                Locale.ROOT,
                "trace stats peak heap used                        %,8d MiB (max heap %,d MiB)%n",
                peakHeap >> 20,
                Runtime.getRuntime().maxMemory() >> 20);
        if (!keep) {
            Files.deleteIfExists(file);
            if (dir == null) {
                Files.deleteIfExists(folder);
            }
        } else {
            out.println("kept " + file);
        }
        return 0;
    }

    private interface Work {
        void run() throws Exception;
    }

    private static double time(Work w) throws Exception {
        long t0 = System.nanoTime();
        w.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    /** The random draws a request needs at least (a gap and two lengths), with nothing else. */
    private static void drawBaseline(long n) {
        SplittableRandom rng = new SplittableRandom(1);
        double sink = 0;
        for (long i = 0; i < n; i++) {
            sink += rng.nextExponential() + rng.nextGaussian() + rng.nextGaussian();
        }
        if (sink == 42) {
            System.out.print("");
        }
    }

    private static void generateOnly(WorkloadSpec workload) throws Exception {
        long tokens = 0;
        try (WorkloadGenerator gen = new WorkloadGenerator(workload, null)) {
            Request r;
            while ((r = gen.next()) != null) {
                tokens += r.promptTokens();
            }
        }
        if (tokens < 0) {
            throw new IllegalStateException();
        }
    }

    private static void generateTo(WorkloadSpec workload, Path file) throws Exception {
        try (WorkloadGenerator gen = new WorkloadGenerator(workload, null);
                TraceWriter w = TraceWriters.open(file, TraceFormat.AZURE)) {
            Request r;
            while ((r = gen.next()) != null) {
                w.write(r);
            }
        }
    }

    private static long countNewlines(Path file) throws Exception {
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int k;
            while ((k = in.read(buf)) > 0) {
                for (int i = 0; i < k; i++) {
                    if (buf[i] == '\n') {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    private static long statsOf(Path file) throws Exception {
        TraceStats stats = new TraceStats();
        try (TraceReader reader = TraceReaders.open(file, ReadOptions.defaults())) {
            Request r;
            while ((r = reader.next()) != null) {
                stats.add(r);
            }
        }
        return stats.summary(file.toString(), 0, 0).requests();
    }
}
