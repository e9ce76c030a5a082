package io.twinserve.api.cli;

import io.twinserve.experiments.bench.BuildComparison;
import io.twinserve.experiments.bench.TwinBenchmark;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench twin}: simulation time of one-hour study scenarios (a grid, and the heaviest),
 * with the bare workload generation of each as the same-run baseline.
 */
@Command(
        name = "twin",
        mixinStandardHelpOptions = true,
        description = {
            "Time one-hour single-replica simulations of the adapter-caching study's workloads: a grid of",
            "served adapters (8 to 384) and per-adapter rate tiers, and the heaviest scenario (384 adapters at",
            "3.2/1.6/0.8 requests/s each). Each figure is printed with the time to only generate its workload.",
            "The same scenarios with decode stretches off (every step one by one) are the same-run baseline of",
            "the speed-up figures; light-load scenarios (at most 0.1 requests/s per adapter) show the case they",
            "are for, each the median of --repeat runs per mode."
        },
        footer = {
            "",
            "Examples:",
            "  JAVA_OPTS=-Xmx2g ./twinserve bench twin",
            "  ./twinserve bench twin --before target/twinserve-7399c9d.jar   # another build, same JVM",
            "  scripts/bench/twin-before-after.sh 7399c9d                    # builds that jar, then runs the above"
        })
final class BenchTwinCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--duration",
            paramLabel = "SECONDS",
            defaultValue = "3600",
            description = "Simulated window per scenario (default ${DEFAULT-VALUE}).")
    double durationS;

    @Option(names = "--skip-heavy", description = "Skip the heaviest scenario.")
    boolean skipHeavy;

    @Option(names = "--verbose", description = "Print every grid scenario.")
    boolean verbose;

    @Option(
            names = "--heavy-repeat",
            paramLabel = "N",
            defaultValue = "4",
            description = "Runs per mode of the heaviest scenario, in turns off first and on first; the median is"
                    + " reported (default ${DEFAULT-VALUE}).")
    int heavyRepeat;

    @Option(
            names = "--repeat",
            paramLabel = "N",
            defaultValue = "5",
            description =
                    "Runs per mode of each light-load scenario; the median is reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(
            names = "--before",
            paramLabel = "JAR",
            description = "Instead: time the light-load scenarios (median of --repeat runs) and the grid (one run"
                    + " each) on this build and on the build in JAR (another twinserve application jar, loaded in its own"
                    + " class loader), in turns, and print the ratios.")
    Path before;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        TwinBenchmark bench = new TwinBenchmark();
        if (before != null) {
            compare(out, bench, BuildComparison.load(before));
            return 0;
        }
        out.printf(
                Locale.ROOT,
                "bench twin: JVM %s, max heap %,d MiB, %d cores, window %.0f s%n",
                Runtime.version(),
                Runtime.getRuntime().maxMemory() >> 20,
                Runtime.getRuntime().availableProcessors(),
                durationS);
        // warm-up: the JIT compiles the hot loop before anything is timed
        bench.grid(Math.min(durationS, 600), true);
        bench.grid(Math.min(durationS, 600), false);
        // each scenario with stretches on and off, in turns on first and off first: neither mode always runs
        // after the other (the heap the previous run left, the JIT's latest compilations)
        List<TwinBenchmark.Timing> grid = new ArrayList<>();
        List<TwinBenchmark.Timing> baseline = new ArrayList<>();
        int turn = 0;
        for (int served : TwinBenchmark.SERVED) {
            for (double[] rates : TwinBenchmark.RATES) {
                if (turn++ % 2 == 0) {
                    grid.add(bench.measure(served, rates, durationS, true));
                    baseline.add(bench.measure(served, rates, durationS, false));
                } else {
                    baseline.add(bench.measure(served, rates, durationS, false));
                    grid.add(bench.measure(served, rates, durationS, true));
                }
            }
        }
        double[] sim = grid.stream()
                .mapToDouble(TwinBenchmark.Timing::simulateMs)
                .sorted()
                .toArray();
        double[] base = baseline.stream()
                .mapToDouble(TwinBenchmark.Timing::simulateMs)
                .sorted()
                .toArray();
        double[] gen = grid.stream()
                .mapToDouble(TwinBenchmark.Timing::generateMs)
                .sorted()
                .toArray();
        if (verbose) {
            for (int i = 0; i < grid.size(); i++) {
                TwinBenchmark.Timing t = grid.get(i);
                out.printf(
                        Locale.ROOT,
                        "  %3d adapters %-24s %,10d arrivals  %9.1f ms (stretches off %9.1f ms, generation %7.1f ms)  %s%n",
                        t.served(),
                        Arrays.toString(t.rates()),
                        t.arrivals(),
                        t.simulateMs(),
                        baseline.get(i).simulateMs(),
                        t.generateMs(),
                        t.summary().starving() ? "starving" : "");
            }
        }
        double median = sim[sim.length / 2];
        double mean = Arrays.stream(sim).average().orElse(0);
        double baseMedian = base[base.length / 2];
        double baseMean = Arrays.stream(base).average().orElse(0);
        double genMedian = gen[gen.length / 2];
        double genMean = Arrays.stream(gen).average().orElse(0);
        out.printf(
                Locale.ROOT,
                "grid: %d scenarios (%d served-adapter counts x %d rate triples)%n",
                grid.size(),
                TwinBenchmark.SERVED.length,
                TwinBenchmark.RATES.length);
        out.printf(
                Locale.ROOT,
                "grid median simulation    %9.1f ms   (%.1fx its workload generation, %.1f ms;"
                        + " stretches off %.1f ms, %.2fx)%n",
                median,
                median / Math.max(1e-9, genMedian),
                genMedian,
                baseMedian,
                baseMedian / Math.max(1e-9, median));
        out.printf(
                Locale.ROOT,
                "grid mean simulation      %9.1f ms   (%.1fx its workload generation, %.1f ms;"
                        + " stretches off %.1f ms, %.2fx)%n",
                mean,
                mean / Math.max(1e-9, genMean),
                genMean,
                baseMean,
                baseMean / Math.max(1e-9, mean));
        out.printf(
                Locale.ROOT,
                "grid max simulation       %9.1f ms   (stretches off %.1f ms)%n",
                sim[sim.length - 1],
                base[base.length - 1]);
        out.printf(Locale.ROOT, "light load: median of %d runs per mode, stretches on vs off (speed-up)%n", repeat);
        for (int served : TwinBenchmark.LIGHT_SERVED) {
            for (double[] rates : TwinBenchmark.LIGHT_RATES) {
                TwinBenchmark.Timing[] last = new TwinBenchmark.Timing[1];
                double[] m = mediansInTurns(
                        repeat,
                        () -> {
                            last[0] = bench.measure(served, rates, durationS, true);
                            return last[0].simulateMs();
                        },
                        () -> bench.measure(served, rates, durationS, false).simulateMs());
                double a = m[0];
                double b = m[1];
                out.printf(
                        Locale.ROOT,
                        "  %3d adapters %-24s %,8d arrivals %,9d steps  %8.1f ms vs %8.1f ms  (%.1fx)%n",
                        served,
                        Arrays.toString(rates),
                        last[0].arrivals(),
                        last[0].summary().steps(),
                        a,
                        b,
                        b / Math.max(1e-9, a));
            }
        }
        if (!skipHeavy) {
            // in turns off first and on first, each run printed: an order effect shows as a gap between turns
            int n = Math.max(2, heavyRepeat);
            double[] on = new double[n];
            double[] off = new double[n];
            TwinBenchmark.Timing heavy = null;
            long peak = 0;
            StringBuilder runs = new StringBuilder();
            for (int i = 0; i < n; i++) {
                // every run starts from a collected heap: a full collection shrinks the heap, and a run after one
                // grows it again through many collections (1 GB live here), so collecting before one mode alone
                // made that mode look 0.65-0.75x as fast
                boolean offFirst = i % 2 == 0;
                if (offFirst) {
                    HeapPeaks.reset();
                    off[i] = bench.measure(384, TwinBenchmark.HEAVY_RATES, durationS, false)
                            .simulateMs();
                }
                HeapPeaks.reset();
                heavy = bench.measure(384, TwinBenchmark.HEAVY_RATES, durationS);
                peak = Math.max(peak, HeapPeaks.bytes());
                on[i] = heavy.simulateMs();
                if (!offFirst) {
                    HeapPeaks.reset();
                    off[i] = bench.measure(384, TwinBenchmark.HEAVY_RATES, durationS, false)
                            .simulateMs();
                }
                runs.append(String.format(Locale.ROOT, " %s %.0f/%.0f", offFirst ? "off,on" : "on,off", on[i], off[i]));
            }
            double[] onSorted = on.clone();
            double[] offSorted = off.clone();
            Arrays.sort(onSorted);
            Arrays.sort(offSorted);
            double a = onSorted[n / 2];
            double b = offSorted[n / 2];
            out.printf(
                    Locale.ROOT,
                    "heaviest: 384 adapters at 3.2/1.6/0.8 req/s, %,d arrivals, %,d left waiting%n",
                    heavy.arrivals(),
                    heavy.summary().requestsUnfinished());
            out.printf(
                    Locale.ROOT,
                    "heaviest simulation       %9.1f ms   (median of %d; %.1fx its workload generation, %.1f ms;"
                            + " stretches off %.1f ms, %.2fx)%n",
                    a,
                    n,
                    a / Math.max(1e-9, heavy.generateMs()),
                    heavy.generateMs(),
                    b,
                    b / Math.max(1e-9, a));
            out.printf(Locale.ROOT, "heaviest runs (order: on/off ms):%s%n", runs);
            out.printf(Locale.ROOT, "heaviest peak heap        %,9d MiB (sum of heap pools' peaks)%n", peak >> 20);
        }
        return 0;
    }

    /** Both builds on the light-load scenarios and the grid, in turns (before first, then after first). */
    private void compare(PrintWriter out, TwinBenchmark after, BuildComparison other) throws Exception {
        out.printf(
                Locale.ROOT,
                "bench twin: this build against %s, JVM %s, %d cores, window %.0f s%n",
                before,
                Runtime.version(),
                Runtime.getRuntime().availableProcessors(),
                durationS);
        // warm-up: both builds' hot loops compiled before anything is timed
        for (int w = 0; w < 2; w++) {
            for (int served : TwinBenchmark.LIGHT_SERVED) {
                for (double[] rates : TwinBenchmark.LIGHT_RATES) {
                    other.simulateMs(served, rates, durationS);
                    after.measure(served, rates, durationS);
                }
            }
        }
        out.printf(Locale.ROOT, "light load: median of %d runs per build%n", repeat);
        out.println("| adapters | per-adapter rates (req/s) | arrivals | before | after | speed-up |");
        out.println("| --- | --- | --- | --- | --- | --- |");
        for (int served : TwinBenchmark.LIGHT_SERVED) {
            for (double[] rates : TwinBenchmark.LIGHT_RATES) {
                long[] arrivals = new long[1];
                double[] m = mediansInTurns(repeat, () -> other.simulateMs(served, rates, durationS), () -> {
                    TwinBenchmark.Timing t = after.measure(served, rates, durationS);
                    arrivals[0] = t.arrivals();
                    return t.simulateMs();
                });
                out.printf(
                        Locale.ROOT,
                        "| %d | %s | %,d | %.1f ms | %.1f ms | %.2fx |%n",
                        served,
                        rateText(rates),
                        arrivals[0],
                        m[0],
                        m[1],
                        m[0] / Math.max(1e-9, m[1]));
            }
        }
        double sb = 0;
        double sa = 0;
        int turn = 0;
        for (int served : TwinBenchmark.SERVED) {
            for (double[] rates : TwinBenchmark.RATES) {
                if (turn++ % 2 == 0) {
                    sb += other.simulateMs(served, rates, durationS);
                    sa += after.measure(served, rates, durationS).simulateMs();
                } else {
                    sa += after.measure(served, rates, durationS).simulateMs();
                    sb += other.simulateMs(served, rates, durationS);
                }
            }
        }
        out.printf(
                Locale.ROOT,
                "grid: %d scenarios, one run each: before %.0f ms, after %.0f ms, %.2fx%n",
                TwinBenchmark.SERVED.length * TwinBenchmark.RATES.length,
                sb,
                sa,
                sb / Math.max(1e-9, sa));
    }

    /** A timed run, in ms. */
    private interface TimedRun {
        double ms() throws Exception;
    }

    /**
     * The medians of {@code n} runs of {@code a} and of {@code b}, in turns ({@code a} first on even runs, {@code
     * b} first on odd ones), so that neither always runs after the other (the heap the previous run left, the
     * JIT's latest compilations).
     */
    private static double[] mediansInTurns(int n, TimedRun a, TimedRun b) throws Exception {
        double[] x = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            if (i % 2 == 0) {
                x[i] = a.ms();
                y[i] = b.ms();
            } else {
                y[i] = b.ms();
                x[i] = a.ms();
            }
        }
        Arrays.sort(x);
        Arrays.sort(y);
        return new double[] {x[n / 2], y[n / 2]};
    }

    private static String rateText(double[] rates) {
        StringBuilder b = new StringBuilder();
        for (double r : rates) {
            b.append(b.isEmpty() ? "" : " / ").append(r);
        }
        return b.toString();
    }
}
