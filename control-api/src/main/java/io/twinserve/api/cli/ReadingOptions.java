package io.twinserve.api.cli;

import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceFormat;
import picocli.CommandLine.Option;

/** How to read input traces; shared by the commands that read them. */
final class ReadingOptions {
    @Option(
            names = {"-f", "--format"},
            paramLabel = "FORMAT",
            converter = FormatConverter.class,
            description = "Input format: azure, mooncake, burstgpt, csv or jsonl (default: detected from the content).")
    TraceFormat format;

    @Option(
            names = "--skip-bad",
            description = "Skip malformed lines (and lines whose timestamp goes backwards) and report how many.")
    boolean skipBad;

    @Option(
            names = "--keep-failed",
            description = "BurstGPT: keep failed requests (0 response tokens) as one-token requests instead of"
                    + " dropping them.")
    boolean keepFailed;

    ReadOptions toReadOptions() {
        return new ReadOptions(format, skipBad, keepFailed, false);
    }
}
