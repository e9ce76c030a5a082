package io.twinserve.api.cli;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceFormat;
import io.twinserve.traces.format.TraceWriter;
import io.twinserve.traces.format.TraceWriters;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.traces.stats.TraceStats;
import io.twinserve.traces.stats.TraceSummary;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve trace gen}: generate a trace from a workload spec and print its statistics. */
@Command(
        name = "gen",
        mixinStandardHelpOptions = true,
        description = {
            "Generate a trace from a workload spec (YAML, see docs/workload-spec.md) and print its",
            "statistics. The same spec and seed always give the same file, byte for byte."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve trace gen examples/workloads/adapter-tiers.yaml -o out/tiers.csv",
            "  twinserve trace gen examples/workloads/chat-sessions.yaml -o out/chat.jsonl --seed 7",
            "  twinserve trace gen examples/workloads/poisson-sharegpt.yaml -o out/azure.csv --format azure --json"
        })
final class TraceGenCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SPEC.yaml", description = "Workload spec.")
    Path specFile;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "OUT",
            description = "Trace file to write (gzip-compressed when it ends in .gz); '-' writes it to standard"
                    + " output and the statistics to standard error.")
    Path output;

    @Option(
            names = "--format",
            paramLabel = "FORMAT",
            converter = FormatConverter.class,
            description = "csv, jsonl, azure, mooncake or burstgpt (default: jsonl for .jsonl, else csv).")
    TraceFormat format;

    @Option(names = "--seed", paramLabel = "N", description = "Override the spec's seed.")
    Long seed;

    @Option(names = "--json", description = "Print the statistics as JSON.")
    boolean json;

    @Option(
            names = "--top",
            paramLabel = "N",
            defaultValue = "10",
            description = "Adapters to list in the table (default ${DEFAULT-VALUE}).")
    int top;

    @Override
    public Integer call() throws Exception {
        WorkloadSpec workload = WorkloadSpecs.load(specFile);
        if (seed != null) {
            workload = workload.withSeed(seed);
        }
        TraceFormat f = format == null ? TraceWriters.formatForName(output) : format;
        Path baseDir = specFile.toAbsolutePath().getParent();
        TraceStats stats = new TraceStats();
        boolean toStdout = output.toString().equals("-");
        var out = toStdout ? spec.commandLine().getErr() : spec.commandLine().getOut();
        Progress progress = new Progress(spec.commandLine().getErr(), "generating", true);
        long startNs = System.nanoTime();
        List<Adapter> adapters;
        try (WorkloadGenerator gen = new WorkloadGenerator(workload, baseDir);
                TraceWriter writer =
                        toStdout ? TraceWriters.open(StandardStreams.stdout(), f) : TraceWriters.open(output, f)) {
            adapters = gen.adapters();
            Request r;
            while ((r = gen.next()) != null) {
                writer.write(r);
                stats.add(r);
                progress.tick(stats.count());
            }
        }
        progress.done();
        double seconds = (System.nanoTime() - startNs) / 1e9;
        TraceSummary summary = stats.summary(output.toString(), 0, 0);
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("output", output.toString());
            doc.put("format", f.cliName());
            doc.put("seed", workload.seed());
            doc.put("summary", summary);
            doc.put("adapters", adapters);
            out.println(Json.write(doc));
        } else {
            out.printf(
                    Locale.ROOT,
                    "wrote %,d requests to %s (%s, seed %d) in %.2f s%n",
                    stats.count(),
                    toStdout ? "standard output" : output,
                    f,
                    workload.seed(),
                    seconds);
            if (!adapters.isEmpty()) {
                Map<Integer, Integer> byRank = new TreeMap<>();
                for (Adapter a : adapters) {
                    byRank.merge(a.rank(), 1, Integer::sum);
                }
                out.printf(
                        Locale.ROOT,
                        "adapter ranks: %s%n",
                        byRank.entrySet().stream()
                                .map(e -> e.getValue() + " of rank " + e.getKey())
                                .toList());
            }
            out.println();
            out.print(SummaryText.render(summary, top));
        }
        return 0;
    }
}
