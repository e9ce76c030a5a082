package io.twinserve.api.cli;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.stats.TraceStats;
import io.twinserve.traces.stats.TraceSummary;
import io.twinserve.traces.transform.TraceTransforms;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve trace stats}: statistics of trace files in one streaming pass each. */
@Command(
        name = "stats",
        mixinStandardHelpOptions = true,
        description = {
            "Print statistics of trace files: requests, span, mean rate, inter-arrival coefficient of",
            "variation, prompt and output lengths (mean, p50, p90, p99, max), adapters and their shares,",
            "sessions, and prefix reuse where the trace has prefix hashes."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve trace stats examples/data/AzureLLMInferenceTrace_code.csv",
            "  twinserve trace stats --json out/chat.csv",
            "  twinserve trace stats --window 0:600 --time-scale 2 trace.csv",
            "  twinserve trace stats --skip-bad --format burstgpt BurstGPT_1.csv"
        })
final class TraceStatsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Trace files (plain or gzip).")
    List<Path> files;

    @Mixin
    ReadingOptions reading;

    @ArgGroup(exclusive = false, heading = "Transformations (applied before the statistics):%n")
    TransformOptions transforms;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(
            names = "--top",
            paramLabel = "N",
            defaultValue = "10",
            description = "Adapters to list in the table (default ${DEFAULT-VALUE}).")
    int top;

    @Override
    public Integer call() throws Exception {
        TraceTransforms t = transforms == null ? TraceTransforms.none() : transforms.toTransforms();
        List<TraceSummary> summaries = new ArrayList<>();
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        for (Path file : files) {
            TraceStats stats = new TraceStats();
            Progress progress = new Progress(err, "reading " + file.getFileName(), true);
            TraceSummary summary;
            try (TraceReader reader = t.apply(TraceReaders.open(file, reading.toReadOptions()))) {
                Request r;
                while ((r = reader.next()) != null) {
                    stats.add(r);
                    progress.tick(stats.count());
                }
                progress.done();
                summary = stats.summary(file.toString(), reader.skippedLines(), reader.droppedRecords());
                for (String example : reader.skippedExamples()) {
                    err.println("skipped: " + example);
                }
            }
            summaries.add(summary);
            if (!json) {
                if (summaries.size() > 1) {
                    out.println();
                }
                out.print(SummaryText.render(summary, top));
                out.flush();
            }
        }
        if (json) {
            out.println(Json.write(summaries.size() == 1 ? summaries.get(0) : summaries));
        }
        return 0;
    }
}
