package io.twinserve.api.cli;

import io.twinserve.experiments.bench.TwinBenchmark;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
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
      "3.2/1.6/0.8 requests/s each). Each figure is printed with the time to only generate its workload."
    },
    footer = {"", "Example:", "  JAVA_OPTS=-Xmx2g ./twinserve bench twin"})
final class BenchTwinCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "3600",
      description = "Simulated window per scenario (default ${DEFAULT-VALUE}).")
  double durationS;

  @Option(names = "--skip-heavy", description = "Skip the heaviest scenario.")
  boolean skipHeavy;

  @Option(names = "--verbose", description = "Print every grid scenario.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    TwinBenchmark bench = new TwinBenchmark();
    out.printf(Locale.ROOT, "bench twin: JVM %s, max heap %,d MiB, %d cores, window %.0f s%n", Runtime.version(),
        Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors(), durationS);
    // warm-up: the JIT compiles the hot loop before anything is timed
    bench.grid(Math.min(durationS, 600));
    List<TwinBenchmark.Timing> grid = bench.grid(durationS);
    double[] sim = grid.stream().mapToDouble(TwinBenchmark.Timing::simulateMs).sorted().toArray();
    double[] gen = grid.stream().mapToDouble(TwinBenchmark.Timing::generateMs).sorted().toArray();
    if (verbose) {
      for (TwinBenchmark.Timing t : grid) {
        out.printf(Locale.ROOT, "  %3d adapters %-24s %,10d arrivals  %9.1f ms (generation %7.1f ms)  %s%n",
            t.served(), Arrays.toString(t.rates()), t.arrivals(), t.simulateMs(), t.generateMs(),
            t.summary().starving() ? "starving" : "");
      }
    }
    double median = sim[sim.length / 2];
    double mean = Arrays.stream(sim).average().orElse(0);
    double genMedian = gen[gen.length / 2];
    double genMean = Arrays.stream(gen).average().orElse(0);
    out.printf(Locale.ROOT, "grid: %d scenarios (%d served-adapter counts x %d rate triples)%n", grid.size(),
        TwinBenchmark.SERVED.length, TwinBenchmark.RATES.length);
    out.printf(Locale.ROOT, "grid median simulation    %9.1f ms   (%.1fx its workload generation, %.1f ms)%n", median,
        median / Math.max(1e-9, genMedian), genMedian);
    out.printf(Locale.ROOT, "grid mean simulation      %9.1f ms   (%.1fx its workload generation, %.1f ms)%n", mean,
        mean / Math.max(1e-9, genMean), genMean);
    out.printf(Locale.ROOT, "grid max simulation       %9.1f ms%n", sim[sim.length - 1]);
    if (!skipHeavy) {
      HeapPeaks.reset();
      TwinBenchmark.Timing heavy = bench.measure(384, TwinBenchmark.HEAVY_RATES, durationS);
      out.printf(Locale.ROOT, "heaviest: 384 adapters at 3.2/1.6/0.8 req/s, %,d arrivals, %,d left waiting%n",
          heavy.arrivals(), heavy.summary().requestsUnfinished());
      out.printf(Locale.ROOT, "heaviest simulation       %9.1f ms   (%.1fx its workload generation, %.1f ms)%n",
          heavy.simulateMs(), heavy.simulateMs() / Math.max(1e-9, heavy.generateMs()), heavy.generateMs());
      out.printf(Locale.ROOT, "heaviest peak heap        %,9d MiB (sum of heap pools' peaks)%n", HeapPeaks.bytes() >> 20);
    }
    return 0;
  }
}
