package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Exit code 2 for a usage error, as the README promises, on every command: an unknown option is refused
 * naming it, a missing required option or parameter naming what is missing, before any work is done.
 */
class UsageErrorsTest {
    private static final String UNKNOWN = "--no-such-option";

    /** Every command path below {@code twinserve}, e.g. {@code [trace, gen]}, in the order usage lists them. */
    private static List<List<String>> commandPaths() {
        List<List<String>> paths = new ArrayList<>();
        collect(TwinserveCommand.tree(), List.of(), paths);
        return paths;
    }

    private static void collect(CommandLine command, List<String> path, List<List<String>> paths) {
        Set<CommandLine> seen = new LinkedHashSet<>(command.getSubcommands().values()); // aliases map to one
        for (CommandLine sub : seen) {
            List<String> subPath = new ArrayList<>(path);
            subPath.add(sub.getCommandName());
            paths.add(subPath);
            collect(sub, subPath, paths);
        }
    }

    @Test
    void everyCommandRefusesAnUnknownOptionWithExit2NamingIt() {
        List<List<String>> paths = commandPaths();
        assertThat(paths)
                .as("the walk reaches nested commands")
                .contains(List.of("trace", "gen"), List.of("plan"), List.of("engine", "validate"));
        List<String> checked = new ArrayList<>();
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add(UNKNOWN);
            Cli cli = Cli.run(args.toArray(String[]::new));
            String command = String.join(" ", path);
            assertThat(cli.exitCode())
                    .as("twinserve %s %s: %s", command, UNKNOWN, cli.err())
                    .isEqualTo(2);
            if (!cli.err().contains("Unknown option: '" + UNKNOWN + "'")) {
                assertThat(cli.err())
                        .as("twinserve %s %s names the unknown option or what is missing", command, UNKNOWN)
                        .contains("Missing required");
            }
            assertThat(cli.out())
                    .as("twinserve %s %s prints no result", command, UNKNOWN)
                    .isEmpty();
            checked.add(command);
        }
        assertThat(checked).hasSameSizeAs(paths);
    }

    @Test
    void commandsWithRequiredArgumentsNameTheUnknownOptionWhenTheyAreGiven() {
        // with its required parameter given, the unknown option itself is what is named
        Cli gen = Cli.run("trace", "gen", "../examples/workloads/chat-sessions.yaml", "-o", "unused.csv", UNKNOWN);
        assertThat(gen.exitCode()).as(gen.err()).isEqualTo(2);
        assertThat(gen.err()).contains("Unknown option: '" + UNKNOWN + "'");
    }

    @Test
    void helpForACommandThatDoesNotExistIsAUsageError() {
        Cli trace = Cli.run("help", "trace");
        assertThat(trace.exitCode()).as(trace.err()).isZero();
        assertThat(trace.out()).contains("Usage: twinserve trace");
        Cli unknown = Cli.run("help", "trace", "nosuch");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unknown subcommand: 'nosuch'");
        assertThat(unknown.out()).isEmpty();
    }

    @Test
    void aDirectoryWhereAFileGoesIsNamedNotShownAsAnException(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        Cli spec = Cli.run("what-if", "-w", dir.toString());
        assertThat(spec.exitCode()).as(spec.err()).isNotZero();
        assertThat(spec.err()).contains("is a directory").doesNotContain("java.io");
        Cli out = Cli.run("trace", "gen", "../examples/workloads/chat-sessions.yaml", "-o", dir.toString());
        assertThat(out.exitCode()).as(out.err()).isNotZero();
        assertThat(out.err())
                .contains(dir.toString())
                .contains("is a directory")
                .doesNotContain("java.nio");
        // a chart over an empty directory replaced it with the PNG, after the whole search; refused before it runs
        java.nio.file.Path empty = dir.resolve("plots");
        empty.toFile().mkdirs();
        Cli capacity = Cli.run("capacity", "--plot", empty.toString());
        assertThat(capacity.exitCode()).as(capacity.err()).isNotZero();
        assertThat(capacity.err()).contains("--plot: " + empty + " is a directory; expected a file path");
        assertThat(empty).isDirectory();
        Cli whatIf = Cli.run("what-if", "--plot", empty.toString());
        assertThat(whatIf.err()).contains("--plot: " + empty + " is a directory");
        assertThat(empty).isDirectory();
    }

    @Test
    void anImpossibleFeatureValueIsAUsageError() {
        for (String feature : Arrays.asList("rate_high=-0.8", "cv=NaN", "tier_skew=1", "rate_high=abc", "nope")) {
            Cli cli = Cli.run("plan", "--feature", feature);
            assertThat(cli.exitCode())
                    .as("plan --feature %s: %s", feature, cli.err())
                    .isEqualTo(2);
            assertThat(cli.err()).contains("--feature");
        }
    }
}
