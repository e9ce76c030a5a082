package io.twinserve.api.cli;

import io.twinserve.experiments.bench.PlannerBenchmark;
import java.io.PrintWriter;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve bench planner}: JMH, the planner's prediction latency against one Tribuo predict. */
@Command(
        name = "planner",
        mixinStandardHelpOptions = true,
        description = "JMH sample-time benchmark of the planner's prediction per workload with the shipped model "
                + "(served count, slots, throughput and starvation trees) against one Tribuo predict of the "
                + "throughput tree, measured in the same run. Prints p50, p90 and p99 per call and the ratio "
                + "to the baseline.",
        footer = {"", "Examples:", "  twinserve bench planner", "  twinserve bench planner --forks 2 --seconds 5"})
final class BenchPlannerCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--forks", defaultValue = "1", description = "JMH forks (default ${DEFAULT-VALUE}).")
    int forks;

    @Option(
            names = "--seconds",
            defaultValue = "3",
            description = "Seconds per warm-up and measurement iteration (default ${DEFAULT-VALUE}).")
    int seconds;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Options opts = new OptionsBuilder()
                .include(PlannerBenchmark.class.getName() + "\\.")
                .forks(forks)
                .warmupIterations(3)
                .warmupTime(TimeValue.seconds(seconds))
                .measurementIterations(5)
                .measurementTime(TimeValue.seconds(seconds))
                .jvmArgsAppend("--sun-misc-unsafe-memory-access=allow")
                .build();
        Collection<RunResult> results = new Runner(opts).run();
        double planner = Double.NaN;
        double baseline = Double.NaN;
        out.println();
        for (RunResult r : results) {
            Result<?> primary = r.getPrimaryResult();
            Statistics st = primary.getStatistics();
            String name = r.getParams().getBenchmark().replaceAll(".*\\.", "");
            out.printf(
                    Locale.ROOT,
                    "%-24s p50 %8.0f ns   p90 %8.0f ns   p99 %8.0f ns   (%,d samples)%n",
                    name,
                    st.getPercentile(50),
                    st.getPercentile(90),
                    st.getPercentile(99),
                    st.getN());
            if (name.equals("plannerPredict")) {
                planner = st.getPercentile(50);
            } else {
                baseline = st.getPercentile(50);
            }
        }
        if (Double.isNaN(planner) || Double.isNaN(baseline)) {
            throw new IllegalStateException("a benchmark did not run (see JMH's output above)");
        }
        out.printf(
                Locale.ROOT,
                "planner prediction per workload, p50: %.2f us (%.2fx one Tribuo predict of one tree)%n",
                planner / 1000,
                planner / baseline);
        return 0;
    }
}
