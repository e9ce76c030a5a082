package io.twinserve.api.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code twinserve trace}: generate, inspect and convert workload traces. */
@Command(
        name = "trace",
        mixinStandardHelpOptions = true,
        description = "Generate, inspect and convert workload traces.",
        subcommands = {TraceGenCommand.class, TraceStatsCommand.class, TraceConvertCommand.class},
        footer = {
            "",
            "Formats: azure, mooncake, burstgpt (public traces) and csv, jsonl (twinserve's own, lossless).",
            "See docs/trace-formats.md and docs/workload-spec.md.",
            "",
            "Examples:",
            "  twinserve trace gen examples/workloads/chat-sessions.yaml -o out/chat.jsonl",
            "  twinserve trace stats out/chat.jsonl",
            "  twinserve trace convert out/chat.jsonl -o out/chat.csv"
        })
final class TraceCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
