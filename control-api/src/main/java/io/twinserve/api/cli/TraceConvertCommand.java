package io.twinserve.api.cli;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceFormat;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.format.TraceWriter;
import io.twinserve.traces.format.TraceWriters;
import io.twinserve.traces.transform.TraceTransforms;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve trace convert}: rewrite a trace in another format, optionally transformed. */
@Command(
        name = "convert",
        mixinStandardHelpOptions = true,
        description = {
            "Convert a trace to another format, with optional transformations (window, sampling, time",
            "scaling, length caps, adapter assignment). csv and jsonl keep every field; azure, mooncake and",
            "burstgpt keep what their format can hold."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve trace convert AzureLLMInferenceTrace_code.csv -o azure.jsonl",
            "  twinserve trace convert trace.csv -o trace.jsonl --assign-adapters examples/workloads/zipf-adapters.yaml",
            "  twinserve trace convert mooncake.jsonl -o fast.csv --time-scale 4 --window 0:600",
            "  twinserve trace convert unsorted.csv -o sorted.csv --sort"
        })
final class TraceConvertCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN", description = "Input trace (plain or gzip).")
    Path input;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "OUT",
            description = "Output file (gzip-compressed when it ends in .gz); '-' writes to standard output.")
    Path output;

    @Option(
            names = "--to",
            paramLabel = "FORMAT",
            converter = FormatConverter.class,
            description =
                    "Output format: csv, jsonl, azure, mooncake or burstgpt (default: jsonl for .jsonl, else csv).")
    TraceFormat to;

    @Option(
            names = "--sort",
            description = "Sort by arrival time in memory (for traces whose timestamps are out of order).")
    boolean sort;

    @Mixin
    ReadingOptions reading;

    @ArgGroup(exclusive = false, heading = "Transformations:%n")
    TransformOptions transforms;

    @Override
    public Integer call() throws Exception {
        TraceFormat format = to == null ? TraceWriters.formatForName(output) : to;
        TraceTransforms t = transforms == null ? TraceTransforms.none() : transforms.toTransforms();
        boolean toStdout = output.toString().equals("-");
        var out = toStdout ? spec.commandLine().getErr() : spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (!format.isLossless()) {
            err.println("note: " + format + " keeps "
                    + switch (format) {
                        case AZURE -> "arrival times and lengths only (no adapters, sessions or prefix hashes)";
                        case MOONCAKE ->
                            "arrival times (ms), lengths and 512-token prefix hashes (no adapters or sessions)";
                        case BURSTGPT ->
                            "arrival times, lengths, sessions and adapters (in the Model column), no prefix hashes";
                        default -> "everything";
                    });
        }
        if (input.toAbsolutePath().normalize().equals(output.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--output is the input file " + input + "; choose another file");
        }
        ReadOptions options = reading.toReadOptions();
        long written = 0;
        Progress progress = new Progress(err, "converting", true);
        try (TraceReader reader =
                        t.apply(sort ? TraceReaders.openSorted(input, options) : TraceReaders.open(input, options));
                TraceWriter writer = toStdout
                        ? TraceWriters.open(StandardStreams.stdout(), format)
                        : TraceWriters.open(output, format)) {
            Request r;
            while ((r = reader.next()) != null) {
                writer.write(r);
                progress.tick(++written);
            }
            progress.done();
            out.printf(
                    Locale.ROOT,
                    "wrote %,d requests to %s (%s)%n",
                    written,
                    toStdout ? "standard output" : output,
                    format);
            if (reader.skippedLines() > 0) {
                out.printf(Locale.ROOT, "skipped %,d malformed lines (--skip-bad)%n", reader.skippedLines());
                for (String e : reader.skippedExamples()) {
                    err.println("skipped: " + e);
                }
            }
            if (reader.droppedRecords() > 0) {
                out.printf(
                        Locale.ROOT,
                        "dropped %,d failed requests (0 response tokens; --keep-failed keeps them)%n",
                        reader.droppedRecords());
            }
        }
        return 0;
    }
}
