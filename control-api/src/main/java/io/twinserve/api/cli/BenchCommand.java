package io.twinserve.api.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code twinserve bench}: the project's own benchmarks, each printing ratios to a same-run baseline. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks that print one figure per line with a ratio to a baseline measured in the same run.",
        subcommands = {
            BenchTracesCommand.class,
            BenchTwinCommand.class,
            BenchClusterCommand.class,
            BenchPlannerCommand.class,
            BenchPlansCommand.class,
            BenchClientsCommand.class,
            BenchEngineCommand.class,
            BenchApiCommand.class,
            BenchFaultsCommand.class,
            BenchJournalsCommand.class,
            BenchStartupCommand.class
        },
        footer = {
            "",
            "Examples:",
            "  JAVA_OPTS=-Xmx512m twinserve bench traces",
            "  twinserve bench traces --lines 1000000 --repeat 5"
        })
final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
